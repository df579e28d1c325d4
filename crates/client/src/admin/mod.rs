//! The admin, group and offset calls the control plane needs: topic creation
//! and deletion, partition growth, configs, offsets by spec, group listing,
//! description and (member-less) offset commits. The ACL calls live in
//! [`crate::acls`] (their types are re-exported here).
//!
//! Inputs and outputs are domain types, never `kafka-protocol` structs.
//! Batched calls answer per item: the outer `Result` fails only when the
//! cluster could not be asked at all (no broker reachable, an unsupported
//! API, a non-retriable request-level error), the inner one carries each
//! topic's, partition's or group's own outcome with its name in the error.
//! Retriable per-item errors are retried (only for the items that need it)
//! with the client's backoff and deadline; a missing topic is never retried.
//!
//! ```no_run
//! # async fn demo() -> kmirror_client::Result<()> {
//! use kmirror_client::admin::{Admin, NewTopic, OffsetSpec};
//! use kmirror_client::{ClientConfig, KafkaClient};
//!
//! let admin = Admin::new(KafkaClient::connect(ClientConfig::new("127.0.0.1:9092")).await?);
//! let topic = NewTopic::new("orders", 3, 1).with_config("compression.type", "producer");
//! for (name, outcome) in admin.create_topics(&[topic], false).await? {
//!     println!("{name}: {outcome:?}");
//! }
//! let ends = admin.list_offsets(&[("orders", 0)], OffsetSpec::Latest).await?;
//! # Ok(()) }
//! ```

mod batch;
mod configs;
mod group_offsets;
mod groups;
mod offsets;
mod plumbing;
mod topics;

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};

pub use self::configs::{ConfigEntry, ConfigOp, ConfigSource};
pub use self::group_offsets::{CommittedOffset, OffsetToCommit};
pub use self::groups::{
    CoordinatorKey, GroupDescription, GroupListing, GroupState, MemberDescription,
};
pub use self::offsets::OffsetSpec;
pub use self::topics::{CreateTopicOutcome, NewTopic};
pub use crate::acls::{
    AclBinding, AclFilter, AclOperation, AclPermission, PatternType, ResourceType,
};
use crate::cluster::KafkaClient;

/// Admin calls on one cluster. Cheap to clone; clones share the cache of
/// group coordinators.
#[derive(Debug, Clone)]
pub struct Admin {
    client: KafkaClient,
    /// Group id to coordinator broker id, dropped when the broker says it is
    /// not (or no longer) the coordinator or its connection fails.
    coordinators: Arc<StdMutex<HashMap<String, i32>>>,
}

impl KafkaClient {
    /// Admin calls through this client (with a fresh coordinator cache).
    pub fn admin(&self) -> Admin {
        Admin::new(self.clone())
    }
}

impl Admin {
    pub fn new(client: KafkaClient) -> Self {
        Admin {
            client,
            coordinators: Arc::new(StdMutex::new(HashMap::new())),
        }
    }

    pub fn client(&self) -> &KafkaClient {
        &self.client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_codes_round_trip_and_keep_unknown_ones() {
        for code in -1..20 {
            assert_eq!(AclOperation::from_code(code).code(), code);
            assert_eq!(ResourceType::from_code(code).code(), code);
        }
        assert_eq!(AclOperation::from_code(3), AclOperation::Read);
        assert_eq!(PatternType::from_code(4), PatternType::Prefixed);
        assert_eq!(AclPermission::from_code(99), AclPermission::Other(99));
    }
}
