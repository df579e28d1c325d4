//! Which partitions of a flow this worker runs, for the tasks that need to
//! know: the checkpoints translate every partition of the flow, reading the
//! offset index of partitions other workers run from what they persisted.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::forward::TopicPartition;

#[derive(Debug, Default)]
pub struct Ownership {
    partitions: Mutex<BTreeSet<TopicPartition>>,
    others_own_some: AtomicBool,
}

impl Ownership {
    /// The partitions this worker runs after an assignment, and whether
    /// other workers run some of the flow's partitions.
    pub fn set(&self, partitions: BTreeSet<TopicPartition>, others_own_some: bool) {
        *self.partitions.lock().unwrap() = partitions;
        self.others_own_some
            .store(others_own_some, Ordering::Release);
    }

    pub fn owns(&self, tp: &TopicPartition) -> bool {
        self.partitions.lock().unwrap().contains(tp)
    }

    pub fn others_own_some(&self) -> bool {
        self.others_own_some.load(Ordering::Acquire)
    }
}
