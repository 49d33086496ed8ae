//! `hhdash watch` ends on SIGINT (Ctrl-C) and on SIGTERM (a supervisor) even when the signal
//! arrives while it is busy printing an event. It used to make a new Ctrl-C listener on every
//! pass of its loop, so a SIGINT delivered between two passes had no listener and was lost: the
//! process ran on. Here the watch is held in the middle of printing on purpose — it lists many
//! orphans (one event line each) into a pipe the test stops reading, so it blocks in a write —
//! and the signal is sent then; after the pipe is read again, the watch must exit cleanly. A few
//! rounds of each signal.

use crate::common;

use std::time::Duration;

use futures::StreamExt;
use kube::api::{DynamicObject, PostParams};

/// Orphan VPCs in the namespace: one `Drift … Orphan` line each when a watch lists them, more
/// than a pipe holds (64 KiB).
const ORPHANS: usize = 1200;

fn vpc(name: &str, ns: &str, vlan: usize) -> DynamicObject {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"subnets": {"default": {"subnet": "10.7.0.0/24", "vlan": 1000 + vlan % 2000}}}
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_ends_on_sigint_and_sigterm_sent_while_it_prints() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "signals";
    plane.grant(ns).await.unwrap();
    plane
        .apply_objects(&testenv::fixtures::vpc_prerequisites(ns))
        .await
        .unwrap();
    let vpcs = common::admin_api(plane, "VPC", ns);
    futures::stream::iter(0..ORPHANS)
        .map(|i| {
            let vpcs = vpcs.clone();
            async move {
                vpcs.create(&PostParams::default(), &vpc(&format!("orphan-{i}"), ns, i))
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
    // One object in Git (never applied, so Missing): a desired set that may name orphans (an
    // empty one may not, see `trust`), so every VPC made above prints as an Orphan.
    let in_git = serde_yaml::to_string(&vpc("only-in-git", ns, ORPHANS)).unwrap();
    let (temp, config) =
        common::git_fabric(plane, ns, "sig", &[("f/vpc.yaml", in_git.as_bytes())], "f");
    let rounds = [
        ("SIGINT", common::SIGINT),
        ("SIGTERM", common::SIGTERM),
        ("SIGINT", common::SIGINT),
        ("SIGTERM", common::SIGTERM),
        ("SIGINT", common::SIGINT),
    ];
    for (round, (name, signal)) in rounds.into_iter().enumerate() {
        let store = temp.path().join(format!("watch-{round}.redb"));
        let mut watch = common::spawn_watch(temp.path(), &config, &store, "sig", false);
        // Held in the middle of printing the orphans: the signal arrives then.
        watch.block_output(Duration::from_secs(60)).await;
        watch.signal(signal);
        watch.unblock_output();
        let out = watch
            .wait(
                Duration::from_secs(30),
                &format!("round {round}: hhdash watch after {name} sent while it printed"),
            )
            .await;
        assert!(
            out.status.success(),
            "round {round}: watch exits 0 on {name}: {:?}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = String::from_utf8_lossy(&out.stdout);
        assert!(
            printed.contains("Orphan"),
            "round {round}: it was printing the orphans"
        );
    }
}
