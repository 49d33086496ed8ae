//! One control plane shared by all tests of a test binary.
//!
//! A `static` is never dropped, so the shared plane registers an `atexit`
//! hook that kills its processes and removes its temp dir when the test
//! binary exits (and `PR_SET_PDEATHSIG` covers a killed test binary).

use std::path::PathBuf;
use std::sync::Mutex;

use tokio::sync::OnceCell;

use crate::{ControlPlane, Error};

static SHARED: OnceCell<ControlPlane> = OnceCell::const_new();
static CLEANUP: Mutex<Vec<(Vec<u32>, PathBuf)>> = Mutex::new(Vec::new());

/// The control plane shared by this process, started with
/// [`Options::default`](crate::Options) on first use. Give every test its own
/// namespace ([`ControlPlane::grant`]) so tests can run in parallel. It cannot
/// be stopped or restarted; start a private [`ControlPlane`] for fault tests.
///
/// If starting fails, the error is returned and the next caller tries again.
pub async fn shared() -> Result<&'static ControlPlane, Error> {
    SHARED
        .get_or_try_init(|| async {
            let plane = ControlPlane::start().await?;
            register_cleanup(plane.pids(), plane.dir().to_path_buf());
            Ok(plane)
        })
        .await
}

fn register_cleanup(pids: Vec<u32>, dir: PathBuf) {
    let mut list = CLEANUP.lock().unwrap_or_else(|e| e.into_inner());
    if list.is_empty() {
        // SAFETY: registering a plain `extern "C"` function.
        unsafe {
            libc::atexit(cleanup_at_exit);
        }
    }
    list.push((pids, dir));
}

extern "C" fn cleanup_at_exit() {
    let Ok(list) = CLEANUP.try_lock() else {
        return;
    };
    let keep = std::env::var_os("HHDASH_TESTENV_KEEP").is_some();
    for (pids, dir) in list.iter() {
        for &pid in pids.iter().rev() {
            // SAFETY: kill and reap our own children.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
                libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), 0);
            }
        }
        if keep {
            let _ = std::fs::remove_file(dir.join("owner.pid"));
        } else {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
