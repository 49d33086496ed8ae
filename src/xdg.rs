//! xdg: where hhdash keeps its files by default (XDG base directories), in one place, and how
//! it makes them: private to the user whatever the umask. Directories hhdash creates are 0700
//! (as the XDG spec asks), its own files (store, log) 0600 — they hold private repository
//! contents, cluster objects and encrypted tokens. Directories that already exist are left as
//! they are: a `--store /tmp/x.redb` must not chmod `/tmp`.

use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

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

/// Creates `dir` and any missing parents with mode 0700 (exactly: the umask cannot widen or
/// narrow it). Existing directories are not touched.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_private_dir(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => std::fs::set_permissions(dir, Permissions::from_mode(0o700)),
        // Another process made it in between: fine, it is there.
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(error) => Err(error),
    }
}

/// Makes a file hhdash owns by name (store, log) readable by this user only, whether it was
/// just created or left by an older hhdash under a looser umask.
pub fn make_private(file: &Path) -> io::Result<()> {
    let mode = std::fs::metadata(file)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        std::fs::set_permissions(file, Permissions::from_mode(mode & 0o700))?;
    }
    Ok(())
}

/// Creates `file` (mode 0600) if missing, without truncating it; existing files are made
/// private too.
pub fn create_private_file(file: &Path) -> io::Result<()> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(file)?;
    make_private(file)
}

/// Opens `file` for appending, creating it 0600; an existing one is made private.
pub fn open_private_append(file: &Path) -> io::Result<File> {
    let opened = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(file)?;
    make_private(file)?;
    Ok(opened)
}
