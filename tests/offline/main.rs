//! Integration tests that start no control plane: the CLI without a cluster, Git sources, the
//! store and sync history, YAML parsing (fuzzed) and drift properties, the shared samples, and
//! the dashboard rendered to a test backend (behaviour and snapshots).
//!
//! One test binary for all of them, so kube, gix and ratatui are linked once rather than once
//! per file; each module is a former `tests/<name>.rs`, moved unchanged. They share no
//! process-wide state: no test sets environment variables, changes directory or installs a
//! signal handler (children get their own environment through `Command`).

// Shared with tests/cluster.rs and tests/e2e.rs.
#[path = "../common/mod.rs"]
mod common;
mod health_fixture;
mod ui_fixture;

mod cli;
mod drift_properties;
mod git_history;
mod git_sync_source;
mod health_config;
mod health_model;
mod history;
mod parse_fuzz;
mod samples;
mod sync_crash;
mod sync_history;
mod ui_behaviour;
mod ui_fleet;
mod ui_health;
mod ui_history;
mod ui_snapshots;
