//! Many callers' lookups served by one batched request.
//!
//! Why: a flow of 10,000 partitions starts 10,000 pipelines at once, and
//! each needs its start offset and its remote topic. One request each
//! (ListOffsets, Metadata, DescribeConfigs, CreateTopics) queues 10,000
//! requests on the broker's single control connection, which a broker
//! answers strictly in order: the last ones time out, the connection is
//! dropped, and every caller retries into the same flood. A [`Coalescer`]
//! gathers every lookup asked while the previous batch was on the wire and
//! sends them as one call, so the number of requests follows the number of
//! round trips, not the number of partitions; a lone caller still goes out
//! at once (no lingering).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;

use kmirror_client::ClientError;
use tokio::sync::{mpsc, oneshot};

/// Why a lookup has no answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LookupError {
    /// The cluster failed it. Shared: a batch that fails as a whole fails
    /// every lookup in it with the same error.
    #[error(transparent)]
    Client(Arc<ClientError>),
    /// The task that answers lookups has stopped (the flow is stopping).
    #[error("the batched lookup task has stopped")]
    Stopped,
    /// The batch answered without this key (a cluster that left it out).
    #[error("the cluster's answer left this out")]
    Unanswered,
}

/// The answer to one lookup.
pub type Shared<V> = Result<V, LookupError>;

type Waiter<V> = oneshot::Sender<Shared<V>>;

/// At most this many keys go in one batch.
const MAX_BATCH: usize = 1000;

/// Hands lookups of `K` to one task that answers them in batches.
#[derive(Debug)]
pub(crate) struct Coalescer<K, V> {
    requests: mpsc::UnboundedSender<(K, Waiter<V>)>,
}

impl<K, V> Clone for Coalescer<K, V> {
    fn clone(&self) -> Self {
        Coalescer {
            requests: self.requests.clone(),
        }
    }
}

impl<K, V> Coalescer<K, V>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + 'static,
{
    /// Starts the task that answers lookups with `batch`, which gets each
    /// key once and answers each key it was given (a key left out fails as
    /// unknown). The task ends when every handle is dropped.
    pub(crate) fn spawn<F, Fut>(batch: F) -> Self
    where
        F: Fn(Vec<K>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<HashMap<K, Result<V, ClientError>>, ClientError>> + Send,
    {
        let (requests, mut incoming) = mpsc::unbounded_channel::<(K, Waiter<V>)>();
        tokio::spawn(async move {
            while let Some(first) = incoming.recv().await {
                let mut waiting: HashMap<K, Vec<Waiter<V>>> = HashMap::new();
                let mut keys = Vec::new();
                let (key, waiter) = first;
                join(&mut waiting, &mut keys, key, waiter);
                // Everything already asked joins this batch.
                while keys.len() < MAX_BATCH {
                    match incoming.try_recv() {
                        Ok((key, waiter)) => join(&mut waiting, &mut keys, key, waiter),
                        Err(_) => break,
                    }
                }
                answer(batch(keys).await, waiting);
            }
        });
        Coalescer { requests }
    }

    /// Looks `key` up, in the next batch.
    pub(crate) async fn get(&self, key: K) -> Shared<V> {
        let (tx, rx) = oneshot::channel();
        if self.requests.send((key, tx)).is_err() {
            return Err(LookupError::Stopped);
        }
        rx.await.unwrap_or(Err(LookupError::Stopped))
    }
}

/// Adds a lookup to the batch being gathered; a key asked twice goes once.
fn join<K: Eq + Hash + Clone, V>(
    waiting: &mut HashMap<K, Vec<Waiter<V>>>,
    keys: &mut Vec<K>,
    key: K,
    waiter: Waiter<V>,
) {
    let waiters = waiting.entry(key.clone()).or_default();
    if waiters.is_empty() {
        keys.push(key);
    }
    waiters.push(waiter);
}

fn answer<K: Eq + Hash, V: Clone>(
    outcome: Result<HashMap<K, Result<V, ClientError>>, ClientError>,
    waiting: HashMap<K, Vec<Waiter<V>>>,
) {
    match outcome {
        Ok(mut answers) => {
            for (key, waiters) in waiting {
                let answer = match answers.remove(&key) {
                    Some(Ok(value)) => Ok(value),
                    Some(Err(e)) => Err(LookupError::Client(Arc::new(e))),
                    None => Err(LookupError::Unanswered),
                };
                for waiter in waiters {
                    let _ = waiter.send(answer.clone());
                }
            }
        }
        Err(e) => {
            let shared = LookupError::Client(Arc::new(e));
            for waiter in waiting.into_values().flatten() {
                let _ = waiter.send(Err(shared.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn concurrent_lookups_share_batches_and_each_gets_its_answer() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let coalescer = Coalescer::spawn(move |keys: Vec<u32>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(keys.into_iter().map(|k| (k, Ok(k * 10))).collect())
            }
        });
        let lookups: Vec<_> = (0..500u32)
            .map(|k| {
                let c = coalescer.clone();
                tokio::spawn(async move { (k, c.get(k % 100).await) })
            })
            .collect();
        for lookup in lookups {
            let (k, answer) = lookup.await.unwrap();
            assert_eq!(answer.unwrap(), (k % 100) * 10);
        }
        // The first lookup may go alone; the rest waited for it together.
        let calls = calls.load(Ordering::SeqCst);
        assert!((1..=3).contains(&calls), "{calls} batches for 500 lookups");
    }

    #[tokio::test]
    async fn a_failed_batch_fails_each_lookup_and_a_missing_key_is_an_error() {
        let coalescer = Coalescer::spawn(|keys: Vec<u32>| async move {
            if keys.contains(&7) {
                Err(ClientError::NoLeader {
                    topic: "t".into(),
                    partition: 7,
                })
            } else {
                Ok(HashMap::from([(1, Ok("one"))]))
            }
        });
        assert_eq!(coalescer.get(1).await.unwrap(), "one");
        assert!(matches!(
            coalescer.get(2).await,
            Err(LookupError::Unanswered)
        ));
        let failed = coalescer.get(7).await.unwrap_err();
        assert!(
            matches!(&failed, LookupError::Client(e) if matches!(**e, ClientError::NoLeader { partition: 7, .. })),
            "{failed:?}"
        );
    }
}
