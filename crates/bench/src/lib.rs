//! kmirror's benchmarks: programs that measure, not tests that pass or fail
//! on speed.
//!
//! - [`raw_forward`] (issue 2): the raw data path alone, in this process,
//!   forwarding a preloaded topic from cluster A to cluster B; MB/s and CPU
//!   seconds per GB.
//! - [`compare`] (issue 4): kmirror and MirrorMaker 2 (default and tuned)
//!   side by side on the same clusters, data and machine: catch-up, steady
//!   latency, start-up, a far region behind a delaying [`proxy`], and
//!   memory; the replicator's own CPU and peak RSS come from `/proc`
//!   ([`proc_stats`]). Results go to a Markdown table and a JSON file
//!   ([`report`]).
//!   Its SASL_SSL scenario (issue 9, run alone with `--scenario
//!   sasl-ssl`) copies the same data over SASL_SSL (kmirror, MM2) and over
//!   PLAINTEXT (kmirror) on two secured clusters. Its workers scenario
//!   (issue 10, `--scenario workers`) runs 1, 2 and 3 kmirror processes on
//!   one flow and measures how long partitions have no owner while workers
//!   join and leave ([`compare::workers`]).
//!
//! `scripts/bench.sh` runs the full comparison; `docs/BENCHMARKS.md` holds
//! the method and the latest table. The CI smoke test runs the quickest
//! form:
//!
//! ```no_run
//! use kmirror_bench::compare::{self, CompareOptions, Scenario};
//! use kmirror_bench::replicator::ReplicatorKind;
//!
//! let mut options = CompareOptions::quick();
//! options.scenarios = vec![Scenario::CatchUp];
//! options.replicators = vec![ReplicatorKind::Kmirror, ReplicatorKind::Mm2Default];
//! let report = compare::run(&options).unwrap();
//! assert!(report.measurements.iter().all(|m| m.complete));
//! ```

pub mod compare;
pub mod latency;
pub mod probe;
pub mod proc_stats;
pub mod proxy;
pub mod raw_forward;
pub mod replicator;
pub mod report;
pub mod socket_bytes;
