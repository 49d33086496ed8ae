//! git::history: which commit last changed the value Git sets at a drifted path, and the
//! path's line in the file — the Git side of drift attribution.
//!
//! The file's history is walked along first parents from the synced commit. A commit whose
//! blob of the file is the blob of its child changed nothing there and costs one tree lookup;
//! only a changed blob is parsed (once per blob, cached), and the object is found in it by
//! key exactly as the sync finds it (namespace defaulting included). The origin of a path is
//! the oldest commit of the unbroken run, back from the synced commit, in which the value at
//! the path equals today's: the commit that set it. When the readable history ends before the
//! value changes — the boundary of a shallow clone, or the walk's bound
//! ([`ReadLimits::history_commits`](super::ReadLimits)) — the origin is the oldest commit
//! read, marked `at_or_before`; a root commit that introduced the value is exact.
//!
//! Results are cached per (commit, file, key, path), parsed blobs per blob id, so asking
//! again (the detail view reopened, `hhdash diff` run twice in one process) is near free.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use gix::bstr::ByteSlice;
use gix::{ObjectId, Repository};
use serde_json::Value;

use super::{Context, GitError, GitSource, UrlKind, classify_url, read, remote};
use crate::attribution::{GitExplanation, GitOrigin, PathExplanation};
use crate::config::Namespaces;
use crate::desired::{self, DesiredSet, locate};
use crate::kinds::ObjectKey;

/// Default of `git.history_commits`: at most this many commits are read per lookup.
pub const DEFAULT_HISTORY_COMMITS: usize = 1000;

/// Past this many parsed blobs or results, a cache starts over (a long-running dashboard
/// must not grow without bound).
const MAX_CACHED_BLOBS: usize = 512;
const MAX_CACHED_RESULTS: usize = 16_384;
/// Commits' first parents and files' blob ids remembered (a few dozen bytes each).
const MAX_CACHED_COMMITS: usize = 200_000;

/// The Git side of one drifted path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PathOrigin {
    pub path: String,
    /// The commit that set the value Git has at the path today (None: Git does not set it).
    pub git: Option<GitOrigin>,
    /// 1-based line of the path in the file at the synced commit.
    pub line: Option<usize>,
}

/// One lookup: an object's drifted paths in its file at the synced commit.
#[derive(Debug, Clone, Copy)]
pub struct HistoryQuery<'a> {
    pub fabric: &'a str,
    /// Full hex id of the synced commit.
    pub commit: &'a str,
    /// The object's file, relative to the repository root.
    pub file: &'a str,
    pub key: &'a ObjectKey,
    pub paths: &'a [String],
    /// The fabric's namespaces, so documents without one are placed as the sync places them.
    pub namespaces: &'a Namespaces,
    /// At most this many commits are read before the walk stops (`at_or_before`).
    pub max_commits: usize,
}

/// Opens the repository a fabric's history is read from: a local path in place (read only),
/// a remote URL's cache clone as the last sync left it (nothing is fetched here).
pub fn open_history(
    source: &GitSource,
    cache_dir: &std::path::Path,
) -> Result<Repository, GitError> {
    let ctx = Context::new(source)?;
    match classify_url(source.url) {
        UrlKind::Local(path) => read::open_local(&ctx, &path),
        UrlKind::Remote(url) => {
            let path = cache_dir.join(remote::cache_name(&ctx.fabric, url));
            if !path.exists() {
                return Err(GitError::NoClone {
                    fabric: ctx.fabric,
                    url: ctx.url,
                });
            }
            gix::open(&path).map_err(|err| GitError::Cache {
                fabric: ctx.fabric.clone(),
                path,
                detail: ctx.detail_gix(&err),
            })
        }
        UrlKind::Invalid(reason) => Err(GitError::InvalidUrl {
            fabric: ctx.fabric,
            url: ctx.url,
            reason,
        }),
    }
}

/// The objects of one blob of a file, by key: (document index, object).
struct ParsedBlob {
    text: String,
    objects: HashMap<ObjectKey, (usize, Value)>,
}

type ResultKey = (String, String, ObjectKey, String);

/// Parsed blobs and finished lookups of one fabric; the engine keeps one per fabric.
#[derive(Default)]
pub struct HistoryCache {
    blobs: HashMap<ObjectId, Arc<ParsedBlob>>,
    results: HashMap<ResultKey, PathOrigin>,
    /// A commit's first parent (None: a root commit).
    parents: HashMap<ObjectId, Option<ObjectId>>,
    /// A file's blob id in a commit (None: no such file there).
    file_blobs: HashMap<(ObjectId, String), Option<ObjectId>>,
}

impl std::fmt::Debug for HistoryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryCache")
            .field("blobs", &self.blobs.len())
            .field("results", &self.results.len())
            .finish()
    }
}

/// A commit the walk stands on: its id and the blob of the file there.
struct Step {
    id: ObjectId,
    blob: ObjectId,
}

impl HistoryCache {
    /// The Git side of an object's drifted `paths` as the engine and `hhdash diff` answer it:
    /// the repository of `source` (see [`open_history`]) read at the object's synced commit.
    /// Never fails: a history that cannot be read becomes the explanation's `problem`, and
    /// each path then keeps at least its line when the file can be read. Blocking.
    pub fn explain(
        &mut self,
        source: &GitSource,
        cache_dir: &std::path::Path,
        namespaces: &Namespaces,
        key: &ObjectKey,
        desired: &desired::Source,
        paths: &[String],
    ) -> GitExplanation {
        let mut explanation = GitExplanation {
            key: key.clone(),
            commit: desired.commit.clone(),
            file: desired.file.clone(),
            paths: paths
                .iter()
                .map(|path| PathExplanation {
                    path: path.clone(),
                    ..Default::default()
                })
                .collect(),
            problem: None,
        };
        if paths.is_empty() {
            return explanation;
        }
        let query = HistoryQuery {
            fabric: source.fabric,
            commit: &desired.commit,
            file: &desired.file,
            key,
            paths,
            namespaces,
            max_commits: source.limits.history_commits,
        };
        let origins = open_history(source, cache_dir).and_then(|repo| self.origins(&repo, &query));
        match origins {
            Ok(origins) => {
                for (explained, origin) in explanation.paths.iter_mut().zip(origins) {
                    explained.git = origin.git;
                    explained.line = origin.line;
                }
            }
            Err(error) => explanation.problem = Some(error.to_string()),
        }
        explanation
    }

    /// The Git side of each of `query.paths`, in order. Blocking (reads the object database):
    /// call it off the async runtime.
    pub fn origins(
        &mut self,
        repo: &Repository,
        query: &HistoryQuery,
    ) -> Result<Vec<PathOrigin>, GitError> {
        let key_of = |path: &str| -> ResultKey {
            (
                query.commit.to_string(),
                query.file.to_string(),
                query.key.clone(),
                path.to_string(),
            )
        };
        let pending: Vec<&String> = query
            .paths
            .iter()
            .filter(|path| !self.results.contains_key(&key_of(path)))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if !pending.is_empty() {
            let found = self.walk(repo, query, &pending)?;
            if self.results.len() + found.len() > MAX_CACHED_RESULTS {
                self.results.clear();
            }
            for origin in found {
                self.results.insert(key_of(&origin.path), origin);
            }
        }
        Ok(query
            .paths
            .iter()
            .map(|path| self.results[&key_of(path)].clone())
            .collect())
    }

    /// Walks the file's first-parent history once for all `paths`.
    fn walk(
        &mut self,
        repo: &Repository,
        query: &HistoryQuery,
        paths: &[&String],
    ) -> Result<Vec<PathOrigin>, GitError> {
        let error = |detail: String| GitError::History {
            fabric: query.fabric.to_string(),
            file: query.file.to_string(),
            commit: query.commit.to_string(),
            detail,
        };
        let start = ObjectId::from_hex(query.commit.as_bytes())
            .map_err(|_| error(format!("{:?} is not a commit id", query.commit)))?;
        let unset = |path: &String| PathOrigin {
            path: path.clone(),
            ..Default::default()
        };
        let Some(blob) = self.blob_in(repo, start, query.file).map_err(&error)? else {
            return Err(error("the file is not in the synced commit".to_string()));
        };
        let parsed = self.parse(repo, blob, query).map_err(&error)?;
        let Some((document, object)) = parsed.objects.get(query.key) else {
            return Ok(paths.iter().map(|path| unset(path)).collect());
        };
        // Per path still walking: (path, today's value, line).
        let mut walking: Vec<(&String, &Value, Option<usize>)> = Vec::new();
        let mut done: Vec<PathOrigin> = Vec::new();
        let path_names: Vec<&str> = paths.iter().map(|path| path.as_str()).collect();
        let lines = locate::lines_of(&parsed.text, *document, &path_names);
        for (path, line) in paths.iter().zip(lines) {
            match locate::value_at(object, path) {
                Some(value) => walking.push((path, value, line)),
                None => done.push(PathOrigin {
                    line,
                    ..unset(path)
                }),
            }
        }
        let shallow: HashSet<ObjectId> = repo
            .shallow_commits()
            .ok()
            .flatten()
            .map(|commits| commits.iter().copied().collect())
            .unwrap_or_default();
        let mut candidate = Step { id: start, blob };
        let mut read = 1;
        while !walking.is_empty() {
            // Where the walk stops, the candidate is the origin of every path still walking.
            let stop = |at_or_before: bool| -> Result<GitOrigin, GitError> {
                describe(repo, candidate.id, at_or_before).map_err(&error)
            };
            let parent = self.first_parent(repo, candidate.id).map_err(&error)?;
            let boundary = match parent {
                None => Some(false),
                Some(_) if shallow.contains(&candidate.id) || read >= query.max_commits => {
                    Some(true)
                }
                Some(parent) if !repo.has_object(parent) => Some(true),
                Some(_) => None,
            };
            if let Some(at_or_before) = boundary {
                let origin = stop(at_or_before)?;
                finish(&mut done, &mut walking, |_| true, &origin);
                break;
            }
            let parent = parent.expect("a boundary was found otherwise");
            read += 1;
            let Some(parent_blob) = self.blob_in(repo, parent, query.file).map_err(&error)? else {
                // The file did not exist before: the candidate created it.
                let origin = stop(false)?;
                finish(&mut done, &mut walking, |_| true, &origin);
                break;
            };
            if parent_blob != candidate.blob {
                let older = self.parse(repo, parent_blob, query).map_err(&error)?;
                let before = older.objects.get(query.key).map(|(_, object)| object);
                let changed = |(path, value, _): &(&String, &Value, Option<usize>)| {
                    before.and_then(|object| locate::value_at(object, path)) != Some(*value)
                };
                if walking.iter().any(changed) {
                    let origin = stop(false)?;
                    finish(&mut done, &mut walking, changed, &origin);
                }
            }
            candidate = Step {
                id: parent,
                blob: parent_blob,
            };
        }
        Ok(done)
    }

    /// A commit's first parent, read once.
    fn first_parent(
        &mut self,
        repo: &Repository,
        commit: ObjectId,
    ) -> Result<Option<ObjectId>, String> {
        if let Some(parent) = self.parents.get(&commit) {
            return Ok(*parent);
        }
        let parent = repo
            .find_commit(commit)
            .map_err(|err| format!("commit {commit}: {err}"))?
            .parent_ids()
            .next()
            .map(|id| id.detach());
        if self.parents.len() >= MAX_CACHED_COMMITS {
            self.parents.clear();
        }
        self.parents.insert(commit, parent);
        Ok(parent)
    }

    /// The blob id of `file` in a commit's tree, read once; None when the commit has no
    /// such file.
    fn blob_in(
        &mut self,
        repo: &Repository,
        commit: ObjectId,
        file: &str,
    ) -> Result<Option<ObjectId>, String> {
        let key = (commit, file.to_string());
        if let Some(blob) = self.file_blobs.get(&key) {
            return Ok(*blob);
        }
        let entry = repo
            .find_commit(commit)
            .and_then(|commit| commit.tree())
            .and_then(|tree| tree.lookup_entry(file.split('/').map(str::as_bytes)))
            .map_err(|err| format!("commit {commit}: {err}"))?;
        let blob = entry
            .filter(|entry| entry.mode().is_blob())
            .map(|entry| entry.object_id());
        if self.file_blobs.len() >= MAX_CACHED_COMMITS {
            self.file_blobs.clear();
        }
        self.file_blobs.insert(key, blob);
        Ok(blob)
    }

    /// The objects of a blob, parsed once.
    fn parse(
        &mut self,
        repo: &Repository,
        blob: ObjectId,
        query: &HistoryQuery,
    ) -> Result<Arc<ParsedBlob>, String> {
        if let Some(parsed) = self.blobs.get(&blob) {
            return Ok(parsed.clone());
        }
        let bytes = repo
            .find_blob(blob)
            .map_err(|err| err.to_string())?
            .detach()
            .data;
        let mut set = DesiredSet::default();
        desired::parse_file(&mut set, query.file, &bytes, query.namespaces, "");
        let objects = set
            .objects
            .into_iter()
            .map(|object| (object.key, (object.source.document, object.object.value())))
            .collect();
        let parsed = Arc::new(ParsedBlob {
            text: String::from_utf8_lossy(&bytes).into_owned(),
            objects,
        });
        if self.blobs.len() >= MAX_CACHED_BLOBS {
            self.blobs.clear();
        }
        self.blobs.insert(blob, parsed.clone());
        Ok(parsed)
    }
}

/// Moves the walking paths that `ends` selects to `done`, with `origin`.
fn finish(
    done: &mut Vec<PathOrigin>,
    walking: &mut Vec<(&String, &Value, Option<usize>)>,
    ends: impl Fn(&(&String, &Value, Option<usize>)) -> bool,
    origin: &GitOrigin,
) {
    walking.retain(|entry| {
        if !ends(entry) {
            return true;
        }
        done.push(PathOrigin {
            path: entry.0.clone(),
            git: Some(origin.clone()),
            line: entry.2,
        });
        false
    });
}

/// A commit as an origin: hash, author, author time and subject.
fn describe(repo: &Repository, id: ObjectId, at_or_before: bool) -> Result<GitOrigin, String> {
    let commit = repo.find_commit(id).map_err(|err| err.to_string())?;
    let author = commit.author().map_err(|err| err.to_string())?;
    let subject = commit
        .message_raw_sloppy()
        .lines()
        .next()
        .map(|line| line.to_str_lossy().trim().to_string())
        .unwrap_or_default();
    Ok(GitOrigin {
        commit: id.to_hex().to_string(),
        author: author.name.to_str_lossy().into_owned(),
        time: author.seconds(),
        subject,
        at_or_before,
    })
}
