//! Calls to a running kmirror's REST API, from the commands (`status`) and
//! from one worker to another (`rest::peers`): the
//! `--url` checked before any request, and failures said as what they mean
//! for the operator ("no kmirror answers at ...") instead of reqwest's
//! "error sending request for url" or "builder error".

use std::error::Error as _;
use std::io;
use std::time::Duration;

use reqwest::{StatusCode, Url};

/// Why a call to the REST API failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiCallError {
    #[error("--url {url:?} is not a kmirror address: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("no kmirror answers at {base}: {reason}")]
    NoAnswer { base: String, reason: String },
    #[error("{url} did not answer within {} s", timeout.as_secs_f64())]
    Timeout { url: String, timeout: Duration },
    #[error("cannot call {url}: {reason}")]
    Request { url: String, reason: String },
    #[error(
        "{url} answered 401 unauthorized: the API wants credentials; give \
         --rest-auth-token-file (or KMIRROR_REST_TOKEN), or --rest-user with \
         --rest-password-file (or KMIRROR_REST_PASSWORD)"
    )]
    Unauthorized { url: String },
    #[error("{url} answered {status}: is this a kmirror REST API (and as new as this kmirror)?")]
    Status { url: String, status: StatusCode },
    #[error("the answer of {url} is not what kmirror answers: {reason}")]
    Unexpected { url: String, reason: String },
}

/// `--url` as a base URL without a trailing slash, or what is wrong with
/// it: only `http://` and `https://` URLs with a host, no query.
pub fn base_url(url: &str) -> Result<String, ApiCallError> {
    let bad = |reason: String| ApiCallError::BadUrl {
        url: url.to_string(),
        reason,
    };
    // `127.0.0.1:8083` and `localhost:8083` are the usual slips: say the fix.
    let with_scheme = || {
        if url.contains("://") {
            String::new()
        } else {
            format!("; write http://{url}")
        }
    };
    if !url.contains("://") {
        return Err(bad(format!(
            "it has no http:// or https://{}",
            with_scheme()
        )));
    }
    let parsed = Url::parse(url).map_err(|e| bad(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad(format!(
            "the scheme must be http or https, not {:?}{}",
            parsed.scheme(),
            with_scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("it names no host".to_string()));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad(
            "it has a query or fragment; give the API's base URL only".to_string(),
        ));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// The failure of a request to `url` (under `base`) by a client whose
/// overall timeout is `timeout`, said for the operator.
pub fn request_failed(
    base: &str,
    url: &str,
    timeout: Duration,
    error: &reqwest::Error,
) -> ApiCallError {
    if error.is_timeout() {
        return ApiCallError::Timeout {
            url: url.to_string(),
            timeout,
        };
    }
    if error.is_builder() {
        return ApiCallError::BadUrl {
            url: url.to_string(),
            reason: with_causes(error),
        };
    }
    // Wrapping io::Errors say Other: look for the kind that says something.
    let io_kind = causes(error)
        .filter_map(|cause| cause.downcast_ref::<io::Error>().map(io::Error::kind))
        .find(|kind| {
            matches!(
                kind,
                io::ErrorKind::ConnectionRefused
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::UnexpectedEof
            )
        });
    let reason = match io_kind {
        Some(io::ErrorKind::ConnectionRefused) => {
            Some("nothing listens there (connection refused); is `kmirror run` running, and is this its --rest-listen address?".to_string())
        }
        Some(io::ErrorKind::ConnectionReset | io::ErrorKind::UnexpectedEof)
            if base.starts_with("http://") =>
        {
            Some("the connection was closed without an HTTP answer; if kmirror serves HTTPS (--rest-tls-cert), use https://".to_string())
        }
        _ => None,
    };
    // A TLS client talking to a plain HTTP server reads an HTTP answer as
    // a TLS record.
    let plain_http = causes(error).any(|cause| {
        matches!(
            cause.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidMessage(
                rustls::InvalidMessage::InvalidContentType
            ))
        )
    });
    let reason = reason.or_else(|| {
        plain_http.then(|| {
            "it does not speak TLS; if kmirror serves plain HTTP (no --rest-tls-cert), use http://"
                .to_string()
        })
    });
    // Something answers, but its certificate is not one to trust.
    let untrusted = causes(error).find_map(|cause| match cause.downcast_ref::<rustls::Error>() {
        Some(e @ rustls::Error::InvalidCertificate(_)) => Some(e.to_string()),
        _ => None,
    });
    if let Some(why) = untrusted {
        return ApiCallError::Request {
            url: url.to_string(),
            reason: format!(
                "its certificate is refused ({why}); if it is kmirror's, give --rest-ca-file with the CA that signed it"
            ),
        };
    }
    match reason {
        Some(reason) => ApiCallError::NoAnswer {
            base: base.to_string(),
            reason,
        },
        None if error.is_connect() => ApiCallError::NoAnswer {
            base: base.to_string(),
            reason: innermost(error),
        },
        // reqwest's own line repeats the URL: its causes say what failed.
        None => {
            let mut reason = error
                .source()
                .map_or_else(|| error.to_string(), with_causes);
            // An HTTPS server answers a plain request with TLS bytes (an
            // "invalid HTTP version") or closes the connection.
            if base.starts_with("http://") {
                reason.push_str("; if kmirror serves HTTPS (--rest-tls-cert), use https://");
            }
            ApiCallError::Request {
                url: url.to_string(),
                reason,
            }
        }
    }
}

/// An answer that is not a success, said for the operator.
pub fn status_failed(url: &str, status: StatusCode) -> ApiCallError {
    match status {
        StatusCode::UNAUTHORIZED => ApiCallError::Unauthorized {
            url: url.to_string(),
        },
        status => ApiCallError::Status {
            url: url.to_string(),
            status,
        },
    }
}

fn causes<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    // An io::Error hides the error it wraps from `source()` (it skips to
    // that error's source): step into it.
    std::iter::successors(Some(error), |&e| {
        match e.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        }
    })
}

/// reqwest's message with its causes: "error sending request" alone hides
/// the useful part (an untrusted certificate, a refused connection).
pub fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut texts: Vec<String> = causes(error).map(|e| e.to_string()).collect();
    // A wrapping io::Error displays as the error it wraps.
    texts.dedup();
    texts.join(": ")
}

/// The deepest cause: what actually went wrong (a DNS failure, a TLS alert).
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    causes(error)
        .last()
        .map_or_else(|| error.to_string(), ToString::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_url_says_what_is_wrong_and_how_to_write_it() {
        let message = |url: &str| base_url(url).unwrap_err().to_string();
        assert!(
            message("127.0.0.1:8083").contains("write http://127.0.0.1:8083"),
            "{}",
            message("127.0.0.1:8083")
        );
        assert!(message("localhost:8083").contains("write http://localhost:8083"));
        assert!(message("ftp://host:21").contains("must be http or https"));
        assert!(message("http://").contains("--url \"http://\""));
        assert!(
            message("http://host:99999").contains("port"),
            "{}",
            message("http://host:99999")
        );
        assert!(message("http://host:8083/?x=1").contains("query"));
        assert_eq!(base_url("https://host:8083/").unwrap(), "https://host:8083");
        assert_eq!(base_url("http://[::1]:8083").unwrap(), "http://[::1]:8083");
    }
}
