//! `docs/ARCHITECTURE.md` names the files a batch passes through and the
//! owners of each piece of state: every file it names must exist, so that
//! moving code without correcting the page fails here.

use std::path::Path;

/// Every `crates/...` path written between backticks.
fn named_files(doc: &str) -> Vec<&str> {
    doc.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.starts_with("crates/") && span.ends_with(".rs"))
        .collect()
}

#[test]
fn every_file_the_architecture_page_names_exists() {
    let root = kmirror_testbed::repo_root();
    let doc = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md"))
        .expect("docs/ARCHITECTURE.md is readable");
    let named = named_files(&doc);
    assert!(
        named.len() >= 15,
        "the page names the files of the batch path ({} found)",
        named.len()
    );
    let missing: Vec<&&str> = named
        .iter()
        .filter(|path| !Path::new(&root).join(path).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "docs/ARCHITECTURE.md names files that do not exist: {missing:?}"
    );
}

#[test]
fn paths_are_read_from_backticks_only() {
    let doc = "see `crates/a/src/x.rs` and crates/b/src/y.rs and `cargo test`";
    assert_eq!(named_files(doc), vec!["crates/a/src/x.rs"]);
}
