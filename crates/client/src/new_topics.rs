//! Topics this client created (or grew) a moment ago.
//!
//! A broker answers "unknown topic or partition" for a while after a
//! creation: the controller has accepted it, but the leaders have not made
//! the logs or learned of them yet. For one topic that is milliseconds; for
//! the 10,000 partitions of a large flow created together it took the
//! target broker tens of seconds here, as long as it took the source broker
//! to create the same partitions. A sender gives up quickly on a missing
//! topic (it may have been deleted, see
//! [`crate::produce::SendConfig::missing_topic_timeout`]); on one this
//! client just created it waits longer, instead of pausing thousands of
//! partitions that would only have to start again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries older than this are dropped when new ones come in.
const FORGET_AFTER: Duration = Duration::from_secs(600);

/// When each topic was last created or grown by this client.
#[derive(Debug, Default)]
pub(crate) struct NewTopics {
    created: Mutex<HashMap<String, Instant>>,
}

impl NewTopics {
    /// Notes that `topics` were created or grown just now.
    pub(crate) fn record<'a>(&self, topics: impl IntoIterator<Item = &'a str>) {
        let now = Instant::now();
        let mut created = self.created.lock().unwrap();
        created.retain(|_, at| now.duration_since(*at) < FORGET_AFTER);
        for topic in topics {
            created.insert(topic.to_string(), now);
        }
    }

    /// Whether `topic` was created or grown less than `within` ago.
    pub(crate) fn created_within(&self, topic: &str, within: Duration) -> bool {
        self.created
            .lock()
            .unwrap()
            .get(topic)
            .is_some_and(|at| at.elapsed() < within)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_a_creation_for_the_window_asked() {
        let topics = NewTopics::default();
        assert!(!topics.created_within("t", Duration::from_secs(60)));
        topics.record(["t", "u"]);
        assert!(topics.created_within("t", Duration::from_secs(60)));
        assert!(topics.created_within("u", Duration::from_secs(60)));
        assert!(!topics.created_within("t", Duration::ZERO));
        assert!(!topics.created_within("v", Duration::from_secs(60)));
    }
}
