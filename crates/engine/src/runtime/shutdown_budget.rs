//! One budget for a graceful stop, split so that every inner limit fits
//! inside the one around it (they used to disagree: a 3 s drain inside a
//! 15 s flow stop inside an 8 s process limit, plus a REST stop after it).
//!
//! ```text
//! PROCESS_STOP (8 s): from SIGTERM/SIGINT to exit, as the README promises
//! ├── ENGINE_STOP (7 s): every flow stops; also the limit of one flow's
//! │   │                 stop when the REST API changes or deletes it
//! │   ├── PARTITION_DRAIN (3 s): in-flight batches acknowledged
//! │   └── the rest (4 s): final progress and index written, group left
//! ├── REST_STOP (0.8 s): the REST API finishes its requests
//! └── RUNTIME_STOP (0.2 s): tasks stuck on unreachable brokers dropped
//! ```
//!
//! A step that overruns its share is cut short (its batches are copied
//! again on restart), so the whole stop never exceeds [`PROCESS_STOP`].

use std::time::Duration;

/// From the stop signal to the process's exit.
pub const PROCESS_STOP: Duration = Duration::from_secs(8);

/// Kept for the REST API after the engine stopped: answers in progress
/// finish, the listener closes.
pub const REST_STOP: Duration = Duration::from_millis(800);

/// Kept for the async runtime to drop tasks still waiting on unreachable
/// brokers.
pub const RUNTIME_STOP: Duration = Duration::from_millis(200);

/// What is left of [`PROCESS_STOP`] for the engine: every flow stops
/// within it.
pub const ENGINE_STOP: Duration = PROCESS_STOP
    .saturating_sub(REST_STOP)
    .saturating_sub(RUNTIME_STOP);

/// One flow's stop (pipelines drained, final progress written) before its
/// task is aborted; flows stop side by side, so each may take the whole
/// engine share.
pub const FLOW_STOP: Duration = ENGINE_STOP;

/// How long a stopping partition waits for the acknowledgements of its
/// in-flight batches; the rest of [`FLOW_STOP`] is left for writing the
/// final progress.
pub const PARTITION_DRAIN: Duration = Duration::from_secs(3);

// Inner limits inside outer ones, checked when compiling.
const _: () = assert!(
    ENGINE_STOP.as_millis() + REST_STOP.as_millis() + RUNTIME_STOP.as_millis()
        <= PROCESS_STOP.as_millis()
);
const _: () = assert!(FLOW_STOP.as_millis() <= ENGINE_STOP.as_millis());
// At least a second for the final progress write after the drain.
const _: () = assert!(PARTITION_DRAIN.as_millis() + 1_000 <= FLOW_STOP.as_millis());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shares_are_the_documented_ones() {
        assert_eq!(PROCESS_STOP, Duration::from_secs(8));
        assert_eq!(ENGINE_STOP, Duration::from_secs(7));
        assert_eq!(FLOW_STOP, Duration::from_secs(7));
        assert_eq!(PARTITION_DRAIN, Duration::from_secs(3));
        assert_eq!(ENGINE_STOP + REST_STOP + RUNTIME_STOP, PROCESS_STOP);
    }
}
