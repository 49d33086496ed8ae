//! Each way a connection fails gets its own clear message — in `hhdash check`, in the fabric's
//! stored status, and in the engine — and nothing already in the store is lost. Two fabrics on
//! two control planes never see each other's token.

use crate::common;

use std::path::Path;

use hhdash::config::Config;
use hhdash::status::ConnectionState;
use hhdash::store::Store;
use testenv::{ControlPlane, Identity};

struct Fabric {
    temp: tempfile::TempDir,
    repo: std::path::PathBuf,
}

impl Fabric {
    fn new(namespace: &str) -> Fabric {
        let temp = tempfile::tempdir().unwrap();
        let repo = temp.path().join("repo");
        let files = common::demo_files(namespace);
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(p, b)| (p.as_str(), b.as_slice()))
            .collect();
        common::repo_with(&repo, &refs);
        Fabric { temp, repo }
    }

    fn config(
        &self,
        name: &str,
        namespace: &str,
        server: &str,
        token_file: &Path,
        ca_file: &Path,
    ) -> std::path::PathBuf {
        common::cluster_config(
            self.temp.path(),
            name,
            namespace,
            server,
            token_file,
            ca_file,
            &self.repo,
            "env-1",
        )
    }

    fn token_file(&self, token: &str) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.temp.path().join(format!("token-{}", token.len()));
        std::fs::write(&path, token).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    /// `hhdash sync` then `hhdash check`: returns check's exit code and text.
    fn check(&self, config: &Path) -> (Option<i32>, String) {
        let sync = common::hhdash(self.temp.path(), config, &["sync"]);
        assert!(sync.status.success(), "{}", common::output_text(&sync));
        let out = common::hhdash(self.temp.path(), config, &["check"]);
        (out.status.code(), common::output_text(&out))
    }

    fn store(&self) -> Store {
        Store::open(&self.temp.path().join("store.redb")).unwrap()
    }
}

fn assert_failed_and_nothing_lost(fabric: &Fabric, name: &str, expected: &[&str]) {
    let store = fabric.store();
    let status = store.fabric_status(name).unwrap();
    assert_eq!(status.connection.state, ConnectionState::Failed);
    let error = status.connection.error.unwrap();
    for part in expected {
        assert!(error.contains(part), "stored error lacks {part:?}: {error}");
    }
    assert_eq!(
        store.desired(name).unwrap().len(),
        common::DEMO_OBJECTS,
        "the desired set survives a failed connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_is_401_and_says_which_token() {
    let plane = testenv::shared().await.unwrap();
    plane.grant("err401").await.unwrap();
    let fabric = Fabric::new("err401");
    let token = fabric.token_file("not-a-valid-token-at-all");
    let config = fabric.config(
        "bad-token",
        "err401",
        &plane.server_url(),
        &token,
        plane.ca_file(),
    );
    let (code, text) = fabric.check(&config);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("rejected the token (401 Unauthorized)"),
        "{text}"
    );
    assert!(
        text.contains(&token.display().to_string()),
        "names the token file: {text}"
    );
    assert!(
        !text.contains("not-a-valid-token-at-all"),
        "never prints the token: {text}"
    );
    assert_failed_and_nothing_lost(&fabric, "bad-token", &["401"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_rbac_is_403_naming_verb_and_resource() {
    let plane = testenv::shared().await.unwrap();
    // The operator token is bound to "granted", not to "not-granted".
    plane.grant("granted").await.unwrap();
    let fabric = Fabric::new("not-granted");
    let config = fabric.config(
        "no-rbac",
        "not-granted",
        &plane.server_url(),
        &plane.token_file(Identity::Operator),
        plane.ca_file(),
    );
    let (code, text) = fabric.check(&config);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("RBAC forbids list on"), "{text}");
    assert!(text.contains("in namespace not-granted (403)"), "{text}");
    assert_failed_and_nothing_lost(&fabric, "no-rbac", &["403", "not-granted"]);

    // A reader connects fine but is told apply will be refused.
    plane.grant("readonly").await.unwrap();
    let fabric = Fabric::new("readonly");
    let config = fabric.config(
        "reader",
        "readonly",
        &plane.server_url(),
        &plane.token_file(Identity::Reader),
        plane.ca_file(),
    );
    let (code, text) = fabric.check(&config);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("RBAC: read only"), "{text}");
    assert!(text.contains("apply will be refused"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_says_so() {
    // A port nobody listens on, held for the whole test: bound but never listening, so a
    // connect is refused and no other process can take the port meanwhile.
    let held = tokio::net::TcpSocket::new_v4().unwrap();
    held.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = held.local_addr().unwrap().port();
    let plane = testenv::shared().await.unwrap();
    let fabric = Fabric::new("default");
    let config = fabric.config(
        "gone",
        "default",
        &format!("https://127.0.0.1:{port}"),
        &plane.token_file(Identity::Operator),
        plane.ca_file(),
    );
    let (code, text) = fabric.check(&config);
    // Exit 2, not 1: nothing could be checked (1 is for a server that answered with a problem).
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains(&format!("cannot reach https://127.0.0.1:{port}")),
        "{text}"
    );
    assert_failed_and_nothing_lost(&fabric, "gone", &["cannot reach"]);
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_fabrics_on_two_control_planes_stay_isolated() {
    let shared = testenv::shared().await.unwrap();
    shared.grant("iso").await.unwrap();
    let other = ControlPlane::start().await.unwrap();
    other.grant("iso").await.unwrap();

    // Each fabric with its own server, token and CA: both connect, so each token went only to
    // the server it is valid on (every token of one plane gets 401 on the other).
    let a = Fabric::new("iso");
    let b = Fabric::new("iso");
    let config_a = a.config(
        "fab-a",
        "iso",
        &shared.server_url(),
        &shared.token_file(Identity::Operator),
        shared.ca_file(),
    );
    let config_b = b.config(
        "fab-b",
        "iso",
        &other.server_url(),
        &other.token_file(Identity::Operator),
        other.ca_file(),
    );
    for (fabric, config) in [(&a, &config_a), (&b, &config_b)] {
        let (code, text) = fabric.check(config);
        assert_eq!(code, Some(0), "{text}");
        let out = common::hhdash(
            fabric.temp.path(),
            config,
            &[
                "apply",
                Config::load(config).unwrap().fabrics[0].name.as_str(),
            ],
        );
        assert!(out.status.success(), "{}", common::output_text(&out));
    }
    // Objects went to their own servers only: delete on A leaves B untouched. (A peering:
    // nothing refers to it, so the fabric's webhook lets it go.)
    let peerings = |plane: &ControlPlane| {
        kube::Api::<kube::api::DynamicObject>::namespaced_with(
            plane.client(Identity::Admin),
            "iso",
            &hhdash::cluster::api_resource(hhdash::kinds::by_kind("VPCPeering").unwrap()),
        )
    };
    peerings(shared)
        .delete("demo-vpc-1--demo-vpc-2", &Default::default())
        .await
        .unwrap();
    assert!(
        peerings(&other)
            .get_opt("demo-vpc-1--demo-vpc-2")
            .await
            .unwrap()
            .is_some()
    );
    let out = common::hhdash(a.temp.path(), &config_a, &["diff", "fab-a"]);
    assert_eq!(out.status.code(), Some(1), "{}", common::output_text(&out));
    let out = common::hhdash(b.temp.path(), &config_b, &["diff", "fab-b"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));

    // Fabric A's token pointed at B's server is rejected: a mix-up could never pass silently.
    let mixed = a.config(
        "mixed",
        "iso",
        &other.server_url(),
        &shared.token_file(Identity::Operator),
        other.ca_file(),
    );
    let (code, text) = a.check(&mixed);
    assert_eq!(code, Some(1));
    assert!(text.contains("401"), "{text}");

    // And B's server with A's CA fails TLS, naming the CA file used.
    let wrong_ca = a.config(
        "wrong-ca",
        "iso",
        &other.server_url(),
        &other.token_file(Identity::Operator),
        shared.ca_file(),
    );
    let (code, text) = a.check(&wrong_ca);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("TLS with"), "{text}");
    assert!(
        text.contains(&shared.ca_file().display().to_string()),
        "names the CA: {text}"
    );
}

#[test]
fn a_fabric_without_kubernetes_settings_never_falls_back_to_kubeconfig() {
    let temp = tempfile::tempdir().unwrap();
    let home = temp.path().join("home");
    std::fs::create_dir_all(home.join(".kube")).unwrap();
    std::fs::write(
        home.join(".kube/config"),
        "apiVersion: v1\nkind: Config\nclusters: []\n",
    )
    .unwrap();
    let config = temp.path().join("c.toml");
    std::fs::write(
        &config,
        "[[fabric]]\nname = \"lonely\"\n[fabric.git]\nurl = \"/tmp\"\nbranch = \"main\"\n",
    )
    .unwrap();
    let out = common::hhdash(temp.path(), &config, &["check"]);
    let text = common::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("fabric lonely: kubernetes: missing"),
        "{text}"
    );
    assert!(text.contains("no fallback to ~/.kube/config"), "{text}");
}
