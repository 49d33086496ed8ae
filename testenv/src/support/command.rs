//! Child processes a test waits for with a deadline: a hang becomes a failure that shows what
//! the process printed, never a stuck test run.

use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The most any one-shot hhdash or git command of the tests may take. Far above what any takes;
/// it turns a hang into a failure that shows what the process printed.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(120);

/// Collects a pipe in a thread, into a buffer readable while the process still runs.
fn collect(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = buffer.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    buffer
}

/// Waits for `child` at most `deadline`, collecting its stdout and stderr if they are piped
/// (take them out first to read them yourself). On the deadline the child is killed and the
/// test fails with `what` and everything the child printed so far.
pub fn wait_with_deadline(mut child: Child, deadline: Duration, what: &str) -> Output {
    let stdout = child.stdout.take().map(collect);
    let stderr = child.stderr.take().map(collect);
    let take = |buffer: &Option<Arc<Mutex<Vec<u8>>>>| {
        buffer
            .as_ref()
            .map(|b| b.lock().unwrap().clone())
            .unwrap_or_default()
    };
    let end = Instant::now() + deadline;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for a child process") {
            // The pipes close with the process; give the readers a moment to drain them.
            let drained = Instant::now() + Duration::from_secs(5);
            let open = |b: &Option<Arc<Mutex<Vec<u8>>>>| {
                b.as_ref().is_some_and(|b| Arc::strong_count(b) > 1)
            };
            while (open(&stdout) || open(&stderr)) && Instant::now() < drained {
                std::thread::sleep(Duration::from_millis(5));
            }
            return Output {
                status,
                stdout: take(&stdout),
                stderr: take(&stderr),
            };
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{what}: still running after {deadline:?}; killed it. It printed:\n--- stdout\n{}\n--- stderr\n{}",
                String::from_utf8_lossy(&take(&stdout)),
                String::from_utf8_lossy(&take(&stderr))
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `command` (stdin empty, stdout and stderr captured) like `Command::output`, but fails
/// the test with what it printed if it is not done within `deadline`.
pub fn run_with_deadline(command: &mut Command, deadline: Duration) -> Output {
    let what = format!("{command:?}");
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    wait_with_deadline(child, deadline, &what)
}

/// `command` (program, arguments, environment, directory) run by `sh -c '<setup> && exec …'`,
/// for what only a shell sets up for its child: `umask 022`, `ulimit -v 2097152`.
pub fn in_shell(setup: &str, command: &Command) -> Command {
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg(format!("{setup} && exec \"$0\" \"$@\""))
        .arg(command.get_program())
        .args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => shell.env(key, value),
            None => shell.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        shell.current_dir(dir);
    }
    shell
}

/// Sends `signal` (e.g. [`SIGINT`], [`SIGTERM`]) to a process of this test; fails the test if
/// it cannot.
pub fn send_signal(pid: u32, signal: i32) {
    // SAFETY: plain kill(2) on a process this test started and has not reaped.
    let result = unsafe { libc::kill(pid as libc::pid_t, signal) };
    assert_eq!(result, 0, "kill({pid}, {signal}) failed");
}

pub const SIGINT: i32 = libc::SIGINT;
pub const SIGTERM: i32 = libc::SIGTERM;
