//! A bound on the memory that fetched data holds.
//!
//! A fetch response is one buffer that each of its batches slices, alive
//! until the last of them is acknowledged by the target. Partitions move at
//! different speeds, so without a bound the fetcher runs ahead and many
//! responses stay pinned by a few slow partitions. Each round reserves room
//! for its largest possible response, shrinks the reservation to the size
//! that arrived, and the reservation is released when the response's bytes
//! are dropped (tied to them with `Bytes::from_owner`: no copy).
//!
//! The bound is soft: a round waits at most [`FetchBudget::wait`] for room
//! and then goes anyway, so that a partition stuck retrying a write (holding
//! its data for up to the delivery timeout) slows the others without
//! stopping them.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Permits are KiB, so that any budget fits the semaphore's `u32` counts.
const UNIT: usize = 1024;

fn units(bytes: usize) -> u32 {
    bytes.div_ceil(UNIT).min(u32::MAX as usize) as u32
}

/// Room for fetched data, shared by the rounds of one fetcher.
#[derive(Debug, Clone)]
pub struct FetchBudget {
    room: Arc<Semaphore>,
    total: u32,
    wait: Duration,
}

impl FetchBudget {
    pub fn new(bytes: usize, wait: Duration) -> Self {
        let total = units(bytes).max(1);
        FetchBudget {
            room: Arc::new(Semaphore::new(total as usize)),
            total,
            wait,
        }
    }

    /// Reserves room for a response of up to `max_bytes` (at most the whole
    /// budget), waiting up to the budget's wait for it.
    pub async fn reserve(&self, max_bytes: usize) -> Reservation {
        let wanted = units(max_bytes).clamp(1, self.total);
        let acquire = self.room.clone().acquire_many_owned(wanted);
        match tokio::time::timeout(self.wait, acquire).await {
            Ok(Ok(permit)) => Reservation(Some(permit)),
            // Timed out (or closed, which never happens): go unreserved.
            _ => Reservation(None),
        }
    }

    /// KiB of room not reserved right now.
    #[cfg(test)]
    fn available_kib(&self) -> usize {
        self.room.available_permits()
    }
}

/// Room reserved for one response.
#[derive(Debug)]
pub struct Reservation(Option<OwnedSemaphorePermit>);

impl Reservation {
    /// Shrinks the reservation to `body`'s size and ties it to `body`'s
    /// bytes: it is released when the last slice of them is dropped.
    pub fn attach(self, body: Bytes) -> Bytes {
        let Some(mut permit) = self.0 else {
            return body;
        };
        let needed = units(body.len()).max(1) as usize;
        // `split` fails only when the response is larger than reserved
        // (never, as the broker honours max_bytes): then keep all of it.
        let kept = permit.split(needed).unwrap_or(permit);
        Bytes::from_owner(Held { body, _room: kept })
    }
}

struct Held {
    body: Bytes,
    _room: OwnedSemaphorePermit,
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn room_returns_when_the_last_slice_is_dropped() {
        let budget = FetchBudget::new(64 * UNIT, Duration::from_millis(10));
        let reservation = budget.reserve(48 * UNIT).await;
        assert_eq!(budget.available_kib(), 16);
        let body = reservation.attach(Bytes::from(vec![7u8; 10 * UNIT]));
        // Shrunk to what arrived.
        assert_eq!(budget.available_kib(), 54);
        let slice = body.slice(100..200);
        drop(body);
        assert_eq!(budget.available_kib(), 54);
        assert_eq!(slice[0], 7);
        drop(slice);
        assert_eq!(budget.available_kib(), 64);
    }

    #[tokio::test]
    async fn a_full_budget_delays_then_lets_the_round_go() {
        let budget = FetchBudget::new(8 * UNIT, Duration::from_millis(20));
        let held = budget
            .reserve(8 * UNIT)
            .await
            .attach(Bytes::from(vec![0u8; 8 * UNIT]));
        assert_eq!(budget.available_kib(), 0);
        let started = tokio::time::Instant::now();
        let unreserved = budget.reserve(UNIT).await;
        assert!(started.elapsed() >= Duration::from_millis(20));
        assert!(unreserved.0.is_none());
        // Unreserved bytes pass through untouched.
        let body = unreserved.attach(Bytes::from_static(b"abc"));
        assert_eq!(&body[..], b"abc");
        drop(held);
        assert_eq!(budget.available_kib(), 8);
    }

    #[tokio::test]
    async fn a_request_larger_than_the_budget_asks_for_all_of_it() {
        let budget = FetchBudget::new(4 * UNIT, Duration::from_millis(10));
        let reservation = budget.reserve(100 * UNIT).await;
        assert!(reservation.0.is_some());
        assert_eq!(budget.available_kib(), 0);
    }
}
