//! Helpers the tests, benchmarks and the demo share, so each exists once: child processes
//! waited for with a deadline ([`command`]), real Git repositories ([`git`]), a real terminal
//! to drive ([`tmux`]) and a process's TCP connections ([`sockets`]). They fail the calling
//! test loudly rather than return errors.

pub mod command;
pub mod git;
pub mod sockets;
pub mod tmux;

pub use command::{
    COMMAND_DEADLINE, SIGINT, SIGTERM, in_shell, run_with_deadline, send_signal, wait_with_deadline,
};
pub use git::{commit_files, git, git_command, repo_with, run_git};
pub use tmux::Tmux;
