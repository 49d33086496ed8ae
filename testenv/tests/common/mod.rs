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
