//! Local work trees and bare repositories read in place: which files a snapshot holds, branches,
//! deletions, and the errors for a missing branch, directory or repository.

use hhdash::git::{GitError, fetch_snapshot};
use tempfile::TempDir;

use super::{Repo, content, fabric_repo, git, paths, source, tree_listing};

#[test]
fn reads_yaml_and_yml_under_nested_directory_and_ignores_everything_else() {
    let repo = fabric_repo();
    let url = repo.url();
    let cache = TempDir::new().unwrap();
    let snapshot = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();

    assert_eq!(snapshot.commit, repo.git(&["rev-parse", "HEAD"]));
    assert_eq!(
        paths(&snapshot),
        [
            "fabric/vpcs.yaml",
            "fabric/wiring/leaf/connections.yaml",
            "fabric/wiring/switches.yml",
        ]
    );
    assert_eq!(
        content(&snapshot, "fabric/wiring/switches.yml"),
        "kind: Switch\n"
    );
    assert_eq!(
        content(&snapshot, "fabric/wiring/leaf/connections.yaml"),
        "kind: Connection\n"
    );
    // Local paths are read in place: nothing is cached for them.
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
}

#[test]
fn root_and_dotted_directories_read_the_whole_tree() {
    let repo = fabric_repo();
    let url = repo.url();
    let cache = TempDir::new().unwrap();
    for directory in ["", ".", "./", "fabric/..x/../"] {
        if directory.contains("..") {
            // A path that climbs is refused even when it would end up inside the repository.
            let err = fetch_snapshot(&source(&url, "main", directory), cache.path()).unwrap_err();
            assert!(matches!(err, GitError::InvalidDirectory { .. }), "{err}");
            assert!(err.to_string().contains("git.directory"), "{err}");
            continue;
        }
        let snapshot = fetch_snapshot(&source(&url, "main", directory), cache.path()).unwrap();
        assert_eq!(
            paths(&snapshot),
            [
                "fabric/vpcs.yaml",
                "fabric/wiring/leaf/connections.yaml",
                "fabric/wiring/switches.yml",
                "other/elsewhere.yaml",
                "top.yaml",
            ],
            "directory {directory:?}"
        );
    }
    let nested = fetch_snapshot(&source(&url, "main", "./fabric/wiring/"), cache.path()).unwrap();
    assert_eq!(
        paths(&nested),
        [
            "fabric/wiring/leaf/connections.yaml",
            "fabric/wiring/switches.yml"
        ]
    );
}

#[test]
fn each_branch_is_read_at_its_own_tip() {
    let repo = Repo::new();
    repo.write("fabric/vpc.yaml", "name: blue\n");
    let first = repo.commit("blue");
    repo.git(&["checkout", "-q", "-b", "staging"]);
    repo.write("fabric/vpc.yaml", "name: green\n")
        .write("fabric/extra.yml", "kind: Server\n");
    let staging = repo.commit("green on staging");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("fabric/vpc.yaml", "name: red\n");
    let main = repo.commit("red on main");
    assert_ne!(first, main);

    let url = repo.url();
    let cache = TempDir::new().unwrap();
    let on_main = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();
    let on_staging = fetch_snapshot(&source(&url, "staging", "fabric"), cache.path()).unwrap();
    let full_ref =
        fetch_snapshot(&source(&url, "refs/heads/staging", "fabric"), cache.path()).unwrap();

    assert_eq!(on_main.commit, main);
    assert_eq!(paths(&on_main), ["fabric/vpc.yaml"]);
    assert_eq!(content(&on_main, "fabric/vpc.yaml"), "name: red\n");
    assert_eq!(on_staging.commit, staging);
    assert_eq!(paths(&on_staging), ["fabric/extra.yml", "fabric/vpc.yaml"]);
    assert_eq!(content(&on_staging, "fabric/vpc.yaml"), "name: green\n");
    assert_eq!(full_ref, on_staging);
}

#[test]
fn a_deleted_file_is_gone_from_the_later_snapshot_and_the_repository_is_not_touched() {
    let repo = Repo::new();
    repo.write("fabric/a.yaml", "a: 1\n")
        .write("fabric/b.yaml", "b: 1\n");
    let first = repo.commit("two files");
    let url = repo.url();
    let cache = TempDir::new().unwrap();
    let before = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();
    assert_eq!(before.commit, first);
    assert_eq!(paths(&before), ["fabric/a.yaml", "fabric/b.yaml"]);

    repo.remove("fabric/b.yaml");
    repo.write("fabric/a.yaml", "a: 2\n");
    let second = repo.commit("drop b, change a");
    // Uncommitted work is not what the branch says: it must not show up.
    repo.write("fabric/uncommitted.yaml", "x: 1\n");

    let listing = tree_listing(repo.path());
    let after = fetch_snapshot(&source(&url, "main", "fabric"), cache.path()).unwrap();
    assert_eq!(after.commit, second);
    assert_eq!(paths(&after), ["fabric/a.yaml"]);
    assert_eq!(content(&after, "fabric/a.yaml"), "a: 2\n");
    assert_eq!(
        tree_listing(repo.path()),
        listing,
        "reading wrote into the user's repository"
    );
}

#[test]
fn a_bare_repository_path_is_read_in_place() {
    let repo = fabric_repo();
    let bare = TempDir::new().unwrap();
    let bare_path = bare.path().join("fabric.git");
    git(
        bare.path(),
        &[
            "clone",
            "-q",
            "--bare",
            repo.path().to_str().unwrap(),
            bare_path.to_str().unwrap(),
        ],
    );
    let url = bare_path.to_str().unwrap();
    let cache = TempDir::new().unwrap();
    let snapshot = fetch_snapshot(&source(url, "main", "fabric/wiring"), cache.path()).unwrap();
    assert_eq!(snapshot.commit, repo.git(&["rev-parse", "HEAD"]));
    assert_eq!(
        paths(&snapshot),
        [
            "fabric/wiring/leaf/connections.yaml",
            "fabric/wiring/switches.yml"
        ]
    );
}

#[test]
fn a_missing_branch_names_the_branches_that_exist() {
    let repo = fabric_repo();
    repo.git(&["branch", "staging"]);
    repo.git(&["branch", "feature/vpc-peering"]);
    let url = repo.url();
    let cache = TempDir::new().unwrap();
    let err = fetch_snapshot(&source(&url, "mian", "fabric"), cache.path()).unwrap_err();
    match &err {
        GitError::BranchNotFound {
            fabric,
            branch,
            existing,
            more,
            ..
        } => {
            assert_eq!(fabric, "lab");
            assert_eq!(branch, "mian");
            assert_eq!(existing, &["feature/vpc-peering", "main", "staging"]);
            assert_eq!(*more, 0);
        }
        other => panic!("expected BranchNotFound, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("\"mian\""), "{text}");
    assert!(
        text.contains("feature/vpc-peering, main, staging"),
        "{text}"
    );
    assert!(text.contains("git.branch"), "{text}");
}

#[test]
fn many_branches_are_listed_up_to_ten() {
    let repo = fabric_repo();
    for i in 0..14 {
        repo.git(&["branch", &format!("b{i:02}")]);
    }
    let url = repo.url();
    let cache = TempDir::new().unwrap();
    let err = fetch_snapshot(&source(&url, "nope", ""), cache.path()).unwrap_err();
    let GitError::BranchNotFound { existing, more, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(existing.len(), 10);
    assert_eq!(*more, 5, "15 branches, 10 shown");
    assert!(err.to_string().contains("(and 5 more)"), "{err}");
}

#[test]
fn a_missing_directory_or_a_file_in_its_place_is_reported_with_the_commit() {
    let repo = fabric_repo();
    let head = repo.git(&["rev-parse", "HEAD"]);
    let url = repo.url();
    let cache = TempDir::new().unwrap();

    let err = fetch_snapshot(&source(&url, "main", "fabrik"), cache.path()).unwrap_err();
    let GitError::DirectoryNotFound {
        directory, commit, ..
    } = &err
    else {
        panic!("expected DirectoryNotFound, got {err:?}")
    };
    assert_eq!(directory, "fabrik");
    assert_eq!(commit, &head);
    let text = err.to_string();
    assert!(
        text.contains("directory \"fabrik\" does not exist"),
        "{text}"
    );
    assert!(text.contains(&head) && text.contains("\"main\""), "{text}");

    let err = fetch_snapshot(&source(&url, "main", "fabric/vpcs.yaml"), cache.path()).unwrap_err();
    assert!(matches!(err, GitError::NotADirectory { .. }), "{err:?}");
    assert!(
        err.to_string().contains("is a file, not a directory"),
        "{err}"
    );
}

#[test]
fn a_local_path_that_is_not_a_repository_is_a_clear_error() {
    let plain = TempDir::new().unwrap();
    std::fs::write(plain.path().join("vpc.yaml"), "kind: VPC\n").unwrap();
    let url = plain.path().to_str().unwrap();
    let cache = TempDir::new().unwrap();

    let err = fetch_snapshot(&source(url, "main", ""), cache.path()).unwrap_err();
    assert!(
        matches!(err, GitError::RepositoryNotFound { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("not a git repository"), "{text}");
    assert!(text.contains(url) && text.contains("fabric lab"), "{text}");

    let missing = plain.path().join("does-not-exist");
    let err =
        fetch_snapshot(&source(missing.to_str().unwrap(), "main", ""), cache.path()).unwrap_err();
    assert!(
        matches!(err, GitError::RepositoryNotFound { .. }),
        "{err:?}"
    );

    let file = plain.path().join("vpc.yaml");
    let err =
        fetch_snapshot(&source(file.to_str().unwrap(), "main", ""), cache.path()).unwrap_err();
    assert!(err.to_string().contains("is a file"), "{err}");

    // A directory inside a repository is not the repository: no silent discovery upwards.
    let repo = fabric_repo();
    let inside = repo.path().join("fabric");
    let err =
        fetch_snapshot(&source(inside.to_str().unwrap(), "main", ""), cache.path()).unwrap_err();
    assert!(
        matches!(err, GitError::RepositoryNotFound { .. }),
        "{err:?}"
    );
}

#[test]
fn invalid_branch_and_url_are_refused_before_any_io() {
    let cache = TempDir::new().unwrap();
    let err = fetch_snapshot(&source("/nonexistent", "bad..name", ""), cache.path()).unwrap_err();
    assert!(matches!(err, GitError::InvalidBranch { .. }), "{err:?}");
    assert!(err.to_string().contains("git.branch"), "{err}");

    let err = fetch_snapshot(
        &source("ftp://example.invalid/r.git", "main", ""),
        cache.path(),
    )
    .unwrap_err();
    assert!(matches!(err, GitError::InvalidUrl { .. }), "{err:?}");
    assert!(err.to_string().contains("git.url"), "{err}");
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
}
