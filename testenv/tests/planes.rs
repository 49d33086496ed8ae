//! Tests that need their own control planes: API server restarts, etcd
//! compaction (410 Gone), two control planes at once, and teardown.

mod common;

use std::time::Duration;

use common::{api, api_code, assert_code, vpc, within};
use futures::{StreamExt as _, TryStreamExt as _};
use kube::api::{
    DynamicObject, ListParams, PatchParams, PostParams, VersionMatch, WatchEvent, WatchParams,
};
use kube::runtime::watcher;
use testenv::{ControlPlane, Identity, Options};

const NS: &str = "default";

/// Outcome of a watch started at `rv`: `Ok(first object event name)` or
/// `Err(HTTP/Status code)`.
async fn watch_from(api: &kube::Api<DynamicObject>, rv: &str) -> Result<String, u16> {
    let stream = match api.watch(&WatchParams::default().timeout(5), rv).await {
        Ok(stream) => stream,
        Err(e) => return Err(api_code(&e).unwrap_or_else(|| panic!("watch: {e}"))),
    };
    let mut stream = stream.boxed();
    within(30, "first watch event", async {
        loop {
            match stream.try_next().await {
                Ok(Some(WatchEvent::Error(status))) => return Err(status.code),
                Ok(Some(WatchEvent::Bookmark(_))) => continue,
                Ok(Some(
                    WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o),
                )) => {
                    return Ok(o.metadata.name.unwrap_or_default());
                }
                Ok(None) => panic!("watch from {rv} ended without events"),
                Err(e) => return Err(api_code(&e).unwrap_or_else(|| panic!("watch stream: {e}"))),
            }
        }
    })
    .await
}

/// What every VPC refers to (IPv4Namespace and VLANNamespace `default`): the admission
/// webhook refuses a VPC without them.
async fn vpc_prerequisites(plane: &ControlPlane) {
    plane
        .apply_objects(&testenv::fixtures::vpc_prerequisites(NS))
        .await
        .expect("the VPC prerequisites");
}

/// Create a VPC and modify it a few times; returns (resourceVersion after
/// create, resourceVersion after the last change).
async fn churn(vpcs: &kube::Api<DynamicObject>, name: &str) -> (String, String) {
    let created = vpcs
        .create(&PostParams::default(), &vpc(name, NS, 1001))
        .await
        .expect("create");
    let first = created.metadata.resource_version.expect("rv");
    let mut last = first.clone();
    for i in 0..3 {
        let patch = serde_json::json!({ "metadata": { "labels": { "n": i.to_string() } } });
        let o = vpcs
            .patch(
                name,
                &PatchParams::default(),
                &kube::api::Patch::Merge(&patch),
            )
            .await
            .expect("patch");
        last = o.metadata.resource_version.expect("rv");
    }
    (first, last)
}

#[tokio::test]
async fn compaction_expires_old_resource_versions() {
    // Without the watch cache every watch and exact read goes to etcd, so
    // compaction alone expires older resourceVersions.
    let plane = ControlPlane::start_with(Options {
        watch_cache: false,
        ..Options::default()
    })
    .await
    .expect("starting a control plane without watch cache");
    vpc_prerequisites(&plane).await;
    let client = plane.client(Identity::Operator);
    let vpcs = api(&client, &plane, "VPC", NS);
    let (old, last) = churn(&vpcs, "compacted").await;

    assert_eq!(
        watch_from(&vpcs, &old).await,
        Ok("compacted".into()),
        "before compaction"
    );
    let revision = plane.compact().await.expect("compact");
    assert!(
        revision >= last.parse::<i64>().unwrap(),
        "compacted at {revision} >= {last}"
    );

    assert_eq!(
        watch_from(&vpcs, &old).await,
        Err(410),
        "watch from a compacted resourceVersion"
    );
    let exact = ListParams::default().at(&old).matching(VersionMatch::Exact);
    assert_code(
        vpcs.list(&exact).await,
        410,
        "exact list at a compacted resourceVersion",
    );
    // The current state is still readable and watchable.
    let list = vpcs
        .list(&ListParams::default())
        .await
        .expect("list after compaction");
    assert_eq!(list.items.len(), 1);
    let rv = list.metadata.resource_version.expect("rv");
    let stream = vpcs
        .watch(&WatchParams::default().timeout(2), &rv)
        .await
        .expect("watch");
    let events: Vec<_> = within(30, "short watch", stream.try_collect::<Vec<_>>())
        .await
        .expect("events");
    assert!(
        events.iter().all(|e| !matches!(e, WatchEvent::Error(_))),
        "{events:?}"
    );
}

#[tokio::test]
async fn restart_apiserver_keeps_data_and_expires_the_watch_window() {
    let mut plane = ControlPlane::start()
        .await
        .expect("starting a control plane");
    vpc_prerequisites(&plane).await;
    let url = plane.server_url();
    let client = plane.client(Identity::Operator);
    let vpcs = api(&client, &plane, "VPC", NS);
    let (old, _) = churn(&vpcs, "survivor").await;
    let uid = vpcs.get("survivor").await.expect("get").metadata.uid;

    // A kube-runtime watcher across the outage: Init... then errors while the
    // API server is down, then a fresh list and new events after it is back.
    let watcher_api = api(&plane.client(Identity::Reader), &plane, "VPC", NS);
    let mut events = watcher(watcher_api, watcher::Config::default()).boxed();
    within(30, "initial list", async {
        loop {
            if let watcher::Event::InitDone =
                events.try_next().await.expect("watcher").expect("open")
            {
                break;
            }
        }
    })
    .await;

    // With the watch cache, compaction does not expire recent watch history ...
    plane.compact().await.expect("compact");
    assert_eq!(
        watch_from(&vpcs, &old).await,
        Ok("survivor".into()),
        "served from the watch cache"
    );

    plane.stop_apiserver().await;
    assert!(!plane.apiserver_running());
    let down = within(30, "request while down", vpcs.get("survivor")).await;
    assert!(
        down.is_err() && api_code(down.as_ref().unwrap_err()).is_none(),
        "{down:?}"
    );
    let saw_error = within(60, "watcher error", async {
        loop {
            if events.next().await.expect("watcher stream").is_err() {
                return true;
            }
        }
    })
    .await;
    assert!(saw_error);

    plane
        .start_apiserver()
        .await
        .expect("starting kube-apiserver again");
    assert_eq!(plane.server_url(), url, "same port");
    // Same etcd: the object survives; same tokens and CA: old clients work.
    assert_eq!(
        vpcs.get("survivor")
            .await
            .expect("get after restart")
            .metadata
            .uid,
        uid
    );
    // ... but the restarted API server's watch window starts now.
    assert_eq!(
        watch_from(&vpcs, &old).await,
        Err(410),
        "watch from before the restart"
    );

    vpcs.create(&PostParams::default(), &vpc("after-restart", NS, 1002))
        .await
        .expect("create");
    let names = within(60, "watcher recovery", async {
        let mut names = Vec::new();
        loop {
            if let Ok(watcher::Event::InitApply(o) | watcher::Event::Apply(o)) =
                events.next().await.expect("watcher stream")
            {
                names.push(o.metadata.name.unwrap_or_default());
                if names.iter().any(|n| n == "after-restart") {
                    return names;
                }
            }
        }
    })
    .await;
    assert!(names.contains(&"after-restart".to_string()), "{names:?}");

    // A crash (SIGKILL) and a plain restart keep the data too.
    plane.kill_apiserver();
    assert!(!plane.apiserver_running());
    plane.start_apiserver().await.expect("start after kill");
    plane.restart_apiserver().await.expect("restart");
    assert!(plane.apiserver_running());
    let list = vpcs
        .list(&ListParams::default())
        .await
        .expect("list after more restarts");
    assert_eq!(list.items.len(), 2);
}

#[tokio::test]
async fn two_control_planes_are_isolated() {
    let (a, b) = tokio::join!(ControlPlane::start(), ControlPlane::start());
    let (a, b) = (a.expect("plane A"), b.expect("plane B"));
    vpc_prerequisites(&a).await;
    assert_ne!(a.server_url(), b.server_url());
    assert_ne!(a.ca_pem(), b.ca_pem());

    let a_vpcs = api(&a.client(Identity::Admin), &a, "VPC", NS);
    a_vpcs
        .create(&PostParams::default(), &vpc("only-in-a", NS, 1))
        .await
        .expect("create in A");
    let b_vpcs = api(&b.client(Identity::Admin), &b, "VPC", NS);
    assert!(
        b_vpcs
            .list(&ListParams::default())
            .await
            .expect("list B")
            .items
            .is_empty()
    );

    // A's tokens are not valid on B (401), whatever the identity.
    for who in Identity::ALL {
        assert_ne!(a.token(who), b.token(who));
        let mut config = b.config(who);
        config.auth_info.token = Some(a.token(who).to_string().into());
        let client = kube::Client::try_from(config).unwrap();
        assert_code(
            api(&client, &b, "VPC", NS)
                .list(&ListParams::default())
                .await,
            401,
            &format!("A's {} token on B", who.name()),
        );
    }
    // A's CA does not vouch for B's server.
    let mut config = b.config(Identity::Admin);
    config.root_cert = Some(vec![a.ca_der().to_vec()]);
    let client = kube::Client::try_from(config).unwrap();
    let err = within(30, "A's CA on B", client.apiserver_version())
        .await
        .expect_err("TLS must fail");
    assert!(api_code(&err).is_none(), "{err:?}");
}

#[tokio::test]
async fn drop_kills_processes_and_removes_the_dir() {
    let plane = ControlPlane::start_with(Options {
        install_crds: false,
        webhook: false,
        ..Options::default()
    })
    .await
    .expect("starting a control plane without CRDs");
    assert!(plane.crds().is_empty());
    let dir = plane.dir().to_path_buf();
    let pids = plane.pids();
    assert_eq!(pids.len(), 2);
    let port = plane.port();
    assert!(dir.join("etcd.log").exists() && plane.apiserver_log().exists());
    drop(plane);

    assert!(
        !dir.exists() || std::env::var_os("HHDASH_TESTENV_KEEP").is_some(),
        "{} removed",
        dir.display()
    );
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} reaped"
        );
    }
    let refused = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(1),
    );
    assert!(refused.is_err(), "nothing listens on {port} any more");
}
