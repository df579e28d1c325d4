//! Error answers of the REST API, and of the commands that call it.
//!
//! Every error the API answers is Connect's JSON shape, `{"error_code": ..,
//! "message": ..}`, also those axum produces on its own (405, 413, 404); and
//! `kmirror status` says that no kmirror answers at an address where nothing
//! listens, and what is wrong with a malformed `--url`, instead of reqwest's
//! "error sending request" or "builder error".
//!
//! `kmirror run` without a properties file serves the API without any
//! cluster, so these tests need no Kafka.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{http, Kmirror};

/// The error answer's JSON, asserting its shape and code.
fn connect_error(status: u16, body: &str, expected: u16) -> String {
    assert_eq!(status, expected, "{body}");
    let json: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"));
    assert_eq!(json["error_code"], expected, "{json}");
    let message = json["message"].as_str().unwrap_or_else(|| panic!("{json}"));
    assert!(!message.is_empty(), "{json}");
    message.to_string()
}

#[test]
fn every_error_answer_is_connect_json() {
    let mut kmirror = Kmirror::start(&["run"]);
    let address = kmirror.wait_rest_address();

    // Unknown path: 404.
    let (status, body) = http(&address, "GET", "/no/such/path", None);
    let message = connect_error(status, &body, 404);
    assert!(message.contains("/no/such/path"), "{message}");

    // Wrong method on a known path: 405, with the methods that are allowed.
    let (status, body) = http(&address, "DELETE", "/status", None);
    let message = connect_error(status, &body, 405);
    assert!(
        message.contains("DELETE") && message.contains("/status"),
        "{message}"
    );

    // Oversized body, on a path that takes one: 413.
    let (status, body) = oversized_post(&address, "/connectors");
    let message = connect_error(status, &body, 413);
    assert!(message.contains("KiB"), "{message}");

    // Malformed JSON and a body that is not an object: 400.
    let (status, body) = http(&address, "POST", "/connectors", Some("{not json"));
    let message = connect_error(status, &body, 400);
    assert!(message.contains("malformed JSON"), "{message}");
    let (status, body) = http(&address, "POST", "/connectors", Some("[1, 2]"));
    connect_error(status, &body, 400);

    // Unknown connector: 404, as before.
    let (status, body) = http(&address, "GET", "/connectors/nope/status", None);
    connect_error(status, &body, 404);

    // Answers that are not errors are untouched.
    let (status, body) = http(&address, "GET", "/livez", None);
    assert_eq!(status, 200, "{body}");

    let exit = kmirror.terminate(Duration::from_secs(10));
    assert!(exit.success(), "{exit}");
}

/// A POST announcing a 2 MiB body (over the 1 MiB limit) and sending only
/// a little more than the limit: the server refuses it once it has read
/// past the limit, and no write of ours can fail on a connection it
/// already closed.
fn oversized_post(address: &str, path: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        2 << 20,
        "a".repeat((1 << 20) + 16 * 1024)
    )
    .unwrap();
    let mut answer = Vec::new();
    // The server may reset the connection after its answer (the rest of
    // the announced body never came): what arrived before counts.
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete answer: {answer:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        support::dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

fn status_command(url: &str) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_kmirror"))
        .args(["status", "--once", "--url", url])
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

#[test]
fn status_says_no_kmirror_answers_and_what_is_wrong_with_a_url() {
    // A loopback port that was bound and closed: nothing listens there.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let url = format!("http://{closed}");
    let (code, stderr) = status_command(&url);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("no kmirror answers at {url}")),
        "{stderr}"
    );
    assert!(stderr.contains("connection refused"), "{stderr}");
    assert!(!stderr.contains("error sending request"), "{stderr}");

    // Malformed URLs: exit 2, saying what is wrong (never "builder error").
    for (url, says) in [
        ("127.0.0.1:8083", "write http://127.0.0.1:8083"),
        ("localhost:8083", "write http://localhost:8083"),
        ("ftp://127.0.0.1:8083", "must be http or https"),
        ("http://127.0.0.1:99999", "invalid port"),
        ("http://", "empty host"),
    ] {
        let (code, stderr) = status_command(url);
        assert_eq!(code, 2, "{url}: {stderr}");
        assert!(stderr.contains(says), "{url}: {stderr}");
        assert!(!stderr.contains("builder error"), "{url}: {stderr}");
    }

    // https:// against kmirror's plain HTTP: says to use http://.
    let mut kmirror = Kmirror::start(&["run"]);
    let address = kmirror.wait_rest_address();
    let (code, stderr) = status_command(&format!("https://{address}"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("use http://"), "{stderr}");
    // And a path that is not kmirror's API: says so, with the status.
    let (code, stderr) = status_command(&format!("http://{address}/elsewhere"));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("404") && stderr.contains("kmirror REST API"),
        "{stderr}"
    );
    let exit = kmirror.terminate(Duration::from_secs(10));
    assert!(exit.success(), "{exit}");
}

/// `http://` against a kmirror that serves HTTPS, and `https://` whose
/// certificate is not trusted: each says what to change.
#[test]
fn status_names_the_scheme_or_the_ca_to_use_against_https() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let mut kmirror = Kmirror::start(&[
        "run",
        "--rest-tls-cert",
        cert.to_str().unwrap(),
        "--rest-tls-key",
        key.to_str().unwrap(),
    ]);
    let address = kmirror.wait_rest_address();

    let (code, stderr) = status_command(&format!("http://{address}"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("use https://"), "{stderr}");
    let (code, stderr) = status_command(&format!("https://{address}"));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("certificate") && stderr.contains("--rest-ca-file"),
        "{stderr}"
    );
    let exit = kmirror.terminate(Duration::from_secs(10));
    assert!(exit.success(), "{exit}");
}
