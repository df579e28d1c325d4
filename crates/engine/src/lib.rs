//! kmirror's replication engine.
//!
//! The pure parts live here first, with no I/O:
//! - [`config`]: MM2's `mm2.properties` (and the Kafka Connect JSON form) read,
//!   typed and validated with MM2's defaults and precedence;
//! - [`policy`]: remote topic naming and the cycle check (MM2's
//!   `DefaultReplicationPolicy` / `IdentityReplicationPolicy`);
//! - [`filter`]: which topics, groups and topic configs a flow replicates.
//!
//! ```
//! use kmirror_engine::config::mm2::Mm2Config;
//! use kmirror_engine::filter::should_replicate_topic;
//!
//! let config = Mm2Config::parse(
//!     "clusters = kafka-a, kafka-b\n\
//!      kafka-a.bootstrap.servers = a:9092\n\
//!      kafka-b.bootstrap.servers = b:9092\n\
//!      kafka-a->kafka-b.enabled = true\n\
//!      kafka-b->kafka-a.enabled = true\n",
//!     "mm2.properties",
//! )
//! .unwrap();
//! let a_to_b = config.flow("kafka-a", "kafka-b").unwrap();
//! assert!(should_replicate_topic("payment-events", a_to_b));
//! assert_eq!(a_to_b.remote_topic("payment-events"), "kafka-a.payment-events");
//! // What came from kafka-b never goes back there.
//! assert!(!should_replicate_topic("kafka-b.payment-events", a_to_b));
//! ```

pub mod config;
pub mod filter;
pub mod forward;
pub mod group;
pub mod java_regex;
pub mod metrics;
pub mod model;
pub mod offsets;
pub mod policy;
pub mod records;
pub mod runtime;
