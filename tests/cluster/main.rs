//! Integration tests against a real control plane (testenv's kube-apiserver and etcd): the CLI
//! and the engine against a cluster, connection and server faults, pruning, the admission
//! webhook, hostile Git contents, secrets and terminal safety of what the cluster returns.
//!
//! One test binary, so kube, gix and ratatui are linked once rather than once per file; each
//! module is a former `tests/<name>.rs`, moved unchanged. `testenv::shared()` is one control
//! plane per binary, so they all share it: each test works in a namespace of its own (no two
//! modules use the same one), and the tests that stop, freeze or expire a server start a
//! private plane for it. Signals go to child processes only; no test sets environment
//! variables or changes directory.

// Shared with tests/offline.rs and tests/e2e.rs.
#[path = "../common/mod.rs"]
mod common;

mod apply_outage;
mod apply_ranks;
mod attribution;
mod cluster_cli;
mod cluster_deadlink;
mod cluster_errors;
mod cluster_faults;
mod cluster_flow;
mod cluster_prune;
mod cluster_webhook;
mod examples;
mod gateway_samples;
mod git_origin;
mod health;
mod health_sim;
mod hostile_git;
mod namespaces;
mod one_connection;
mod secrets;
mod serve;
mod serve_cli;
mod terminal_safety;
mod timeline;
mod watch_signals;
