//! hhdash: a terminal dashboard for operating Hedgehog Open Network Fabrics.
//!
//! Modules are split by what they own (each says so in its first line):
//! `kinds` (the registry), `config`, `keymap` (the key table config and ui share), `secret`
//! (tokens: the redacted type, the vault, where each token comes from), `xdg` (private default
//! paths), `desired` (Git files → desired set), `bounded_yaml` (one YAML document → JSON within
//! depth and size limits), `git` (fetching), `store` (redb), `status` (vocabulary), `sync` (one
//! Git sync), `time` (the clock and every date format), `natural` (name order), `trust` (when orphans may be named
//! and pruned), `cluster` (a fabric's client), `drift` and `health` (verdicts), `apply` (the
//! one apply core), `engine` (one task per fabric), `review` (the one-shot diff/apply view),
//! `attribution` (who changed a drifted field, on both sides), `cli` (the command line: the dashboard entry and the headless commands), `sanitize`
//! (terminal-safe output), `ui` (the terminal dashboard).

pub mod apply;
pub mod attribution;
pub mod bounded_yaml;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod desired;
pub mod drift;
pub mod engine;
pub mod git;
pub mod health;
pub mod keymap;
pub mod kinds;
pub mod memory;
pub mod natural;
pub mod object;
pub mod review;
pub mod sanitize;
pub mod secret;
pub mod serve;
pub mod status;
pub mod store;
pub mod sync;
pub mod time;
pub mod trust;
pub mod ui;
pub mod xdg;
