//! Reading from an opened repository: branch tips, and the manifest blobs under a directory.

use std::path::Path;

use gix::bstr::ByteSlice;
use gix::objs::tree::EntryKind;
use gix::{ObjectId, Repository};

use super::{Context, GitError, ReadLimits, Snapshot, SourceFile};

/// At most this many existing branches are named in a "branch not found" error.
pub(super) const BRANCHES_SHOWN: usize = 10;

/// Opens a local work tree or bare repository in place. Nothing is written to it: no fetch, no
/// index refresh, no reflog.
pub(super) fn open_local(ctx: &Context, path: &Path) -> Result<Repository, GitError> {
    let not_found = |detail: String| GitError::RepositoryNotFound {
        fabric: ctx.fabric.clone(),
        url: ctx.url.clone(),
        detail,
    };
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(not_found("it is a file, not a directory".to_owned())),
        Err(err) => return Err(not_found(ctx.detail(&err))),
    }
    // Only the path itself is accepted (no discovery upwards), so a typo cannot silently pick up
    // an enclosing repository such as the operator's dotfiles.
    gix::open_opts(path, gix::open::Options::default().strict_config(false)).map_err(|err| {
        let detail = if err.is_not_found() {
            "it is not a git repository".to_owned()
        } else {
            ctx.detail_gix(&err)
        };
        not_found(detail)
    })
}

/// The commit `refs/heads/<branch>` points to (peeling annotated tags, should one be stored there).
pub(super) fn local_branch_tip(ctx: &Context, repo: &Repository) -> Result<ObjectId, GitError> {
    let name = format!("refs/heads/{}", ctx.branch);
    let reference = repo
        .try_find_reference(name.as_str())
        .map_err(|err| read_error(ctx, "", &name, &err))?;
    let Some(mut reference) = reference else {
        let (existing, more) = local_branches(repo);
        return Err(GitError::BranchNotFound {
            fabric: ctx.fabric.clone(),
            url: ctx.url.clone(),
            branch: ctx.branch.clone(),
            existing,
            more,
        });
    };
    let commit = reference
        .peel_to_commit()
        .map_err(|err| read_error(ctx, "", &name, &err))?;
    Ok(commit.id)
}

/// Sorted short names of the local branches, the first [`BRANCHES_SHOWN`], and how many more.
pub(super) fn local_branches(repo: &Repository) -> (Vec<String>, usize) {
    let mut names: Vec<String> = repo
        .references()
        .ok()
        .and_then(|platform| {
            platform.local_branches().ok().map(|iter| {
                iter.filter_map(Result::ok)
                    .map(|r| r.name().shorten().to_string())
                    .collect()
            })
        })
        .unwrap_or_default();
    truncate_names(&mut names)
}

pub(super) fn truncate_names(names: &mut Vec<String>) -> (Vec<String>, usize) {
    names.sort();
    names.dedup();
    let more = names.len().saturating_sub(BRANCHES_SHOWN);
    names.truncate(BRANCHES_SHOWN);
    (std::mem::take(names), more)
}

/// Reads the manifests under `directory` in the tree of `commit`.
pub(super) fn snapshot(
    ctx: &Context,
    repo: &Repository,
    commit: ObjectId,
    directory: &[String],
    limits: ReadLimits,
) -> Result<Snapshot, GitError> {
    let commit_hex = commit.to_hex().to_string();
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(|err| read_error(ctx, &commit_hex, "the commit's tree", &err))?;

    let dir_tree = if directory.is_empty() {
        tree
    } else {
        let shown = directory.join("/");
        let entry = tree
            .lookup_entry(directory.iter().map(|c| c.as_bytes()))
            .map_err(|err| read_error(ctx, &commit_hex, &format!("directory {shown:?}"), &err))?;
        let entry = entry.ok_or_else(|| GitError::DirectoryNotFound {
            fabric: ctx.fabric.clone(),
            url: ctx.url.clone(),
            branch: ctx.branch.clone(),
            directory: shown.clone(),
            commit: commit_hex.clone(),
        })?;
        if !entry.mode().is_tree() {
            return Err(GitError::NotADirectory {
                fabric: ctx.fabric.clone(),
                url: ctx.url.clone(),
                branch: ctx.branch.clone(),
                directory: shown,
                commit: commit_hex,
            });
        }
        entry
            .object()
            .map_err(|err| read_error(ctx, &commit_hex, &format!("directory {shown:?}"), &err))?
            .into_tree()
    };

    let mut recorder = gix::traverse::tree::Recorder::default();
    dir_tree
        .traverse()
        .breadthfirst(&mut recorder)
        .map_err(|err| read_error(ctx, &commit_hex, "the directory's trees", &err))?;

    let prefix = if directory.is_empty() {
        String::new()
    } else {
        format!("{}/", directory.join("/"))
    };
    let mut wanted: Vec<(String, ObjectId)> = recorder
        .records
        .into_iter()
        .filter(|entry| {
            matches!(
                entry.mode.kind(),
                EntryKind::Blob | EntryKind::BlobExecutable
            )
        })
        .filter(|entry| is_manifest(entry.filepath.as_bytes()))
        .map(|entry| {
            (
                format!("{prefix}{}", entry.filepath.to_str_lossy()),
                entry.oid,
            )
        })
        .collect();
    wanted.sort_by(|a, b| a.0.cmp(&b.0));

    // Sizes come from object headers, so nothing over a limit is ever loaded into memory.
    let mut sized = Vec::with_capacity(wanted.len());
    let mut too_large = Vec::new();
    for (path, oid) in wanted {
        let size = repo
            .find_header(oid)
            .map_err(|err| read_error(ctx, &commit_hex, &format!("file {path:?}"), &err))?
            .size();
        if size > limits.max_file_bytes {
            too_large.push((path, size));
        } else {
            sized.push((path, oid, size));
        }
    }
    let total: u64 = sized.iter().map(|(_, _, size)| size).sum();
    if total > limits.max_sync_bytes {
        let mut largest: Vec<(String, u64)> = sized
            .iter()
            .map(|(path, _, size)| (path.clone(), *size))
            .collect();
        largest.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        largest.truncate(3);
        return Err(GitError::SyncTooLarge {
            fabric: ctx.fabric.clone(),
            url: ctx.url.clone(),
            commit: commit_hex,
            total,
            limit: limits.max_sync_bytes,
            largest,
        });
    }

    let mut files = Vec::with_capacity(sized.len());
    for (path, oid, _) in sized {
        let blob = repo
            .find_blob(oid)
            .map_err(|err| read_error(ctx, &commit_hex, &format!("file {path:?}"), &err))?;
        files.push(SourceFile {
            path,
            bytes: blob.detach().data,
        });
    }
    Ok(Snapshot {
        commit: commit_hex,
        files,
        too_large,
    })
}

/// `*.yaml` / `*.yml`, not hidden and not under a hidden directory (CI configs such as
/// `.github/workflows/x.yml` or `.gitlab-ci.yml` are never fabric manifests).
fn is_manifest(path: &[u8]) -> bool {
    let hidden = path
        .split(|b| *b == b'/')
        .any(|component| component.starts_with(b"."));
    !hidden && (path.ends_with(b".yaml") || path.ends_with(b".yml"))
}

fn read_error(ctx: &Context, commit: &str, what: &str, err: &gix::Error) -> GitError {
    GitError::Read {
        fabric: ctx.fabric.clone(),
        url: ctx.url.clone(),
        at: if commit.is_empty() {
            format!("branch {:?}", ctx.branch)
        } else {
            format!("commit {commit}")
        },
        what: what.to_owned(),
        detail: ctx.detail_gix(err),
    }
}

#[cfg(test)]
mod tests {
    use super::is_manifest;

    #[test]
    fn manifest_filter() {
        assert!(is_manifest(b"a/b.yaml"));
        assert!(is_manifest(b"b.yml"));
        assert!(!is_manifest(b"b.json"));
        assert!(!is_manifest(b"b.YAML"));
        assert!(!is_manifest(b".github/workflows/ci.yml"));
        assert!(!is_manifest(b"a/.hidden.yaml"));
        assert!(!is_manifest(b"yaml"));
    }
}
