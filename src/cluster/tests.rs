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
