//! Whether other workers run part of a flow, for the tasks that need to
//! know: the checkpoints then translate through the offset indexes every
//! worker persisted rather than through this worker's live share.

use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Default)]
pub struct Ownership {
    others_own_some: AtomicBool,
}

impl Ownership {
    /// After an assignment: whether other workers run some of the flow's
    /// partitions.
    pub fn set(&self, others_own_some: bool) {
        self.others_own_some
            .store(others_own_some, Ordering::Release);
    }

    pub fn others_own_some(&self) -> bool {
        self.others_own_some.load(Ordering::Acquire)
    }
}
