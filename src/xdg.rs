//! xdg: where hhdash keeps its files by default (XDG base directories), in one place.

use std::path::PathBuf;

fn base(env: &str, fallback: &str) -> PathBuf {
    match std::env::var_os(env) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => home().join(fallback),
    }
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

pub fn config_dir() -> PathBuf {
    base("XDG_CONFIG_HOME", ".config").join("hhdash")
}

pub fn data_dir() -> PathBuf {
    base("XDG_DATA_HOME", ".local/share").join("hhdash")
}

pub fn cache_dir() -> PathBuf {
    base("XDG_CACHE_HOME", ".cache").join("hhdash")
}

pub fn state_dir() -> PathBuf {
    base("XDG_STATE_HOME", ".local/state").join("hhdash")
}

pub fn default_config_file() -> PathBuf {
    config_dir().join("config.toml")
}

pub fn default_store_file() -> PathBuf {
    data_dir().join("hhdash.redb")
}

pub fn default_key_file() -> PathBuf {
    config_dir().join("secret.key")
}

pub fn default_log_file() -> PathBuf {
    state_dir().join("hhdash.log")
}
