//! A write lease: permission to write for a bounded time.
//!
//! When several kmirror processes share a replication, a partition belongs
//! to the member the group coordinator last confirmed. A member that stops
//! hearing from the coordinator (frozen, cut off) must stop writing before
//! the coordinator gives its partitions to another member, and must not
//! write after it wakes up. The engine extends the lease each time the
//! coordinator confirms the membership, to a deadline computed from the
//! time the confirming request was *sent*, which is no later than when the
//! coordinator restarted its session timer; senders check it before each
//! write.
//!
//! The clock is [`std::time::Instant`], the system's monotonic clock: it
//! keeps running while the process is stopped (SIGSTOP), so a process that
//! wakes up after its deadline finds the lease expired.
//!
//! Two holes a deadline alone leaves, and how they are closed:
//! - **A check long before the write.** A batch checked, then frozen before
//!   its bytes reach the socket, would be written on waking. The produce
//!   path therefore asks the lease again right before every write system
//!   call of a request (see `BrokerConnection::send_gated`), and a request
//!   stopped half-written closes its connection, so the broker drops the
//!   partial frame. What remains is the handful of instructions between
//!   that last check and the system call.
//! - **A revoked lease extended again.** A worker that lost its membership
//!   and rejoined extends the same lease; a batch queued before the loss
//!   must not ride on that. [`WriteLease::revoke`] starts a new *term*, and a
//!   handle made by [`WriteLease::for_this_term`] is valid only within the
//!   term it was made in: a partition's sender holds such a handle.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{ClientError, Result};

/// Deadline value meaning "no limit".
const UNLIMITED: u64 = u64::MAX;

/// A shared, cheaply cloned write lease. Clones see the same deadline.
#[derive(Clone)]
pub struct WriteLease {
    inner: Arc<Inner>,
    /// `Some(term)` for a handle valid only within that term; `None` for
    /// one that follows the lease from term to term.
    term: Option<u64>,
}

struct Inner {
    /// What this lease is for, for the error (`kafka-a->kafka-b`).
    scope: String,
    /// Origin of `deadline`.
    base: Instant,
    /// Microseconds after `base` until which writes are allowed;
    /// [`UNLIMITED`] for no limit, 0 when revoked.
    deadline: AtomicU64,
    /// Incremented by every [`WriteLease::revoke`].
    term: AtomicU64,
}

impl std::fmt::Debug for WriteLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteLease")
            .field("scope", &self.inner.scope)
            .field("remaining", &self.remaining())
            .finish()
    }
}

impl WriteLease {
    /// A lease that never expires (a writer that answers to no group).
    pub fn unlimited(scope: &str) -> Self {
        Self::with_deadline(scope, UNLIMITED)
    }

    /// A lease that allows nothing until it is extended.
    pub fn expired(scope: &str) -> Self {
        Self::with_deadline(scope, 0)
    }

    fn with_deadline(scope: &str, deadline: u64) -> Self {
        WriteLease {
            inner: Arc::new(Inner {
                scope: scope.to_string(),
                base: Instant::now(),
                deadline: AtomicU64::new(deadline),
                term: AtomicU64::new(0),
            }),
            term: None,
        }
    }

    /// A handle on this lease valid only until the next [`Self::revoke`],
    /// even if the lease is extended again after it.
    pub fn for_this_term(&self) -> Self {
        WriteLease {
            inner: self.inner.clone(),
            term: Some(self.inner.term.load(Ordering::Acquire)),
        }
    }

    /// Whether `other` is a handle on the same lease and term.
    pub fn same_as(&self, other: &WriteLease) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner) && self.term == other.term
    }

    /// Allows writes until `until`, unless the lease already runs longer.
    pub fn extend_to(&self, until: Instant) {
        let micros = self.micros_since_base(until);
        self.inner.deadline.fetch_max(micros, Ordering::AcqRel);
    }

    /// Sets the deadline to `until`, shortening it if need be.
    pub fn limit_to(&self, until: Instant) {
        let micros = self.micros_since_base(until);
        self.inner.deadline.fetch_min(micros, Ordering::AcqRel);
    }

    /// Withdraws the lease at once: every later write fails until it is
    /// extended again, and those through a handle of the ending term
    /// ([`Self::for_this_term`]) fail for good.
    pub fn revoke(&self) {
        // Term first: a check that sees the deadline extended again also
        // sees the new term.
        self.inner.term.fetch_add(1, Ordering::AcqRel);
        self.inner.deadline.store(0, Ordering::Release);
    }

    /// Time left, `None` without a limit; zero once expired (or, for a
    /// handle of an ended term, for good).
    pub fn remaining(&self) -> Option<Duration> {
        if let Some(term) = self.term {
            if self.inner.term.load(Ordering::Acquire) != term {
                return Some(Duration::ZERO);
            }
        }
        let deadline = self.inner.deadline.load(Ordering::Acquire);
        if deadline == UNLIMITED {
            return None;
        }
        let now = self.micros_since_base(Instant::now());
        Some(Duration::from_micros(deadline.saturating_sub(now)))
    }

    /// Whether a write may start now.
    pub fn is_valid(&self) -> bool {
        self.remaining() != Some(Duration::ZERO)
    }

    /// `Ok` if a write may start now, else [`ClientError::LeaseExpired`].
    pub fn check(&self) -> Result<()> {
        if self.is_valid() {
            Ok(())
        } else {
            Err(ClientError::LeaseExpired {
                scope: self.inner.scope.clone(),
            })
        }
    }

    fn micros_since_base(&self, at: Instant) -> u64 {
        // `max(1)`: 0 means revoked.
        (at.saturating_duration_since(self.inner.base).as_micros() as u64).clamp(1, UNLIMITED - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_never_expires() {
        let lease = WriteLease::unlimited("a->b");
        assert!(lease.check().is_ok());
        assert_eq!(lease.remaining(), None);
        lease.revoke();
        assert!(lease.check().is_err());
    }

    #[test]
    fn expired_until_extended_and_extension_only_lengthens() {
        let lease = WriteLease::expired("a->b");
        let error = lease.check().unwrap_err();
        assert!(error.to_string().contains("a->b"), "{error}");
        let now = Instant::now();
        lease.extend_to(now + Duration::from_secs(10));
        assert!(lease.check().is_ok());
        lease.extend_to(now + Duration::from_secs(1));
        assert!(lease.remaining().unwrap() > Duration::from_secs(5));
        lease.limit_to(now + Duration::from_secs(1));
        assert!(lease.remaining().unwrap() <= Duration::from_secs(1));
    }

    #[test]
    fn a_deadline_reached_allows_nothing() {
        let lease = WriteLease::expired("a->b");
        lease.extend_to(Instant::now());
        assert!(lease.clone().check().is_err());
        assert_eq!(lease.remaining(), Some(Duration::ZERO));
    }

    #[test]
    fn a_handle_of_an_ended_term_stays_invalid_after_a_new_extension() {
        let lease = WriteLease::expired("a->b");
        lease.extend_to(Instant::now() + Duration::from_secs(60));
        let before = lease.for_this_term();
        assert!(before.check().is_ok());
        assert!(before.same_as(&before.clone()));
        assert!(!before.same_as(&lease));
        lease.revoke();
        lease.extend_to(Instant::now() + Duration::from_secs(60));
        assert!(
            lease.check().is_ok(),
            "a handle without term follows the lease"
        );
        assert!(
            before.check().is_err(),
            "the old term's handle stays invalid"
        );
        assert!(lease.for_this_term().check().is_ok());
    }

    #[test]
    fn revoke_wins_over_an_earlier_extension() {
        let lease = WriteLease::expired("a->b");
        lease.extend_to(Instant::now() + Duration::from_secs(60));
        lease.revoke();
        assert!(!lease.is_valid());
    }
}
