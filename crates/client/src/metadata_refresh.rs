//! Concurrent metadata refreshes of a client, sent as one request.
//!
//! Why: when thousands of partitions fail at once (a target whose new
//! topics have no leader yet, a broker restart), each asks to refresh its
//! topic's metadata. One Metadata request each means thousands of requests
//! on one control connection, answered in order, each answer merged into a
//! fresh copy of the whole cluster's metadata: the last ones time out, the
//! connection is dropped, and memory holds thousands of snapshots. Here a
//! refresh asked while another is on the wire waits for the next request,
//! which names the union of the topics asked meanwhile; so at most one
//! request is in flight and one more queued, whatever the number of
//! callers.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::cluster::Metadata;
use crate::error::Result;

/// Where a caller learns the outcome of the request its topics went in.
pub(crate) type RefreshWaiter = oneshot::Sender<Result<Arc<Metadata>>>;

/// Refreshes asked and not yet sent.
#[derive(Debug, Default)]
pub(crate) struct RefreshQueue {
    state: Mutex<Queued>,
}

#[derive(Debug, Default)]
struct Queued {
    /// A task is sending the queued refreshes.
    driving: bool,
    topics: BTreeSet<String>,
    waiters: Vec<RefreshWaiter>,
}

impl RefreshQueue {
    /// Queues a refresh of `topics` (none: brokers only). True when no task
    /// sends the queue yet: the caller must start one ([`Self::take`]
    /// until it returns `None`).
    pub(crate) fn join(&self, topics: &[String], waiter: RefreshWaiter) -> bool {
        let mut queued = self.state.lock().unwrap();
        queued.topics.extend(topics.iter().cloned());
        queued.waiters.push(waiter);
        !std::mem::replace(&mut queued.driving, true)
    }

    /// Everything queued, for one request; `None` when nothing is, and the
    /// sending task then ends.
    pub(crate) fn take(&self) -> Option<(Vec<String>, Vec<RefreshWaiter>)> {
        let mut queued = self.state.lock().unwrap();
        if queued.waiters.is_empty() {
            queued.driving = false;
            return None;
        }
        let topics = std::mem::take(&mut queued.topics).into_iter().collect();
        Some((topics, std::mem::take(&mut queued.waiters)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_asked_meanwhile_go_in_one_request_and_the_driver_ends_when_idle() {
        let queue = RefreshQueue::default();
        let (a, _ra) = oneshot::channel();
        let (b, _rb) = oneshot::channel();
        let (c, _rc) = oneshot::channel();
        assert!(queue.join(&["t1".into()], a), "the first caller drives");
        assert!(!queue.join(&["t2".into(), "t1".into()], b));
        assert!(!queue.join(&[], c), "brokers only joins too");
        let (topics, waiters) = queue.take().unwrap();
        assert_eq!(topics, ["t1", "t2"]);
        assert_eq!(waiters.len(), 3);
        assert!(queue.take().is_none(), "nothing left: the driver ends");
        let (d, _rd) = oneshot::channel();
        assert!(queue.join(&["t3".into()], d), "a new caller drives again");
    }
}
