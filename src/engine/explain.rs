//! engine::explain: the `Command::Explain` job — the Git side of an object's drifted paths
//! (the commit that set each value, the path's line in the file), read off the engine's loop.
//!
//! The walk runs on a blocking thread; the engine keeps one `git::HistoryCache` per fabric
//! (parsed blobs and finished lookups), so asking again is near free. A request for an object
//! already being explained for the same drifted paths is dropped: the running job answers it
//! (a request for other paths — the drift changed meanwhile — runs).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::EngineEvent;
use super::task::Engine;
use crate::attribution::GitExplanation;
use crate::drift::Drift;
use crate::git::{GitSource, HistoryCache};
use crate::kinds::ObjectKey;

/// An object and the drifted paths being explained for it.
type Job = (ObjectKey, Vec<String>);

/// The fabric's history cache and the objects being explained right now.
#[derive(Debug, Default)]
pub(super) struct Explainer {
    cache: Arc<Mutex<HistoryCache>>,
    running: Arc<Mutex<HashSet<Job>>>,
}

impl Engine {
    /// Answers `Command::Explain(key)` with `EngineEvent::Explained`, computed off the loop.
    pub(super) async fn explain(&mut self, key: ObjectKey) {
        let fabric = self.fabric.name.clone();
        let Some(desired) = self.desired.get(&key).cloned() else {
            let explanation = GitExplanation {
                key: key.clone(),
                commit: String::new(),
                file: String::new(),
                paths: Vec::new(),
                problem: Some(format!(
                    "fabric {fabric}: {key} is not in the synced Git desired set, so Git sets \
                     none of its fields; sync the fabric if it was just added"
                )),
            };
            self.emit(EngineEvent::Explained {
                fabric,
                explanation: Arc::new(explanation),
            })
            .await;
            return;
        };
        let paths: Vec<String> = match self.index.get(&key) {
            Some(Drift::Drifted(diffs)) => diffs.iter().map(|diff| diff.path.clone()).collect(),
            _ => Vec::new(),
        };
        let running = self.explainer.running.clone();
        let job = (key.clone(), paths.clone());
        if !lock(&running).insert(job.clone()) {
            return;
        }
        let cache = self.explainer.cache.clone();
        let git = self.fabric.git.clone();
        let namespaces = self.fabric.namespaces.clone();
        let cache_dir = self.ctx.git_cache_dir.clone();
        let events = self.events.clone();
        tokio::spawn(async move {
            let job_key = key.clone();
            let job_fabric = fabric.clone();
            let explanation = tokio::task::spawn_blocking(move || {
                let source = GitSource {
                    fabric: &job_fabric,
                    url: &git.url,
                    branch: &git.branch,
                    directory: &git.directory,
                    token: None,
                    limits: git.limits,
                };
                lock(&cache).explain(
                    &source,
                    &cache_dir,
                    &namespaces,
                    &job_key,
                    &desired.source,
                    &paths,
                )
            })
            .await;
            lock(&running).remove(&job);
            let explanation = explanation.unwrap_or_else(|error| GitExplanation {
                key: key.clone(),
                commit: String::new(),
                file: String::new(),
                paths: Vec::new(),
                problem: Some(format!(
                    "fabric {fabric}: reading the Git history of {key} failed: {error}"
                )),
            });
            // A listener that went away (UI closed) is not the engine's problem.
            let _ = events
                .send(EngineEvent::Explained {
                    fabric,
                    explanation: Arc::new(explanation),
                })
                .await;
        });
    }
}

/// A poisoned lock only means an earlier lookup panicked; its data is still a valid cache.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
