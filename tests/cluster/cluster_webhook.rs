//! hhdash against a control plane that behaves like a fabric's: testenv's imitation of the
//! Hedgehog admission webhooks checks references, refuses deletes of referenced objects and
//! rewrites objects (`testenv::webhook`). Applying in the wrong order is refused while hhdash's
//! order goes through, from the CLI and from the engine; prune succeeds because it runs in
//! reverse order; after the webhook
//! rewrote what Git wrote, both diff modes still report the fabric in sync; the largest sample
//! fabric (the hhfab-processed NVIDIA Air demo) applies cleanly.

use crate::common;

use std::time::{Duration, Instant};

use hhdash::engine::{Command, EngineEvent, JobPhase};
use hhdash::status::WatchState;
use kube::api::{DeleteParams, DynamicObject, PostParams};
use serde_json::{Value, json};

fn object_from(doc: &Value, ns: &str) -> DynamicObject {
    let mut doc = doc.clone();
    doc["metadata"]["namespace"] = json!(ns);
    serde_json::from_value(doc).unwrap()
}

/// The sample document of `kind`/`name` in the demo files.
fn demo_doc(ns: &str, kind: &str, name: &str) -> Value {
    common::demo_files(ns)
        .iter()
        .flat_map(|(_, text)| {
            serde_yaml::Deserializer::from_slice(text)
                .map(|doc| {
                    serde_json::to_value(
                        <serde_yaml::Value as serde::Deserialize>::deserialize(doc).unwrap(),
                    )
                    .unwrap()
                })
                .collect::<Vec<Value>>()
        })
        .find(|doc| doc["kind"] == kind && doc["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind}/{name} in the demo files"))
}

/// Asserts `result` is the admission webhook's denial with `message`.
#[track_caller]
fn assert_denied<T: std::fmt::Debug>(result: Result<T, kube::Error>, message: &str) {
    match result {
        Err(kube::Error::Api(status)) => assert!(
            status.code == 403
                && status.message.contains("denied the request")
                && status.message.contains(message),
            "expected a webhook denial with {message:?}, got {status:?}"
        ),
        other => panic!("expected a webhook denial with {message:?}, got {other:?}"),
    }
}

fn run(temp: &tempfile::TempDir, config: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let out = common::hhdash(temp.path(), config, args);
    (out.status.code(), common::output_text(&out))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wrong_order_is_refused_and_hhdash_applies_in_the_right_one() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "wh-order";
    plane.grant(ns).await.unwrap();
    let (temp, config) = common::demo_fabric(plane, ns, "order");

    // Another client applying the same objects in file order, attachment first: refused.
    let attachment = demo_doc(
        ns,
        "VPCAttachment",
        "demo-vpc-1--server-1--mclag--s5248-01--s5248-02",
    );
    assert_denied(
        common::admin_api(plane, "VPCAttachment", ns)
            .create(&PostParams::default(), &object_from(&attachment, ns))
            .await,
        "vpc demo-vpc-1 not found",
    );
    // A VPC before the wiring it sits on: refused too.
    let vpc = demo_doc(ns, "VPC", "demo-vpc-1");
    assert_denied(
        common::admin_api(plane, "VPC", ns)
            .create(&PostParams::default(), &object_from(&vpc, ns))
            .await,
        "IPv4Namespace default not found",
    );

    // hhdash applies everything, wiring included, in dependency order: all accepted.
    let (code, text) = run(&temp, &config, &["sync"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(&temp, &config, &["apply", "order"]);
    let n = common::DEMO_OBJECTS;
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!("{n} object(s) applied, 0 failed")),
        "{text}"
    );

    // The webhook rewrote what Git wrote...
    let live = |kind: &str, name: &str| {
        let api = common::admin_api(plane, kind, ns);
        let name = name.to_string();
        async move { serde_json::to_value(api.get(&name).await.unwrap()).unwrap() }
    };
    let vpc1 = live("VPC", "demo-vpc-1").await;
    assert_eq!(vpc1["spec"]["subnets"]["default"]["gateway"], "10.10.101.1");
    assert_eq!(vpc1["spec"]["ipv4Namespace"], "default");
    let vpc3 = live("VPC", "demo-vpc-3").await;
    assert_eq!(
        vpc3["spec"]["subnets"]["subnet-2"]["dhcp"]["range"],
        json!({"start": "10.10.132.2", "end": "10.10.132.255"})
    );
    let switch = live("Switch", "s5248-01").await;
    assert_eq!(switch["spec"]["groups"], json!(["mclag-1"]));
    assert_eq!(switch["spec"]["vlanNamespaces"], json!(["default"]));
    let peering = live("VPCPeering", "demo-vpc-1--demo-vpc-2").await;
    assert_eq!(
        peering["metadata"]["labels"]["fabric.githedgehog.com/vpc1"],
        "demo-vpc-1"
    );

    // ...and neither diff mode calls that drift.
    let (code, text) = run(&temp, &config, &["diff", "order"]);
    assert_eq!(
        code,
        Some(0),
        "semantic diff after the webhook's rewrites: {text}"
    );
    let (code, text) = run(&temp, &config, &["diff", "order", "--server-side"]);
    assert_eq!(
        code,
        Some(0),
        "server-side diff after the webhook's rewrites: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_of_several_objects_succeeds_because_it_runs_in_reverse_order() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "wh-prune";
    plane.grant(ns).await.unwrap();
    let (temp, config) = common::demo_fabric(plane, ns, "prune");
    let repo = temp.path().join("repo");
    let (code, text) = run(&temp, &config, &["sync"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(&temp, &config, &["apply", "prune"]);
    assert_eq!(code, Some(0), "{text}");

    // Referenced objects cannot go first: the fabric refuses.
    assert_denied(
        common::admin_api(plane, "VPC", ns)
            .delete("demo-vpc-3", &DeleteParams::default())
            .await,
        "VPC has attachments",
    );
    assert_denied(
        common::admin_api(plane, "Server", ns)
            .delete("server-3", &DeleteParams::default())
            .await,
        "server has connections",
    );

    // Git drops demo.yaml (VPC demo-vpc-3, its attachment, both peerings) and, from the
    // wiring, server-3 with its Connection and the External: seven orphans along chains of
    // references up to three deep (attachment -> Connection -> Server).
    common::git(&repo, &["rm", "-q", "env-1/demo.yaml"]);
    let wiring = testenv::fixtures::demo_gitops_wiring(ns)
        .into_iter()
        .filter(|o| {
            let name = o["metadata"]["name"].as_str().unwrap();
            !(name == "server-3"
                || name == "server-3--bundled--s5248-01"
                || o["kind"] == "External")
        })
        .map(|o| serde_yaml::to_string(&o).unwrap())
        .collect::<Vec<_>>()
        .join("---\n");
    common::commit_files(
        &repo,
        &[("env-1/wiring.yaml", wiring.as_bytes())],
        "Decommission server-3",
    );
    let (code, text) = run(&temp, &config, &["sync"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(&temp, &config, &["diff", "prune"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("7 object(s) out of sync: 0 drifted, 0 missing, 7 orphan"),
        "{text}"
    );

    let (code, text) = run(&temp, &config, &["apply", "prune", "--prune", "--yes"]);
    assert_eq!(code, Some(0), "every orphan deleted, none refused: {text}");
    let pruned: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("prune  ok     "))
        .collect();
    assert_eq!(pruned.len(), 7, "{text}");
    let position = |what: &str| {
        pruned
            .iter()
            .position(|p| *p == what)
            .unwrap_or_else(|| panic!("{what} not pruned: {text}"))
    };
    for (referrer, referred) in [
        (
            "VPCAttachment/demo-vpc-3--server-3--bundled--s5248-01",
            "VPC/demo-vpc-3",
        ),
        (
            "VPCAttachment/demo-vpc-3--server-3--bundled--s5248-01",
            "Connection/server-3--bundled--s5248-01",
        ),
        ("Connection/server-3--bundled--s5248-01", "Server/server-3"),
        ("ExternalPeering/demo-vpc-1--default", "External/default"),
    ] {
        assert!(
            position(referrer) < position(referred),
            "{referrer} before {referred}: {text}"
        );
    }
    for (kind, name) in [
        ("VPC", "demo-vpc-3"),
        ("Server", "server-3"),
        ("External", "default"),
        ("VPCPeering", "demo-vpc-1--demo-vpc-2"),
    ] {
        let left = common::admin_api(plane, kind, ns)
            .get_opt(name)
            .await
            .unwrap();
        assert!(left.is_none(), "{kind}/{name} was pruned");
    }
    let (code, text) = run(&temp, &config, &["diff", "prune"]);
    assert_eq!(code, Some(0), "{text}");
}

/// Git in the forms people write by hand, which the webhook rewrites: a VPCAttachment's subnet
/// without its `/default`, a VPC without gateway or DHCP range, a `fabric.githedgehog.com/`
/// label the webhook replaces, a Switch without its VLAN namespaces.
const SHORT_FORMS: &str = "\
apiVersion: vpc.githedgehog.com/v1beta1
kind: IPv4Namespace
metadata:
  name: default
spec:
  subnets: [10.20.0.0/16]
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: VLANNamespace
metadata:
  name: default
spec:
  ranges: [{from: 1200, to: 1299}]
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: leaf-1
spec:
  role: server-leaf
  profile: vs
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Server
metadata:
  name: srv-1
spec: {}
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: srv-1--unbundled--leaf-1
spec:
  unbundled:
    link:
      server: {port: srv-1/enp2s1}
      switch: {port: leaf-1/E1/1}
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: short-1
spec:
  subnets:
    default:
      subnet: 10.20.1.0/24
      vlan: 1201
      dhcp:
        enable: true
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPCAttachment
metadata:
  name: short-1--srv-1
  labels:
    team: blue
    fabric.githedgehog.com/vpc: written-by-hand
spec:
  subnet: short-1
  connection: srv-1--unbundled--leaf-1
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_in_short_forms_the_webhook_rewrites_is_in_sync_after_apply() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "wh-short";
    plane.grant(ns).await.unwrap();
    let (temp, config) = common::git_fabric(
        plane,
        ns,
        "short",
        &[("f/fabric.yaml", SHORT_FORMS.as_bytes())],
        "f",
    );
    let (code, text) = run(&temp, &config, &["sync"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(&temp, &config, &["apply", "short"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("7 object(s) applied, 0 failed"), "{text}");

    let attachment = common::admin_api(plane, "VPCAttachment", ns)
        .get("short-1--srv-1")
        .await
        .unwrap();
    assert_eq!(attachment.data["spec"]["subnet"], "short-1/default");
    let labels = attachment.metadata.labels.unwrap();
    assert_eq!(labels["fabric.githedgehog.com/vpc"], "short-1");
    assert_eq!(labels["team"], "blue");

    let (code, text) = run(&temp, &config, &["diff", "short"]);
    assert_eq!(code, Some(0), "semantic diff: {text}");
    let (code, text) = run(&temp, &config, &["diff", "short", "--server-side"]);
    assert_eq!(code, Some(0), "server-side diff: {text}");

    // A real change of the subnet is still drift, in both modes.
    let patch = json!({"spec": {"subnet": "short-1/other"}});
    let vpcs = common::admin_api(plane, "VPC", ns);
    let vpc_patch =
        json!({"spec": {"subnets": {"other": {"subnet": "10.20.2.0/24", "vlan": 1202}}}});
    vpcs.patch(
        "short-1",
        &Default::default(),
        &kube::api::Patch::Merge(&vpc_patch),
    )
    .await
    .unwrap();
    common::admin_api(plane, "VPCAttachment", ns)
        .patch(
            "short-1--srv-1",
            &Default::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .unwrap();
    let (code, text) = run(&temp, &config, &["diff", "short"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("spec.subnet"), "{text}");
    let (code, text) = run(&temp, &config, &["diff", "short", "--server-side"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("spec.subnet"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hhfab_processed_sample_fabric_applies_cleanly_and_stays_in_sync() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "wh-air";
    plane.grant(ns).await.unwrap();
    let text = std::fs::read_to_string(common::samples_dir().join("nvidia-air-demo/include.yaml"))
        .unwrap()
        .replace("namespace: default", &format!("namespace: {ns}"));
    let (temp, config) = common::git_fabric(
        plane,
        ns,
        "air",
        &[("air/include.yaml", text.as_bytes())],
        "air",
    );
    let (code, out) = run(&temp, &config, &["sync"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run(&temp, &config, &["apply", "air"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("166 object(s) applied, 0 failed"), "{out}");
    let (code, out) = run(&temp, &config, &["diff", "air"]);
    assert_eq!(code, Some(0), "semantic diff: {out}");
    let (code, out) = run(&temp, &config, &["diff", "air", "--server-side"]);
    assert_eq!(code, Some(0), "server-side diff: {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_applies_a_whole_fabric_in_dependency_order() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "wh-engine";
    plane.grant(ns).await.unwrap();
    let (temp, config) = common::demo_fabric(plane, ns, "engine");
    let common::RunningEngine {
        store,
        events: mut rx,
        commands,
    } = common::start_synced_engine(temp.path(), &config);
    common::wait_for_watch_state(&mut rx, 30, WatchState::Active).await;
    // The dashboard's `a` on everything out of sync: all of it Missing, wiring included.
    common::apply_out_of_sync(&commands).await;
    let done = common::wait_for_apply_end(&mut rx, 60).await;
    let EngineEvent::Job {
        phase: JobPhase::Succeeded { message },
        ..
    } = &done
    else {
        let errors: Vec<String> = store
            .resource_statuses("engine")
            .unwrap()
            .into_iter()
            .filter_map(|(key, status)| status.error.map(|e| format!("{key}: {e}")))
            .collect();
        panic!("the apply failed: {done:?}\n{}", errors.join("\n"));
    };
    assert!(
        message.contains(&common::DEMO_OBJECTS.to_string()),
        "{message}"
    );
    // The watch sees every object as Git wants it, webhook rewrites and all.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = store.fabric_status("engine").unwrap();
        if status.drift.count == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still out of sync: {:?}",
            status.drift
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rows = store.resource_statuses("engine").unwrap();
    assert_eq!(rows.len(), common::DEMO_OBJECTS);
    assert!(rows.iter().all(|(_, s)| s.error.is_none()), "{rows:?}");
    commands.send(Command::Shutdown).await.unwrap();
}
