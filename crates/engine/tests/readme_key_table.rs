//! README.md's table of MM2 flow keys is the rendering of the engine's key
//! table (`config/mm2/flow_keys.rs`), so a default, type or support status
//! documented there cannot drift from what kmirror does. After changing the
//! key table, `KMIRROR_BLESS_README=1 cargo test -p kmirror-engine --test
//! readme_key_table` rewrites the section between the markers.

use std::path::PathBuf;

use kmirror_engine::config::mm2::flow_key_table_markdown;

const BEGIN: &str = "<!-- flow-key-table:begin";
const END: &str = "<!-- flow-key-table:end -->";

fn readme_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md")
}

/// The README split around the generated table: text up to and including the
/// begin marker's line, the table, and text from the end marker on.
fn split(readme: &str) -> (&str, &str, &str) {
    let begin = readme
        .find(BEGIN)
        .unwrap_or_else(|| panic!("README.md has no {BEGIN} marker"));
    let table_start = begin
        + readme[begin..]
            .find('\n')
            .expect("the begin marker ends its line")
        + 1;
    let table_end = table_start
        + readme[table_start..]
            .find(END)
            .unwrap_or_else(|| panic!("README.md has no {END} marker after {BEGIN}"));
    (
        &readme[..table_start],
        &readme[table_start..table_end],
        &readme[table_end..],
    )
}

#[test]
fn readme_key_table_is_the_rendered_key_table() {
    let path = readme_path();
    let readme = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    let (before, table, after) = split(&readme);
    let rendered = flow_key_table_markdown();
    if table == rendered {
        return;
    }
    if std::env::var_os("KMIRROR_BLESS_README").is_some() {
        std::fs::write(&path, format!("{before}{rendered}{after}"))
            .unwrap_or_else(|error| panic!("writing {}: {error}", path.display()));
        return;
    }
    let first_difference = table
        .lines()
        .zip(rendered.lines())
        .find(|(written, wanted)| written != wanted);
    panic!(
        "README.md's flow key table differs from the key table in \
         crates/engine/src/config/mm2/flow_keys.rs (first differing line: {first_difference:?}, \
         {} lines written, {} rendered); rerun this test with KMIRROR_BLESS_README=1 to rewrite it",
        table.lines().count(),
        rendered.lines().count()
    );
}

#[test]
fn the_table_lists_the_keys_kmirror_honours() {
    let rendered = flow_key_table_markdown();
    for key in [
        "`topics`",
        "`topics.exclude` (legacy `topics.blacklist`)",
        "`sync.group.offsets.enabled`",
        "`offset.lag.max`",
        "`tasks.max`",
    ] {
        let row = rendered
            .lines()
            .find(|line| line.starts_with(&format!("| {key} |")))
            .unwrap_or_else(|| panic!("{key} is not in the table"));
        assert!(row.contains("| honoured |"), "{row}");
    }
    let filter_class = rendered
        .lines()
        .find(|line| line.starts_with("| `topic.filter.class` |"))
        .expect("topic.filter.class is in the table");
    assert!(filter_class.contains("| not honoured |"), "{filter_class}");
    assert!(rendered.contains(
        "| `emit.checkpoints.interval.seconds` | seconds (negative: off) | `60` | honoured |"
    ));
}
