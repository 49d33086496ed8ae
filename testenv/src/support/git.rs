//! Real Git repositories for tests, benchmarks and the demo: git run with a fixed identity and
//! default branch, whatever the machine's or the user's git config says.

use std::path::Path;
use std::process::Command;

use super::command::{COMMAND_DEADLINE, run_with_deadline};

/// `git` in `repo` with `main` as the default branch, no signing, a fixed identity and neither
/// the user's nor the system's config. Add arguments (and environment) and run it with
/// [`run_git`], or as a `tokio::process::Command` (it converts with `From`).
pub fn git_command(repo: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .current_dir(repo)
        .env("GIT_AUTHOR_NAME", "hhdash tests")
        .env("GIT_AUTHOR_EMAIL", "tests@hhdash.invalid")
        .env("GIT_COMMITTER_NAME", "hhdash tests")
        .env("GIT_COMMITTER_EMAIL", "tests@hhdash.invalid")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    command
}

/// Runs a [`git_command`] within [`COMMAND_DEADLINE`]; fails the test with git's stderr unless
/// it succeeds. Returns its stdout, trimmed.
pub fn run_git(command: &mut Command) -> String {
    let output = run_with_deadline(command, COMMAND_DEADLINE);
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Runs `git args…` in `repo` (see [`git_command`]); returns its stdout, trimmed.
pub fn git(repo: &Path, args: &[&str]) -> String {
    run_git(git_command(repo).args(args))
}

/// A fresh repository with one commit of `files` (path → content); returns the commit id.
pub fn repo_with(dir: &Path, files: &[(&str, &[u8])]) -> String {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q"]);
    commit_files(dir, files, "initial")
}

/// Writes `files` and commits everything; returns the new commit id.
pub fn commit_files(dir: &Path, files: &[(&str, &[u8])], message: &str) -> String {
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}
