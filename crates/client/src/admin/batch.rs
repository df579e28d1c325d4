//! Batched calls answered per item: retries only the items that failed
//! with a retriable error, until the client's retry deadline.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::Mutex as StdMutex;

use indexmap::IndexSet;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::ResponseError;

use super::Admin;
use crate::error::{ClientError, Result};

impl Admin {
    /// Runs a batched call until every item has a final answer: items that
    /// fail with a retriable error are sent again (alone) after a backoff,
    /// until the client's retry deadline. Answers come back in input order,
    /// one per distinct item.
    pub(super) async fn per_item<K, T, F, Fut>(
        &self,
        what: &str,
        api: ApiKey,
        items: Vec<K>,
        mut attempt: F,
    ) -> Result<Vec<(K, Result<T>)>>
    where
        K: Clone + Eq + Hash + fmt::Debug,
        F: FnMut(Vec<K>, u32) -> Fut,
        Fut: Future<Output = Answers<K, T>>,
    {
        let order: IndexSet<K> = items.into_iter().collect();
        if order.is_empty() {
            return Ok(Vec::new());
        }
        let batch = StdMutex::new(Batch {
            pending: order.clone(),
            done: HashMap::new(),
            retrying: Vec::new(),
            signalled: None,
            attempts: 0,
        });
        let batch_ref = &batch;
        let addr = self.client.bootstrap_display();
        let outcome = self
            .client
            .with_retries(what, move || {
                let (keys, attempt_no) = {
                    let mut b = batch_ref.lock().unwrap();
                    b.attempts += 1;
                    (b.pending.iter().cloned().collect(), b.attempts)
                };
                let answers = attempt(keys, attempt_no);
                let addr = addr.clone();
                async move {
                    let answers = answers.await;
                    batch_ref.lock().unwrap().absorb(answers, api, &addr)
                }
            })
            .await;
        let mut batch = batch.into_inner().unwrap();
        match outcome {
            Ok(()) => {}
            Err(ClientError::RetriesExhausted { attempts, last }) if batch.signalled.is_some() => {
                if let Some(k) = batch.signalled.take() {
                    batch
                        .done
                        .insert(k, Err(ClientError::RetriesExhausted { attempts, last }));
                }
                for (k, e) in std::mem::take(&mut batch.retrying) {
                    let e = ClientError::RetriesExhausted {
                        attempts,
                        last: Box::new(e),
                    };
                    batch.done.insert(k, Err(e));
                }
            }
            Err(e) => return Err(e),
        }
        let addr = self.client.bootstrap_display();
        Ok(order
            .into_iter()
            .map(|k| {
                let result = batch.done.remove(&k).unwrap_or_else(|| {
                    Err(ClientError::Malformed {
                        addr: addr.clone(),
                        api,
                        reason: format!("{what}: no answer for {k:?}"),
                    })
                });
                (k, result)
            })
            .collect())
    }
}

/// What one attempt of a batched call learned.
#[derive(Debug)]
pub(super) struct Answers<K, T> {
    pub(super) answered: Vec<(K, Result<T>)>,
    /// Why some items got no answer (a request to one broker failed).
    pub(super) failure: Option<ClientError>,
}

impl<K, T> Answers<K, T> {
    pub(super) fn failed(error: ClientError) -> Self {
        Answers {
            answered: Vec::new(),
            failure: Some(error),
        }
    }
}

impl<K, T> From<Result<Vec<(K, Result<T>)>>> for Answers<K, T> {
    fn from(result: Result<Vec<(K, Result<T>)>>) -> Self {
        match result {
            Ok(answered) => Answers {
                answered,
                failure: None,
            },
            Err(e) => Answers::failed(e),
        }
    }
}

/// The state of a batched call across attempts.
#[derive(Debug)]
struct Batch<K, T> {
    /// Items without a final answer yet.
    pending: IndexSet<K>,
    done: HashMap<K, Result<T>>,
    /// Retriable errors of the latest attempt, reported if retries run out.
    retrying: Vec<(K, ClientError)>,
    /// The item whose error was handed to `with_retries` as the reason to
    /// retry; it comes back inside `RetriesExhausted` if retries run out.
    signalled: Option<K>,
    attempts: u32,
}

impl<K: Clone + Eq + Hash + fmt::Debug, T> Batch<K, T> {
    /// Records an attempt's answers; `Err` asks `with_retries` to retry
    /// (or, when not retriable, to give up on the whole call).
    fn absorb(&mut self, answers: Answers<K, T>, api: ApiKey, addr: &str) -> Result<()> {
        let Answers { answered, failure } = answers;
        self.retrying.clear();
        self.signalled = None;
        let mut reason = None;
        let mut seen = HashSet::new();
        for (k, result) in answered {
            if !self.pending.contains(&k) || !seen.insert(k.clone()) {
                continue;
            }
            match result {
                Err(e) if is_admin_retriable(&e) => {
                    if reason.is_none() && failure.is_none() {
                        self.signalled = Some(k);
                        reason = Some(e);
                    } else {
                        self.retrying.push((k, e));
                    }
                }
                result => {
                    self.done.insert(k, result);
                }
            }
        }
        // One pass, keeping the order of the rest: removing answered items
        // one by one shifts the set each time, quadratic for the 10,000
        // partitions of a large flow.
        let done = &self.done;
        self.pending.retain(|k| !done.contains_key(k));
        if let Some(failure) = failure {
            return Err(failure);
        }
        let unanswered: Vec<K> = self
            .pending
            .iter()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        self.pending.retain(|k| seen.contains(k));
        for k in unanswered {
            let error = ClientError::Malformed {
                addr: addr.to_string(),
                api,
                reason: format!("the answer says nothing about {k:?}"),
            };
            self.done.insert(k, Err(error));
        }
        match reason {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Whether an admin call should retry an item: retriable errors except a
/// missing topic, which admin callers want to hear about at once.
fn is_admin_retriable(error: &ClientError) -> bool {
    error.is_retriable()
        && !matches!(error, ClientError::UnknownTopicPartition { .. })
        && error.broker_error() != Some(ResponseError::UnknownTopicOrPartition)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker_error(api: ApiKey, error: ResponseError) -> ClientError {
        ClientError::Broker {
            api,
            context: "topic t".into(),
            error,
            message: None,
        }
    }

    #[test]
    fn missing_topics_are_not_retried() {
        assert!(!is_admin_retriable(&broker_error(
            ApiKey::DeleteTopics,
            ResponseError::UnknownTopicOrPartition
        )));
        assert!(!is_admin_retriable(&ClientError::UnknownTopicPartition {
            topic: "t".into(),
            partition: 0
        }));
        assert!(is_admin_retriable(&broker_error(
            ApiKey::OffsetCommit,
            ResponseError::CoordinatorLoadInProgress
        )));
        assert!(is_admin_retriable(&broker_error(
            ApiKey::OffsetCommit,
            ResponseError::NotCoordinator
        )));
    }

    #[test]
    fn absorb_keeps_retriable_items_pending_and_finalizes_the_rest() {
        let mut batch: Batch<String, ()> = Batch {
            pending: ["a", "b", "c", "d"].map(String::from).into_iter().collect(),
            done: HashMap::new(),
            retrying: Vec::new(),
            signalled: None,
            attempts: 1,
        };
        let answers = Answers {
            answered: vec![
                ("a".to_string(), Ok(())),
                (
                    "b".to_string(),
                    Err(broker_error(
                        ApiKey::CreateTopics,
                        ResponseError::NotController,
                    )),
                ),
                (
                    "c".to_string(),
                    Err(broker_error(
                        ApiKey::CreateTopics,
                        ResponseError::RequestTimedOut,
                    )),
                ),
            ],
            failure: None,
        };
        let reason = batch
            .absorb(answers, ApiKey::CreateTopics, "x:1")
            .unwrap_err();
        assert_eq!(reason.broker_error(), Some(ResponseError::NotController));
        assert_eq!(batch.signalled.as_deref(), Some("b"));
        assert_eq!(batch.retrying.len(), 1);
        assert!(matches!(batch.done.get("a"), Some(Ok(()))));
        // "d" got no answer at all: final, as a malformed answer.
        assert!(matches!(
            batch.done.get("d"),
            Some(Err(ClientError::Malformed { .. }))
        ));
        let pending: Vec<&str> = batch.pending.iter().map(String::as_str).collect();
        assert_eq!(pending, ["b", "c"]);

        let answers = Answers {
            answered: vec![("b".to_string(), Ok(())), ("c".to_string(), Ok(()))],
            failure: None,
        };
        batch.absorb(answers, ApiKey::CreateTopics, "x:1").unwrap();
        assert!(batch.pending.is_empty());
        assert_eq!(batch.done.len(), 4);
    }
}
