//! End-to-end tests in a real terminal (tmux): the dashboard against a real control plane and
//! Git repository (also over SSH), and `scripts/demo` as a user runs it.
//!
//! One test binary; each module is a former `tests/<name>.rs`, moved unchanged. Each test runs
//! its own tmux server (`testenv::support::Tmux`), so they can run side by side.

// Shared with tests/offline.rs and tests/cluster.rs.
#[path = "../common/mod.rs"]
mod common;

mod demo_tmux;
mod ui_e2e_tmux;
