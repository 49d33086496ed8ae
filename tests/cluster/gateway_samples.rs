//! The gateway samples against a real control plane with testenv's webhooks: every
//! `docs-gateway/` file (one fabric each) applies, except the document the API server's schema
//! rejects, which fails by itself with the server's reason and its name; after apply the
//! webhook's gateway defaults never read as drift, even where Git writes Go's zero values; and
//! a live edit of a GatewayPeering's `expose` entry shows at its exact path.

use crate::common;

use std::collections::BTreeMap;

use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};

/// What the docs-gateway files refer to (switches, a server, namespaces and the connections
/// their attachments name), which the webhook looks up before it admits them. It goes into
/// the fabric directory of every file that holds fabric (`vpc.`/`wiring.`) kinds.
const REFERENCED_WIRING: &str = "\
apiVersion: wiring.githedgehog.com/v1beta1
kind: VLANNamespace
metadata:
  name: default
spec:
  ranges:
  - from: 1000
    to: 2999
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: IPv4Namespace
metadata:
  name: default
spec:
  subnets:
  - 10.0.0.0/16
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: leaf-01
spec:
  role: server-leaf
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: leaf-02
spec:
  role: server-leaf
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Server
metadata:
  name: server-01
spec:
  description: docs server
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: server-01--unbundled--leaf-01
spec:
  unbundled:
    link:
      server:
        port: server-01/enp2s1
      switch:
        port: leaf-01/E1/1
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: leaf-01--external
spec:
  external:
    link:
      switch:
        port: leaf-01/E1/5
";
const REFERENCED_WIRING_OBJECTS: usize = 7;

/// The documents the bare API server's schema rejects, by file: (kind/name, what the server
/// says). `gateway-peering__gw-acl-peer.yaml` leaves `spec.peering` to a comment and sets
/// only `spec.acl.rules`, so the required `spec.acl.default` is missing.
const SCHEMA_REJECTS: &[(&str, &str, &str)] = &[(
    "gateway-peering__gw-acl-peer.yaml",
    "GatewayPeering/acl-example",
    "spec.acl.default: Required value",
)];

fn run(temp: &tempfile::TempDir, config: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let out = common::hhdash(temp.path(), config, args);
    (out.status.code(), common::output_text(&out))
}

/// Every document of `text`, as JSON (comment-only documents skipped).
fn documents(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|doc| {
            serde_json::to_value(
                <serde_yaml::Value as serde::Deserialize>::deserialize(doc).unwrap(),
            )
            .unwrap()
        })
        .filter(|doc| !doc.is_null())
        .collect()
}

/// `hhdash diff --json`: kind/name → the drift verdict as JSON (`"InSync"`, `"Missing"`,
/// `{"Drifted": [...]}`).
fn verdicts(
    temp: &tempfile::TempDir,
    config: &std::path::Path,
    fabric: &str,
) -> BTreeMap<String, Value> {
    let out = common::hhdash(temp.path(), config, &["diff", fabric, "--json"]);
    let review: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("diff --json: {e}: {}", common::output_text(&out)));
    review["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                format!(
                    "{}/{}",
                    o["key"]["kind"].as_str().unwrap(),
                    o["key"]["name"].as_str().unwrap()
                ),
                o["drift"].clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_docs_gateway_file_applies_and_its_defaults_are_in_sync() {
    let plane = testenv::shared().await.expect("control plane");
    let dir = common::samples_dir().join("docs-gateway");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 17, "{files:?}");

    let mut applied_total = 0;
    let mut rejected = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let original = std::fs::read_to_string(dir.join(file)).unwrap();
        // Every file gets its own namespace, standing in for `default`. The docs' Gateway names
        // namespace `fab` literally: that file's fabric spans its own namespace and `fab`, as
        // a fabric configured after the docs would (`namespaces = [.., "fab"]`).
        let names_fab = documents(&original)
            .iter()
            .any(|d| d["metadata"]["namespace"] == "fab" && d["kind"] == "Gateway");
        let ns = format!("gwdocs-{index:02}");
        if names_fab {
            plane.grant("fab").await.unwrap();
        }
        plane.grant(&ns).await.unwrap();
        let text = original.replace("namespace: default", &format!("namespace: {ns}"));
        let needs_wiring =
            text.contains("vpc.githedgehog.com/") || text.contains("wiring.githedgehog.com/");
        let mut repo_files: Vec<(String, &[u8])> = vec![(format!("docs/{file}"), text.as_bytes())];
        if needs_wiring {
            repo_files.push((
                "docs/referenced-wiring.yaml".into(),
                REFERENCED_WIRING.as_bytes(),
            ));
        }
        let refs: Vec<(&str, &[u8])> = repo_files.iter().map(|(p, b)| (p.as_str(), *b)).collect();
        let fabric = format!("gwdocs{index:02}");
        let (temp, config) = common::git_fabric(plane, &ns, &fabric, &refs, "docs");
        if names_fab {
            let text = std::fs::read_to_string(&config).unwrap();
            let spanning = text.replacen(
                &format!("namespace = \"{ns}\"\n"),
                &format!("namespace = \"{ns}\"\nnamespaces = [\"{ns}\", \"fab\"]\n"),
                1,
            );
            assert_ne!(text, spanning, "{config:?}");
            std::fs::write(&config, spanning).unwrap();
        }

        let (code, out) = run(&temp, &config, &["sync"]);
        assert_eq!(code, Some(0), "{file}: sync: {out}");

        // The fabric kinds in the file: FabNode is fabricator's, not applied and no error.
        let objects: Vec<String> = documents(&text)
            .iter()
            .filter(|d| d["kind"] != "FabNode")
            .map(|d| {
                format!(
                    "{}/{}",
                    d["kind"].as_str().unwrap(),
                    d["metadata"]["name"].as_str().unwrap()
                )
            })
            .collect();
        let rejects: Vec<(&str, &str, &str)> = SCHEMA_REJECTS
            .iter()
            .filter(|(f, _, _)| *f == file.as_str())
            .copied()
            .collect();
        let (code, out) = run(&temp, &config, &["apply", &fabric]);
        assert_eq!(
            code,
            Some(if rejects.is_empty() { 0 } else { 1 }),
            "{file}: apply: {out}"
        );
        assert!(!out.contains("FabNode"), "{file}: {out}");
        let wiring = if needs_wiring {
            REFERENCED_WIRING_OBJECTS
        } else {
            0
        };
        let ok = objects.len() - rejects.len() + wiring;
        assert!(
            out.contains(&format!("{ok} object(s) applied, {} failed", rejects.len())),
            "{file}: {out}"
        );
        for object in &objects {
            // A fabric over several namespaces names its objects Kind/namespace/name (the
            // only document of the spanning file is the docs' Gateway, in `fab`).
            let shown = if names_fab {
                object.replacen('/', "/fab/", 1)
            } else {
                object.clone()
            };
            match rejects.iter().find(|(_, name, _)| *name == object.as_str()) {
                None => assert!(
                    out.lines()
                        .any(|l| l.trim() == format!("apply  ok     {shown}")),
                    "{file}: {object} applied: {out}"
                ),
                Some((_, _, reason)) => {
                    let line = out
                        .lines()
                        .find(|l| l.trim().starts_with(&format!("apply  FAILED {object}: ")))
                        .unwrap_or_else(|| panic!("{file}: no FAILED line for {object}: {out}"));
                    assert!(line.contains(reason), "{file}: {line}");
                    rejected.push(line.trim().to_string());
                }
            }
        }
        applied_total += objects.len() - rejects.len();

        // Semantic drift after the webhook's defaults: every applied object in sync.
        let verdicts = verdicts(&temp, &config, &fabric);
        for object in &objects {
            let want = if rejects.iter().any(|(_, name, _)| *name == object.as_str()) {
                json!("Missing")
            } else {
                json!("InSync")
            };
            assert_eq!(
                verdicts.get(object),
                Some(&want),
                "{file}: {object}: {verdicts:?}"
            );
        }
        if names_fab {
            // `fab` outlives this test on the shared plane: leave nothing in it.
            common::admin_api(plane, "Gateway", "fab")
                .delete("gateway-1", &DeleteParams::default())
                .await
                .unwrap();
        }
    }
    // 20 documents: 1 FabNode, 1 schema reject, 18 applied.
    assert_eq!(applied_total, 18);
    assert_eq!(rejected.len(), 1, "{rejected:?}");
}

/// A two-sided peering and a gateway written with Go's zero values where the webhook
/// defaults: the stored objects hold the defaults, and neither reads as drift.
const ZERO_VALUES: &str = "\
apiVersion: gateway.githedgehog.com/v1alpha1
kind: GatewayGroup
metadata:
  name: default
spec: {}
---
apiVersion: gateway.githedgehog.com/v1alpha1
kind: Gateway
metadata:
  name: gw-zero
spec:
  asn: 65534
  workers: 0
  groups: []
  logs:
    default: \"\"
    tags: {}
    rateLimit:
      burst: 0
      replenishPerSecond: 0
---
apiVersion: gateway.githedgehog.com/v1alpha1
kind: GatewayPeering
metadata:
  name: vpc-1--vpc-2
spec:
  gatewayGroup: \"\"
  peering:
    vpc-1:
      expose:
      - ips:
        - cidr: 10.0.0.0/24
        as:
        - cidr: 10.0.1.0/31
        nat:
          masquerade:
            idleTimeout: 0s
    vpc-2:
      expose:
      - ips:
        - cidr: 192.168.0.0/16
  acl:
    default: \"\"
    rules:
    - from: vpc-1
      action: allow
      scope: \"\"
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_defaults_are_not_drift_and_an_expose_edit_shows_its_path() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "gw-drift";
    plane.grant(ns).await.unwrap();
    let (temp, config) = common::git_fabric(
        plane,
        ns,
        "gwdrift",
        &[("g/gateway.yaml", ZERO_VALUES.as_bytes())],
        "g",
    );
    let (code, out) = run(&temp, &config, &["sync"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run(&temp, &config, &["apply", "gwdrift"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("3 object(s) applied, 0 failed"), "{out}");

    // The webhook stored its defaults in place of Git's zero values...
    let gateway = common::admin_api(plane, "Gateway", ns)
        .get("gw-zero")
        .await
        .unwrap();
    assert_eq!(gateway.data["spec"]["workers"], 4);
    assert_eq!(gateway.data["spec"]["groups"], json!([{"name": "default"}]));
    assert_eq!(
        gateway.data["spec"]["logs"],
        json!({"default": "info", "tags": {"all": "info"},
               "rateLimit": {"burst": 50, "replenishPerSecond": 5}})
    );
    let peerings = common::admin_api(plane, "GatewayPeering", ns);
    let peering = peerings.get("vpc-1--vpc-2").await.unwrap();
    assert_eq!(peering.data["spec"]["gatewayGroup"], "default");
    assert_eq!(
        peering.data["spec"]["acl"]["default"],
        "deny-unless-exposed"
    );
    assert_eq!(peering.data["spec"]["acl"]["rules"][0]["scope"], "flow");
    assert_eq!(
        peering.data["spec"]["peering"]["vpc-1"]["expose"][0]["nat"]["masquerade"]["idleTimeout"],
        "2m0s"
    );
    assert_eq!(
        peering.metadata.labels.as_ref().unwrap()["vpc.gateway.githedgehog.com/vpc-2"],
        "true"
    );
    // ...and the semantic diff calls none of it drift.
    let (code, out) = run(&temp, &config, &["diff", "gwdrift"]);
    assert_eq!(
        code,
        Some(0),
        "semantic diff after the gateway webhook's defaults: {out}"
    );
    assert!(out.contains("in sync: 3 object(s) match Git"), "{out}");

    // Someone edits the first expose entry of vpc-1 on the cluster.
    let mut sides = peering.data["spec"]["peering"].clone();
    sides["vpc-1"]["expose"][0]["ips"][0]["cidr"] = json!("10.0.9.0/24");
    peerings
        .patch(
            "vpc-1--vpc-2",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"peering": sides}})),
        )
        .await
        .unwrap();
    let (code, out) = run(&temp, &config, &["diff", "gwdrift"]);
    assert_eq!(code, Some(1), "{out}");
    // Path lines, without the `live:` / `git:` attribution lines indented under them.
    let drift_lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("      ") && !l.starts_with("          "))
        .map(str::trim)
        .collect();
    assert_eq!(
        drift_lines,
        ["spec.peering.vpc-1.expose[0].ips[0].cidr: 10.0.0.0/24 → 10.0.9.0/24"],
        "{out}"
    );
    assert!(out.contains("1 object(s) out of sync: 1 drifted"), "{out}");
}
