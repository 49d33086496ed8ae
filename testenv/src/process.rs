//! Child processes (etcd, kube-apiserver): spawning so they die with the test
//! process, logging to files, readiness polling, free loopback ports.
//!
//! `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits, not
//! the process. Test harnesses and tokio run code on short-lived threads, so
//! every child is forked by one dedicated spawner thread that lives as long as
//! the process. A SIGKILLed test process therefore takes its control planes
//! with it, and a control plane kept in a static outlives the test that made it.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::Error;

type SpawnRequest = (Command, mpsc::Sender<std::io::Result<Child>>);

fn spawner() -> &'static Mutex<mpsc::Sender<SpawnRequest>> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("testenv-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("starting the testenv spawner thread");
        Mutex::new(tx)
    })
}

/// Make `cmd` die with this process: `PR_SET_PDEATHSIG(SIGKILL)`, and its own
/// process group so a terminal's Ctrl-C reaches only the harness, which then
/// tears down in order.
pub(crate) fn die_with_parent(cmd: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure only calls async-signal-safe libc functions.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            libc::setpgid(0, 0);
            Ok(())
        });
    }
}

/// A running child process with its log file.
#[derive(Debug)]
pub(crate) struct Proc {
    pub what: &'static str,
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    /// Spawn `program args` with stdout and stderr appended to `log`.
    pub fn spawn(
        what: &'static str,
        program: &Path,
        args: &[String],
        log: &Path,
    ) -> Result<Proc, Error> {
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(Error::io(format!("opening log {}", log.display())))?;
        let err = out
            .try_clone()
            .map_err(Error::io(format!("opening log {}", log.display())))?;
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null()).stdout(out).stderr(err);
        die_with_parent(&mut cmd);
        let (tx, rx) = mpsc::channel();
        spawner()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send((cmd, tx))
            .expect("testenv spawner thread is running");
        let child = rx
            .recv()
            .expect("testenv spawner thread replies")
            .map_err(Error::io(format!("starting {}", program.display())))?;
        Ok(Proc {
            what,
            child,
            log: log.to_path_buf(),
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Err(ProcessExited)` if the process has exited.
    pub fn check_alive(&mut self) -> Result<(), Error> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(Error::ProcessExited {
                what: self.what,
                status: status.to_string(),
                log: self.log.clone(),
                tail: log_tail(&self.log),
            }),
            Err(e) => Err(Error::io(format!("checking {}", self.what))(e)),
        }
    }

    /// SIGKILL the process and reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM the process, wait up to `grace` for it to exit, then SIGKILL.
    pub async fn terminate(&mut self, grace: Duration) {
        // SAFETY: plain kill(2) on our own, not yet reaped, child.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = tokio::time::Instant::now() + grace;
        while tokio::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.kill();
    }

    /// An error saying the process did not get ready in time.
    pub fn not_ready(&self, timeout: Duration, last: String) -> Error {
        Error::NotReady {
            what: self.what.to_string(),
            timeout,
            last,
            log: self.log.clone(),
            tail: log_tail(&self.log),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last lines (up to about 8 KiB, at most 40 lines) of a log file.
pub fn log_tail(path: &Path) -> String {
    const MAX: u64 = 8192;
    let Ok(mut file) = File::open(path) else {
        return format!("(cannot open {})", path.display());
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(MAX)));
    let mut buf = Vec::new();
    let _ = file.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(40);
    lines[start..].join("\n")
}

/// `n` distinct free loopback TCP ports, never handed out before by this
/// process. The caller retries on the (rare) race with another process.
pub(crate) fn free_ports(n: usize) -> Result<Vec<u16>, Error> {
    static USED: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut used = USED.lock().unwrap_or_else(|e| e.into_inner());
    let used = used.get_or_insert_with(HashSet::new);
    let mut listeners = Vec::new();
    let mut ports = Vec::new();
    while ports.len() < n {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(Error::io("binding a free loopback port"))?;
        let port = listener
            .local_addr()
            .map_err(Error::io("reading a bound port"))?
            .port();
        // Keep every listener open until all ports are chosen so they differ.
        listeners.push(listener);
        if used.insert(port) {
            ports.push(port);
        }
    }
    Ok(ports)
}

/// Whether a log tail says a port was taken (the race `free_ports` leaves open).
pub(crate) fn is_port_conflict(err: &Error) -> bool {
    match err {
        Error::ProcessExited { tail, .. } | Error::NotReady { tail, .. } => {
            tail.contains("address already in use")
        }
        _ => false,
    }
}
