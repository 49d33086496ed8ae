//! Objects a test sets up first so that what it applies finds its references on a control
//! plane with the admission webhook ([`crate::webhook`]), as it would on a real fabric where
//! `hhfab` installed the wiring. Each comes with `namespace: default` replaced by the test's
//! namespace; apply them with [`ControlPlane::apply_objects`](crate::ControlPlane::apply_objects)
//! or put them in a test's Git repository.
//!
//! [`generated_fabric`]: a fabric of any size in realistic shapes, for benchmarks and tests
//! that need many objects; [`alias_bomb`]: the reproduced YAML alias bomb.

use serde::Deserialize as _;
use serde_json::{Value, json};

mod generated;
pub use generated::{alias_bomb, generated_fabric, generated_objects};

/// The wiring the demo-gitops env-1 samples (`shared/hedgehog/samples/demo-gitops/env-1`)
/// refer to, as YAML in `namespace: default`: IPv4Namespace and VLANNamespace `default`,
/// SwitchGroup `mclag-1`, Switches `s5248-01`/`s5248-02`, Servers `server-1`/`-3`/`-4`, the
/// three Connections the VPCAttachments name and the External `default` the ExternalPeering
/// names (12 objects, in apply order). Written for the tests; see the file's header.
pub const DEMO_GITOPS_WIRING: &str = include_str!("../fixtures/demo-gitops-wiring.yaml");

/// [`DEMO_GITOPS_WIRING`] as YAML moved to `namespace`.
pub fn demo_gitops_wiring_yaml(namespace: &str) -> String {
    DEMO_GITOPS_WIRING.replace("namespace: default", &format!("namespace: {namespace}"))
}

/// [`DEMO_GITOPS_WIRING`] as objects in `namespace`, in apply order.
pub fn demo_gitops_wiring(namespace: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(&demo_gitops_wiring_yaml(namespace))
        .map(|doc| {
            let value = serde_yaml::Value::deserialize(doc).expect("the fixture is valid YAML");
            serde_json::to_value(value).expect("the fixture converts to JSON")
        })
        .collect()
}

/// What every VPC refers to: the IPv4Namespace `default` (10.0.0.0/8) and the VLANNamespace
/// `default` (VLANs 1000–2999) in `namespace`, as `hhfab` installs them on every fabric.
pub fn vpc_prerequisites(namespace: &str) -> Vec<Value> {
    vec![
        json!({"apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "IPv4Namespace",
               "metadata": {"name": "default", "namespace": namespace},
               "spec": {"subnets": ["10.0.0.0/8"]}}),
        json!({"apiVersion": "wiring.githedgehog.com/v1beta1", "kind": "VLANNamespace",
               "metadata": {"name": "default", "namespace": namespace},
               "spec": {"ranges": [{"from": 1000, "to": 2999}]}}),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_wiring_holds_what_the_demo_refers_to_in_apply_order() {
        let objects = demo_gitops_wiring("team-a");
        let names: Vec<String> = objects
            .iter()
            .map(|o| {
                format!(
                    "{}/{}",
                    o["kind"].as_str().unwrap(),
                    o["metadata"]["name"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                "IPv4Namespace/default",
                "VLANNamespace/default",
                "SwitchGroup/mclag-1",
                "Switch/s5248-01",
                "Switch/s5248-02",
                "Server/server-1",
                "Server/server-3",
                "Server/server-4",
                "Connection/server-1--mclag--s5248-01--s5248-02",
                "Connection/server-3--bundled--s5248-01",
                "Connection/server-4--unbundled--s5248-02",
                "External/default",
            ]
        );
        assert!(
            objects
                .iter()
                .all(|o| o["metadata"]["namespace"] == "team-a")
        );
    }
}
