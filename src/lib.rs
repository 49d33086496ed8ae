//! hhdash: a terminal dashboard for operating Hedgehog Open Network Fabrics.
//!
//! Modules are split by what they own (each says so in its first line):
//! `kinds` (the registry), `config`, `secret` and `vault` (tokens), `desired` (Git files →
//! desired set), `bounded_yaml` (one YAML document → JSON within depth and size limits), `git`
//! (fetching), `store` (redb), `status` (vocabulary), `sync` (one Git sync), `cli` (headless
//! commands), `ui` (the terminal dashboard).

pub mod bounded_yaml;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod desired;
pub mod drift;
pub mod engine;
pub mod git;
pub mod headless;
pub mod health;
pub mod kinds;
pub mod review;
pub mod sanitize;
pub mod secret;
pub mod status;
pub mod store;
pub mod sync;
pub mod trust;
pub mod ui;
pub mod vault;
pub mod xdg;
