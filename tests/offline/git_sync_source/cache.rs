//! `file://` remotes cloned into the cache dir: later fetches see new commits, failed fetches
//! leave no broken cache, the cache stays bounded, and each fabric gets its own.

use hhdash::git::{GitError, fetch_snapshot};
use tempfile::TempDir;

use super::{Repo, content, fabric_repo, git, paths, single_cache, source, tree_listing};

#[test]
fn a_file_url_is_cloned_into_the_cache_and_a_second_fetch_sees_the_new_commit() {
    let repo = Repo::new();
    repo.write("fabric/vpc.yaml", "name: one\n");
    repo.commit("one");
    repo.write("fabric/vpc.yaml", "name: two\n");
    let c2 = repo.commit("two");
    let url = repo.file_url();
    let cache = TempDir::new().unwrap();
    let source_listing = tree_listing(repo.path());

    let first = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();
    assert_eq!(first.commit, c2);
    assert_eq!(content(&first, "fabric/vpc.yaml"), "name: two\n");

    let cached = single_cache(cache.path());
    let name = cached.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("lab-"),
        "cache named after the fabric: {name}"
    );
    assert_eq!(git(&cached, &["rev-parse", "--is-bare-repository"]), "true");
    assert_eq!(git(&cached, &["config", "remote.origin.url"]), url);
    // History up to git.history_depth (both commits here), for the Git side of attribution.
    assert_eq!(
        git(
            &cached,
            &["rev-list", "--count", "refs/remotes/origin/main"]
        ),
        "2"
    );
    assert_eq!(
        tree_listing(repo.path()),
        source_listing,
        "the source was written to"
    );

    repo.write("fabric/vpc.yaml", "name: three\n")
        .write("fabric/new.yml", "kind: VPC\n");
    let c3 = repo.commit("three");
    let second = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();
    assert_eq!(second.commit, c3);
    assert_eq!(paths(&second), ["fabric/new.yml", "fabric/vpc.yaml"]);
    assert_eq!(content(&second, "fabric/vpc.yaml"), "name: three\n");
    assert_eq!(
        single_cache(cache.path()),
        cached,
        "the same cache is fetched into"
    );

    // Nothing new upstream: the same commit again, no error.
    let third = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();
    assert_eq!(third, second);

    // A force-push (history rewritten) is followed, as the branch tip is what counts.
    repo.git(&["reset", "-q", "--hard", "HEAD~2"]);
    repo.write("fabric/vpc.yaml", "name: rewritten\n");
    let rewritten = repo.commit("rewritten");
    let fourth = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();
    assert_eq!(fourth.commit, rewritten);
    assert_eq!(content(&fourth, "fabric/vpc.yaml"), "name: rewritten\n");
}

#[test]
fn a_file_url_serves_other_branches_and_reports_missing_ones() {
    let repo = fabric_repo();
    repo.git(&["checkout", "-q", "-b", "staging"]);
    repo.write("fabric/vpcs.yaml", "kind: VPC\nname: staging\n");
    let staging = repo.commit("staging");
    let url = repo.file_url();
    let cache = TempDir::new().unwrap();

    let snapshot = fetch_snapshot(&source(&url, "staging", "fabric"), cache.path()).unwrap();
    assert_eq!(snapshot.commit, staging);
    assert_eq!(
        content(&snapshot, "fabric/vpcs.yaml"),
        "kind: VPC\nname: staging\n"
    );

    let err = fetch_snapshot(&source(&url, "production", "fabric"), cache.path()).unwrap_err();
    let GitError::BranchNotFound {
        existing,
        url: shown,
        ..
    } = &err
    else {
        panic!("expected BranchNotFound, got {err:?}")
    };
    assert_eq!(existing, &["main", "staging"]);
    assert_eq!(shown, &url);
    // The cache still serves the branch that exists.
    let again = fetch_snapshot(&source(&url, "staging", "fabric"), cache.path()).unwrap();
    assert_eq!(again.commit, staging);

    let err = fetch_snapshot(&source(&url, "main", "nope"), cache.path()).unwrap_err();
    assert!(matches!(err, GitError::DirectoryNotFound { .. }), "{err:?}");
}

#[test]
fn a_first_fetch_that_fails_leaves_no_cache_behind() {
    let repo = Repo::new();
    repo.write("fabric/a.yaml", "a: 1\n");
    repo.commit("one");
    let url = repo.file_url();
    let cache = TempDir::new().unwrap();
    let err = fetch_snapshot(&source(&url, "missing", "fabric"), cache.path()).unwrap_err();
    assert!(matches!(err, GitError::BranchNotFound { .. }), "{err:?}");
    assert_eq!(
        std::fs::read_dir(cache.path()).unwrap().count(),
        0,
        "a failed first fetch left files in the cache dir"
    );
}

#[test]
fn a_fetch_that_fails_half_way_leaves_the_cache_usable() {
    let repo = Repo::new();
    repo.write("fabric/a.yaml", "a: 1\n");
    let c1 = repo.commit("one");
    let url = repo.file_url();
    let cache = TempDir::new().unwrap();
    assert_eq!(
        fetch_snapshot(&source(&url, "main", "fabric"), cache.path())
            .unwrap()
            .commit,
        c1
    );

    // A new commit whose blob is missing upstream: the server dies while packing.
    repo.write("fabric/a.yaml", "a: 2 broken\n");
    let c2 = repo.commit("two");
    let blob = repo.git(&["rev-parse", "HEAD:fabric/a.yaml"]);
    let loose = repo
        .path()
        .join(".git/objects")
        .join(&blob[..2])
        .join(&blob[2..]);
    let saved = std::fs::read(&loose).unwrap();
    std::fs::remove_file(&loose).unwrap();

    let err = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap_err();
    assert!(matches!(err, GitError::Transport { .. }), "{err:?}");
    assert!(
        err.to_string().contains("cached copy was left as it was"),
        "{err}"
    );

    // Repaired upstream: the next fetch works from the same cache.
    std::fs::write(&loose, saved).unwrap();
    let after = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();
    assert_eq!(after.commit, c2);
    assert_eq!(content(&after, "fabric/a.yaml"), "a: 2 broken\n");
    let cached = single_cache(cache.path());
    git(&cached, &["fsck", "--no-progress", "--connectivity-only"]);
}

#[test]
fn a_long_running_cache_stays_bounded_on_disk() {
    let repo = Repo::new();
    let url = repo.file_url();
    let cache = TempDir::new().unwrap();
    let (mut most_packs, mut packs) = (0, 0);
    for i in 0..40 {
        repo.write("fabric/counter.yaml", &format!("n: {i}\n"));
        let commit = repo.commit(&format!("sync {i}"));
        let snapshot = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();
        assert_eq!(snapshot.commit, commit);
        assert_eq!(
            content(&snapshot, "fabric/counter.yaml"),
            format!("n: {i}\n")
        );
        packs = std::fs::read_dir(single_cache(cache.path()).join("objects/pack"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "pack")
            })
            .count();
        most_packs = most_packs.max(packs);
    }
    // Every fetch adds a pack; the cache is rebuilt before lookups have to search dozens.
    assert!(most_packs <= 33, "{most_packs} packs");
    assert!(
        packs < 10,
        "the cache was never rebuilt: {packs} packs after 40 fetches"
    );
}

#[test]
fn a_file_url_to_nothing_is_repository_not_found() {
    let nowhere = TempDir::new().unwrap();
    let url = format!("file://{}/missing.git", nowhere.path().display());
    let cache = TempDir::new().unwrap();
    let err = fetch_snapshot(&source(&url, "main", ""), cache.path()).unwrap_err();
    assert!(
        matches!(err, GitError::RepositoryNotFound { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("missing.git"), "{err}");
}

#[test]
fn two_fabrics_on_one_url_get_separate_caches() {
    let repo = fabric_repo();
    let url = repo.file_url();
    let cache = TempDir::new().unwrap();
    let mut east = source(&url, "main", "fabric");
    east.fabric = "east";
    let mut west = source(&url, "main", "fabric");
    west.fabric = "west/1";
    fetch_snapshot(&east, cache.path()).unwrap();
    fetch_snapshot(&west, cache.path()).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names[0].starts_with("east-") && names[1].starts_with("west_1-"),
        "{names:?}"
    );
}
