//! (d): real Git (every sample and example document) and short forms people write, stored the
//! way testenv's imitation of the Hedgehog webhooks stores them, is InSync.

use hhdash::drift::compare;
use hhdash::kinds;
use serde_json::{Value, json};

fn yaml_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

/// Short forms the webhooks rewrite into what they store (one document each).
const SHORT_FORMS: &[&str] = &[
    "{kind: VPCAttachment, metadata: {name: a}, spec: {subnet: vpc-1, connection: c}}",
    "{kind: VPCAttachment, metadata: {name: a, labels: {fabric.githedgehog.com/vpc: x, team: a}}, spec: {subnet: vpc-1/s, nativeVLAN: true}}",
    "{kind: Switch, metadata: {name: s}, spec: {role: server-leaf, profile: vs, portSpeeds: {E1/1: SPEED_25G}, portGroupSpeeds: {'1': SPEED_10G}, linkFlapErrDisable: {}}}",
    "{kind: Switch, metadata: {name: s}, spec: {role: server-leaf, redundancy: {group: g, type: eslag}, groups: [g]}}",
    "{kind: VPC, metadata: {name: v}, spec: {subnets: {a: {subnet: 10.0.0.0/24, dhcp: {enable: true, options: {dnsServers: [9.9.9.9, 1.1.1.1], advertisedRoutes: [{destination: 10.9.0.0/16, gateway: 10.0.0.1}, {destination: 10.1.0.0/16, gateway: 10.0.0.1}]}}}}}}",
    "{kind: VPC, metadata: {name: v}, spec: {subnets: {a: {subnet: 10.0.0.0/24, hostBGP: true}, b: {subnet: 10.0.1.0/31}}}}",
    "{kind: ExternalPeering, metadata: {name: p}, spec: {permit: {vpc: {name: v, subnets: [b, a]}, external: {name: e, prefixes: [{prefix: 10.0.0.0/8}, {prefix: 0.0.0.0/0}]}}}}",
    "{kind: ExternalAttachment, metadata: {name: a}, spec: {external: e, connection: c}}",
    "{kind: IPv4Namespace, metadata: {name: i}, spec: {subnets: [10.2.0.0/16, 10.1.0.0/16]}}",
    "{kind: VPCPeering, metadata: {name: p}, spec: {permit: [{b: {subnets: [default]}, a: {subnets: [default]}}]}}",
];

#[test]
fn git_stored_as_the_webhooks_store_it_is_in_sync() {
    let shared = testenv::shared_dir().unwrap();
    let mut files = Vec::new();
    for dir in [
        shared.join("hedgehog/samples/demo-gitops"),
        shared.join("hedgehog/samples/nvidia-air-demo"),
        shared.join("hedgehog/samples/lab-ci"),
        testenv::workspace_root().join("examples"),
    ] {
        yaml_files(&dir, &mut files);
    }
    files.push(shared.join("hedgehog/samples/gitops-test-1/prepop.yaml"));
    files.sort();
    let mut documents: Vec<(String, Value)> = Vec::new();
    for file in &files {
        for doc in testenv::read_yaml_docs(file).unwrap() {
            documents.push((file.display().to_string(), doc));
        }
    }
    for (i, doc) in testenv::fixtures::demo_gitops_wiring("default")
        .into_iter()
        .enumerate()
    {
        documents.push((format!("demo-gitops wiring #{i}"), doc));
    }
    for text in SHORT_FORMS {
        documents.push((text.to_string(), serde_yaml::from_str(text).unwrap()));
    }
    let mut checked = 0;
    for (source, git) in documents {
        let Some(info) = git["kind"].as_str().and_then(kinds::by_kind) else {
            continue;
        };
        if !info.writable()
            || git["apiVersion"]
                .as_str()
                .is_some_and(|v| v != info.api_version())
        {
            continue;
        }
        let mut live = git.clone();
        testenv::webhook::default_object(info.kind, &mut live);
        live["metadata"]["uid"] = json!("7b0e0f55-0c3e-4c2e-9d5e-0b9f3f0a6f1d");
        let diffs = compare(info, &git, &live);
        assert!(
            diffs.is_empty(),
            "{} {} from {source} reads as drift once stored: {diffs:?}\nlive: {live}",
            info.kind,
            git["metadata"]["name"]
        );
        checked += 1;
    }
    assert!(checked > 300, "only {checked} documents checked");
}
