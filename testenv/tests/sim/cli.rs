//! The `fabric-sim` binary: it runs from its flags alone and stops after its duration.

use testenv::ControlPlane;
use testenv::Identity;

use super::{common, fabric_namespace, states};

fn sim_cli(plane: &ControlPlane, ns: &str, who: Identity, extra: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    common::run_with_deadline(
        std::process::Command::new(env!("CARGO_BIN_EXE_fabric-sim"))
            .arg("--server")
            .arg(plane.server_url())
            .arg("--token-file")
            .arg(plane.token_file(who))
            .arg("--ca-file")
            .arg(plane.ca_file())
            .args(["--namespace", ns])
            .args(extra)
            // Proof that it reads only its flags: no usable kubeconfig anywhere.
            .env("HOME", home.path())
            .env("KUBECONFIG", home.path().join("missing")),
        common::COMMAND_DEADLINE,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_runs_from_its_flags_alone_and_stops_after_its_duration() {
    let ns = "sim-cli";
    let plane = fabric_namespace(ns).await;
    let args = [
        "--duration-secs",
        "3",
        "--heartbeat-secs",
        "1",
        "--verbose",
        "--seed",
        "9",
    ];
    let out = tokio::task::spawn_blocking(move || sim_cli(plane, ns, Identity::Admin, &args))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for name in ["leaf-1", "spine-2"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains("created") && l.contains(&format!("Agent/{name} "))),
            "{stdout}"
        );
    }
    assert!(
        stdout.lines().filter(|l| l.contains("heartbeat")).count() >= 6,
        "{stdout}"
    );
    assert!(stderr.contains("stopped ("), "{stderr}");
    assert_eq!(states(plane, ns, 60).await.len(), 6);

    // The operator may read Agents but not write them: a clear error, exit 1.
    let out = tokio::task::spawn_blocking(move || sim_cli(plane, ns, Identity::Operator, &[]))
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot apply Agent") && stderr.contains("forbidden"),
        "{stderr}"
    );

    let out = common::run_with_deadline(
        std::process::Command::new(env!("CARGO_BIN_EXE_fabric-sim")).args([
            "--server",
            "http://127.0.0.1:1",
            "--token-file",
            "/dev/null",
            "--ca-file",
            "/dev/null",
        ]),
        common::COMMAND_DEADLINE,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("use https://"));
}
