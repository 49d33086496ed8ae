//! Fixtures shared by the drift tests: the kind registry, keys, a VPC as Git has it and as
//! the API server and webhooks store it.

use serde_json::{Value, json};

use super::FieldDiff;
use crate::kinds::{self, KindInfo, ObjectKey};

pub(super) fn kind(name: &str) -> &'static KindInfo {
    kinds::by_kind(name).unwrap()
}

pub(super) fn key(kind: &str, name: &str) -> ObjectKey {
    ObjectKey {
        kind: kind.into(),
        namespace: "default".into(),
        name: name.into(),
    }
}

pub(super) fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).unwrap()
}

pub(super) fn diff(path: &str, desired: Option<Value>, live: Option<Value>) -> FieldDiff {
    FieldDiff {
        path: path.into(),
        desired,
        live,
    }
}

/// What the API server and the Hedgehog webhooks add to every object they store.
pub(super) fn serverside(mut object: Value, fabric_labels: Value) -> Value {
    let metadata = object["metadata"].as_object_mut().unwrap();
    metadata.insert("namespace".into(), json!("default"));
    metadata.insert("uid".into(), json!("0b6f3c1e-1d9e-4c1b-9d7a-2f4c1d1e0a77"));
    metadata.insert("resourceVersion".into(), json!("48213"));
    metadata.insert("generation".into(), json!(3));
    metadata.insert("creationTimestamp".into(), json!("2025-01-02T03:04:05Z"));
    metadata.insert(
        "managedFields".into(),
        json!([{"manager": "hhdash", "operation": "Apply", "fieldsV1": {"f:spec": {}}}]),
    );
    metadata.insert(
        "finalizers".into(),
        json!(["fabric.githedgehog.com/cleanup"]),
    );
    let labels = metadata.entry("labels").or_insert_with(|| json!({}));
    let labels = labels.as_object_mut().unwrap();
    labels.retain(|k, _| !k.contains("fabric.githedgehog.com/"));
    labels.extend(fabric_labels.as_object().unwrap().clone());
    object["status"] = json!({});
    object
}

pub(super) const VPC: &str = r#"
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-1
  labels:
    team: blue
spec:
  subnets:
    default:
      subnet: 10.0.1.0/24
      vlan: 1001
      dhcp:
        enable: true
        options:
          dnsServers: [10.10.10.1, 10.10.10.2]
"#;

pub(super) fn vpc_live() -> Value {
    let mut live = serverside(
        yaml(VPC),
        json!({"fabric.githedgehog.com/ipv4ns": "default", "fabric.githedgehog.com/vlanns": "default"}),
    );
    // The VPC webhook's defaults (README: gateway, namespaces, DHCP option defaults).
    live["spec"]["ipv4Namespace"] = json!("default");
    live["spec"]["vlanNamespace"] = json!("default");
    let subnet = &mut live["spec"]["subnets"]["default"];
    subnet["gateway"] = json!("10.0.1.1");
    subnet["dhcp"]["options"]["interfaceMTU"] = json!(9036);
    subnet["dhcp"]["options"]["leaseTimeSeconds"] = json!(3600);
    subnet["dhcp"]["options"]["timeServers"] = json!([]);
    live
}
