//! Drift attribution against the real control plane: who wrote a drifted field, as the API
//! server records it in `managedFields`, shown in `hhdash diff` (text and `--json`) and in the
//! drift event line of `hhdash watch` — for a `kubectl patch`, a server-side apply by another
//! manager, and a field removed by a JSON patch.

use std::time::Duration;

use serde_json::Value;

use crate::common;

const NS: &str = "attribution";
const VPC: &str = "demo-vpc-1";
const VLAN: &str = "spec.subnets.default.vlan";
const START: &str = "spec.subnets.default.dhcp.range.start";

/// `kubectl -n attribution ARGS` as admin with `stdin` piped in.
fn kubectl(plane: &testenv::ControlPlane, args: &[&str], stdin: &str) {
    let args: Vec<&str> = ["-n", NS].iter().chain(args).copied().collect();
    common::kubectl(plane, &args, stdin);
}

/// The `time` the API server recorded for `manager`'s write of the VPC (RFC 3339).
async fn write_time(plane: &testenv::ControlPlane, manager: &str) -> String {
    let vpc = common::admin_api(plane, "VPC", NS).get(VPC).await.unwrap();
    let entry = vpc
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .find(|entry| entry.manager.as_deref() == Some(manager))
        .unwrap_or_else(|| panic!("no {manager} entry in the VPC's managedFields"));
    let time = entry.time.expect("a write time").0.as_second();
    hhdash::time::format_rfc3339(time)
}

/// `17:56:10Z` of an RFC 3339 time, as the event line and `diff` print it.
fn clock(rfc3339: &str) -> String {
    hhdash::time::format_clock(hhdash::time::parse_rfc3339(rfc3339).unwrap())
}

/// `hhdash diff attr --json`: the live attribution of `path` of the VPC.
fn json_attribution(dir: &std::path::Path, config: &std::path::Path, path: &str) -> Value {
    let out = common::hhdash(dir, config, &["diff", "attr", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", common::output_text(&out));
    let review: Value = serde_json::from_slice(&out.stdout).unwrap();
    let object = review["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["key"]["name"] == VPC)
        .unwrap_or_else(|| panic!("no {VPC} in {review}"));
    let explained = object["explained"]
        .as_array()
        .unwrap_or_else(|| panic!("no explained paths: {object}"));
    explained
        .iter()
        .find(|e| e["path"] == path)
        .unwrap_or_else(|| panic!("no {path} in {object}"))["live"]
        .clone()
}

/// `hhdash diff attr` text: the `live:` line under the line of `difference`.
fn text_attribution(dir: &std::path::Path, config: &std::path::Path, difference: &str) -> String {
    let out = common::hhdash(dir, config, &["diff", "attr"]);
    let text = common::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|line| line.trim() == difference)
        .unwrap_or_else(|| panic!("no `{difference}` line:\n{text}"));
    lines[at + 1].trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_and_watch_name_who_changed_a_drifted_field_and_when() {
    let plane = testenv::shared().await.expect("control plane");
    plane.grant(NS).await.unwrap();
    let (temp, config) = common::demo_fabric(plane, NS, "attr");
    let dir = temp.path();
    for args in [&["sync"][..], &["apply", "attr"], &["diff", "attr"]] {
        let out = common::hhdash(dir, &config, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            common::output_text(&out)
        );
    }
    let mut watch = common::spawn_watch(dir, &config, &dir.join("watch.redb"), "attr", false);
    watch
        .wait_for_line(Duration::from_secs(30), "the watch active", |line| {
            line.contains("watch active")
        })
        .await;

    // A person with kubectl patch.
    let patch = r#"{"spec":{"subnets":{"default":{"vlan":1431}}}}"#;
    kubectl(
        plane,
        &["patch", "vpc", VPC, "--type=merge", "-p", patch],
        "",
    );
    let patched = write_time(plane, "kubectl-patch").await;
    let by_patch = format!("by kubectl-patch (Update) {}", clock(&patched));
    let expected = format!("VPC/{VPC} InSync → Drifted ({VLAN}: 1101 → 1431) · {by_patch}");
    watch
        .wait_for_line(Duration::from_secs(30), &expected, |line| {
            line.ends_with(&expected)
        })
        .await;
    assert_eq!(
        text_attribution(dir, &config, &format!("{VLAN}: 1101 → 1431")),
        format!("live: {by_patch}")
    );
    assert_eq!(
        json_attribution(dir, &config, VLAN),
        serde_json::json!({"writers": [{"manager": "kubectl-patch", "operation": "Update", "time": patched}], "exact": true})
    );

    // A script applying server-side as its own manager takes the field over.
    let vpc = format!(
        "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: {VPC}\nspec:\n  subnets:\n    default:\n      vlan: 1500\n"
    );
    kubectl(
        plane,
        &[
            "apply",
            "--server-side",
            "--field-manager=ops-script",
            "--force-conflicts",
            "-f",
            "-",
        ],
        &vpc,
    );
    let applied = write_time(plane, "ops-script").await;
    let by_script = format!("by ops-script (Apply) {}", clock(&applied));
    let expected = format!("VPC/{VPC} Drifted → Drifted ({VLAN}: 1101 → 1500) · {by_script}");
    watch
        .wait_for_line(Duration::from_secs(30), &expected, |line| {
            line.ends_with(&expected)
        })
        .await;
    assert_eq!(
        text_attribution(dir, &config, &format!("{VLAN}: 1101 → 1500")),
        format!("live: {by_script}")
    );
    assert_eq!(
        json_attribution(dir, &config, VLAN),
        serde_json::json!({"writers": [{"manager": "ops-script", "operation": "Apply", "time": applied}], "exact": true})
    );

    // A JSON patch removes the vlan and moves the DHCP range's start. The server keeps no
    // trace of a removal: nobody owns the vlan any more (ops-script's entry is gone), and the
    // newest writer next to it — the patch, through the start — is named, as a guess.
    // Kubernetes times writes to the second: the patch comes in a later one than the apply,
    // or the two would tie as the newest writers.
    let after = hhdash::time::parse_rfc3339(&applied).unwrap();
    while hhdash::time::now() <= after {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let patch = r#"[{"op":"remove","path":"/spec/subnets/default/vlan"},{"op":"replace","path":"/spec/subnets/default/dhcp/range/start","value":"10.10.101.20"}]"#;
    kubectl(
        plane,
        &["patch", "vpc", VPC, "--type=json", "-p", patch],
        "",
    );
    let removed = write_time(plane, "kubectl-patch").await;
    let likely = format!("likely by kubectl-patch (Update) {}", clock(&removed));
    assert_eq!(
        text_attribution(dir, &config, &format!("{VLAN}: 1101 → <absent>")),
        format!("live: {likely}")
    );
    assert_eq!(
        json_attribution(dir, &config, VLAN),
        serde_json::json!({"writers": [{"manager": "kubectl-patch", "operation": "Update", "time": removed}], "exact": false})
    );
    assert_eq!(
        json_attribution(dir, &config, START)["exact"],
        Value::Bool(true)
    );
    let expected = format!(
        "VPC/{VPC} Drifted → Drifted ({START}: 10.10.101.10 → 10.10.101.20, +1 more) · by kubectl-patch (Update) {}",
        clock(&removed)
    );
    watch
        .wait_for_line(Duration::from_secs(30), &expected, |line| {
            line.ends_with(&expected)
        })
        .await;
    watch.signal(common::SIGINT);
    let out = watch
        .wait(Duration::from_secs(30), "hhdash watch after SIGINT")
        .await;
    assert!(out.status.success(), "{:?}", out.status);

    // What the watch stored carries the field sets: a restart attributes as before.
    let store = hhdash::store::Store::open(&dir.join("watch.redb")).unwrap();
    let stored = store.live("attr").unwrap();
    let (_, vpc) = stored
        .iter()
        .find(|(key, _)| key.kind == "VPC" && key.name == VPC)
        .expect("the VPC stored");
    let attribution =
        hhdash::attribution::attribute(&vpc.value(), START).expect("field sets stored");
    assert_eq!(
        attribution.to_string(),
        format!("by kubectl-patch (Update) {}", clock(&removed))
    );
}
