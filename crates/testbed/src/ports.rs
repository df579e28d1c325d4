//! Free loopback ports for brokers and controllers.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};

/// A port on 127.0.0.1 that was free a moment ago, never handed out twice by
/// this process.
///
/// The OS picks it (bind to port 0), and the listener is closed before the
/// broker binds it: another process could take it in between, which on a test
/// machine is rare enough; a broker that fails to bind then shows up as a
/// startup failure naming the port.
pub fn free_port() -> u16 {
    static GIVEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let given = GIVEN.get_or_init(Default::default);
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        if given.lock().unwrap().insert(port) {
            return port;
        }
    }
}
