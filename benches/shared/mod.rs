//! What several benches share: creating fixture objects in a real control plane, measuring a
//! child process (wait4's rusage, its RESULT line) and reading this process's own memory, and
//! the knobs' and tables' small helpers. Included with
//! `#[path]` by each bench that needs it; each uses a part, hence the allow.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use hhdash::{cluster, kinds};
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::Value;
use testenv::ControlPlane;

/// A control plane with `namespaces`, without the webhook imitation (creating tens of
/// thousands of objects through it takes minutes, and what these benches measure does not
/// depend on it), within 300 s.
pub async fn start_plane(namespaces: Vec<String>) -> ControlPlane {
    tokio::time::timeout(
        Duration::from_secs(300),
        ControlPlane::start_with(testenv::Options {
            namespaces,
            webhook: false,
            ..Default::default()
        }),
    )
    .await
    .expect("the control plane did not start within 300 s")
    .expect("starting the control plane (scripts/build-control-plane builds it)")
}

/// Creates `objects` in namespace `ns`, 32 at a time, rank after rank (what must exist first
/// does); an object that exists already (from a smaller size before) is fine.
pub async fn create_all(client: &kube::Client, ns: &str, objects: &[Value]) {
    let mut ranks: BTreeMap<Option<u8>, Vec<&Value>> = BTreeMap::new();
    for object in objects {
        let rank =
            kinds::by_kind(object["kind"].as_str().unwrap_or_default()).and_then(|k| k.apply_rank);
        ranks.entry(rank).or_default().push(object);
    }
    for group in ranks.into_values() {
        let errors: Vec<String> = futures::stream::iter(group)
            .map(|object| {
                let client = client.clone();
                async move {
                    let kind = object["kind"].as_str().unwrap_or_default();
                    let info = kinds::by_kind(kind).expect("fixture kinds are registered");
                    let api: Api<DynamicObject> =
                        Api::namespaced_with(client, ns, &cluster::api_resource(info));
                    let object: DynamicObject =
                        serde_json::from_value(object.clone()).expect("an object");
                    match tokio::time::timeout(
                        Duration::from_secs(60),
                        api.create(&PostParams::default(), &object),
                    )
                    .await
                    {
                        Ok(Ok(_)) => None,
                        Ok(Err(kube::Error::Api(s))) if s.code == 409 => None,
                        Ok(Err(e)) => Some(format!("{kind} in {ns}: {e}")),
                        Err(_) => Some(format!("{kind} in {ns}: no answer in 60 s")),
                    }
                }
            })
            .buffer_unordered(32)
            .filter_map(|e| async { e })
            .collect()
            .await;
        assert!(
            errors.is_empty(),
            "{} creates failed: {errors:?}",
            errors.len()
        );
    }
}

/// Reaps child `pid`, polling so a hung one is killed after 10 minutes; its exit status and
/// resource usage (std's `Child::wait` drops the rusage).
pub fn wait_with_usage(pid: libc::pid_t) -> (std::process::ExitStatus, libc::rusage) {
    use std::os::unix::process::ExitStatusExt;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let mut status = 0;
        // SAFETY: rusage is plain data; wait4 fills it for our own child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: a pid of our own child and valid pointers.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(reaped >= 0, "wait4: {}", std::io::Error::last_os_error());
        if reaped == pid {
            return (std::process::ExitStatus::from_raw(status), usage);
        }
        if Instant::now() > deadline {
            // SAFETY: our own child, not reaped yet.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the measured child ran over 10 minutes (killed)");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A `kB` line of /proc/self/status (`VmRSS:`, `VmHWM:`), in KiB; 0 when absent.
pub fn proc_status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// A number from the environment (a bench's knob), else `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// The `RESULT key=value…` line a measuring child (`what`) printed, echoed, as numbers; fails
/// the bench when the child failed or printed none.
pub fn child_result(what: &str, output: &std::process::Output) -> BTreeMap<String, f64> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the {what} child failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("the {what} child printed no result: {stdout}"));
    println!("  {what}: {line}");
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.parse().unwrap_or(f64::NAN)))
        .collect()
}
