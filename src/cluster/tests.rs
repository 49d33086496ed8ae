use super::*;
use crate::config::Config;
use crate::kinds;

/// A fabric over `default` and `fab` whose server nothing listens on: a request that left
/// hhdash would fail as Unreachable, not as Unmanaged.
fn client() -> FabricClient {
    let text = "[[fabric]]\nname = \"east\"\nnamespaces = [\"default\", \"fab\"]\n[fabric.kubernetes]\nserver = \"https://127.0.0.1:9\"\ntoken_env = \"EAST_TOKEN\"\ninsecure_skip_tls_verify = true\n[fabric.git]\nurl = \"/srv/git/fabrics\"\nbranch = \"main\"\ndirectory = \"east\"\n";
    let fabric = Config::parse(text, std::path::Path::new("/tmp/config.toml"))
        .unwrap()
        .fabrics
        .remove(0);
    FabricClient::new(&fabric, &Secret::new("token")).unwrap()
}

#[tokio::test]
async fn nothing_outside_the_managed_namespaces_is_read_written_or_deleted() {
    let client = client();
    let info = kinds::by_kind("GatewayPeering").unwrap();
    let key = ObjectKey {
        kind: info.kind.into(),
        namespace: "kube-system".into(),
        name: "p".into(),
    };
    let object = serde_json::json!({});
    let unmanaged = |error: ClusterError| {
        let text = error.to_string();
        assert!(matches!(error, ClusterError::Unmanaged { .. }), "{text}");
        assert!(text.contains("\"kube-system\""), "{text}");
        assert!(text.contains("\"default\", \"fab\""), "{text}");
    };
    unmanaged(
        client
            .apply(info, &key, &object, true, false)
            .await
            .unwrap_err(),
    );
    unmanaged(client.delete(info, &key, None, true).await.unwrap_err());
    unmanaged(client.list_in(info, "kube-system").await.unwrap_err());
    // A managed namespace gets as far as the (absent) server.
    let managed = ObjectKey {
        namespace: "fab".into(),
        ..key
    };
    let error = client.apply(info, &managed, &object, true, false).await;
    assert!(error.unwrap_err().is_unreachable());
}

#[test]
fn objects_are_named_with_their_namespace_once_a_fabric_has_several() {
    let key = ObjectKey {
        kind: "Gateway".into(),
        namespace: "fab".into(),
        name: "gw-1".into(),
    };
    assert_eq!(client_names(&["default", "fab"], &key), "Gateway/fab/gw-1");
    assert_eq!(client_names(&["fab"], &key), "Gateway/gw-1");
}

fn client_names(managed: &[&str], key: &ObjectKey) -> String {
    let namespaces = Namespaces {
        default: managed[0].to_string(),
        managed: managed.iter().map(|ns| ns.to_string()).collect(),
        by_kind: Default::default(),
    };
    namespaces.object_name(key)
}

/// Managed fields as the testenv API server returned them for a GatewayPeering hhdash applied
/// (the webhook's labels are hhdash's), with a finalizer a controller added and a status
/// write.
fn managed_fields() -> serde_json::Value {
    serde_json::json!({"metadata": {"name": "db--mgmt", "managedFields": [
        {"apiVersion":"gateway.githedgehog.com/v1alpha1","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{"f:vpc.gateway.githedgehog.com/db":{},"f:vpc.gateway.githedgehog.com/mgmt":{}}},"f:spec":{"f:gatewayGroup":{},"f:peering":{"f:db":{".":{},"f:expose":{}},"f:mgmt":{".":{},"f:expose":{}}}}},"manager":"hhdash","operation":"Apply","time":"2026-11-28T04:19:13Z"},
        {"apiVersion":"gateway.githedgehog.com/v1alpha1","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:finalizers":{".":{},"v:\"example.com/keep\"":{}}}},"manager":"gateway-ctrl","operation":"Update","time":"2026-11-28T04:19:14Z"},
        {"apiVersion":"gateway.githedgehog.com/v1alpha1","fieldsType":"FieldsV1","fieldsV1":{"f:status":{}},"manager":"gateway-ctrl","operation":"Update","subresource":"status","time":"2026-11-28T04:20:55Z"}
    ]}})
}

#[test]
fn writable_kinds_keep_the_field_sets_drift_can_use_and_read_only_kinds_the_summary() {
    let mut peering = managed_fields();
    strip_server_noise(kinds::by_kind("GatewayPeering").unwrap(), &mut peering);
    assert_eq!(
        peering["metadata"]["managedFields"],
        serde_json::json!([
            {"fieldsV1":{"f:metadata":{"f:labels":{"f:vpc.gateway.githedgehog.com/db":{},"f:vpc.gateway.githedgehog.com/mgmt":{}}},"f:spec":{"f:gatewayGroup":{},"f:peering":{"f:db":{".":{},"f:expose":{}},"f:mgmt":{".":{},"f:expose":{}}}}},"manager":"hhdash","operation":"Apply","time":"2026-11-28T04:19:13Z"},
            {"manager":"gateway-ctrl","operation":"Update","time":"2026-11-28T04:19:14Z"},
            {"manager":"gateway-ctrl","operation":"Update","subresource":"status","time":"2026-11-28T04:20:55Z"}
        ])
    );
    let mut agent = managed_fields();
    strip_server_noise(kinds::by_kind("GatewayAgent").unwrap(), &mut agent);
    let summary = agent["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(summary.len(), 3);
    assert!(summary.iter().all(|entry| entry.get("fieldsV1").is_none()));
    assert!(crate::trust::applied_by_hhdash(&agent) && crate::trust::applied_by_hhdash(&peering));
}
