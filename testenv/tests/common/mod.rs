//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use kube::api::{Api, DynamicObject};
use kube::core::ApiResource;
use testenv::ControlPlane;

/// The 12 user-facing Hedgehog kinds (README "The 12 kinds").
pub const TWELVE_KINDS: [&str; 12] = [
    "VPC",
    "External",
    "ExternalAttachment",
    "ExternalPeering",
    "IPv4Namespace",
    "VPCAttachment",
    "VPCPeering",
    "Connection",
    "Server",
    "Switch",
    "SwitchGroup",
    "VLANNamespace",
];

/// Fail (never hang) if `fut` takes longer than `secs`.
pub async fn within<T>(secs: u64, what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), fut)
        .await
        .unwrap_or_else(|_| panic!("timed out after {secs}s: {what}"))
}

/// The installed resource of `kind`.
pub fn resource(plane: &ControlPlane, kind: &str) -> ApiResource {
    plane
        .crds()
        .iter()
        .find(|ar| ar.kind == kind)
        .unwrap_or_else(|| panic!("CRD for kind {kind} not installed"))
        .clone()
}

/// A namespaced dynamic API for `kind`.
pub fn api(
    client: &kube::Client,
    plane: &ControlPlane,
    kind: &str,
    ns: &str,
) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &resource(plane, kind))
}

/// A minimal valid VPC in `ns`.
pub fn vpc(name: &str, ns: &str, vlan: u16) -> DynamicObject {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "vpc.githedgehog.com/v1beta1",
        "kind": "VPC",
        "metadata": { "name": name, "namespace": ns },
        "spec": { "subnets": { "default": { "subnet": "10.0.1.0/24", "vlan": vlan } } },
    }))
    .expect("valid VPC")
}

/// The HTTP status code of a kube API error, if it is one.
pub fn api_code(err: &kube::Error) -> Option<u16> {
    match err {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// Assert that `result` failed with HTTP status `code`.
#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(result: Result<T, kube::Error>, code: u16, what: &str) {
    match result {
        Err(e) if api_code(&e) == Some(code) => {}
        other => panic!("{what}: expected HTTP {code}, got {other:?}"),
    }
}

/// The most a one-shot command of these tests (kubectl, fabric-sim) may take; a hang becomes a
/// failure showing what it printed.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(120);

/// Runs `command` like `Command::output` (stdin empty), but kills it and fails the test with
/// what it printed if it is still running after `deadline`.
pub fn run_with_deadline(
    command: &mut std::process::Command,
    deadline: Duration,
) -> std::process::Output {
    use std::io::Read;
    use std::process::Stdio;
    use std::time::Instant;
    let what = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let reader = |mut pipe: Box<dyn Read + Send>| {
        let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let thread = std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        (buffer, thread)
    };
    let (stdout, out_thread) = reader(Box::new(child.stdout.take().unwrap()));
    let (stderr, err_thread) = reader(Box::new(child.stderr.take().unwrap()));
    let end = Instant::now() + deadline;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for a child process") {
            break status;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{what}: still running after {deadline:?}; killed it. It printed:\n--- stdout\n{}\n--- stderr\n{}",
                String::from_utf8_lossy(&stdout.lock().unwrap()),
                String::from_utf8_lossy(&stderr.lock().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // The pipes close with the process (unless it left a child holding them: then the
    // deadline above is what protects us, and we take what arrived).
    for thread in [out_thread, err_thread] {
        let drained = Instant::now() + Duration::from_secs(5);
        while !thread.is_finished() && Instant::now() < drained {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let take = |b: &std::sync::Arc<std::sync::Mutex<Vec<u8>>>| b.lock().unwrap().clone();
    std::process::Output {
        status,
        stdout: take(&stdout),
        stderr: take(&stderr),
    }
}
