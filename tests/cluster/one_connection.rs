//! One fabric costs its API server one TCP connection: every watch (one per watched kind and
//! namespace), the liveness probe and the one-shot requests are streams of one HTTP/2
//! connection. Over HTTP/1.1 each watch held a connection of its own (~20 per fabric,
//! thousands for a fleet, the API server's and any load balancer's limits).
//!
//! Counted as an operator would (`ss -tnp`): the established sockets of the `hhdash watch`
//! process to the API server's port, read from /proc. The process is a child, so the test's
//! own clients (and the other tests sharing the plane) are not counted.

use crate::common;

use std::time::{Duration, Instant};

use kube::api::PostParams;

const NS: &str = "one-connection";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watching_fabric_holds_one_connection_to_its_api_server() {
    let plane = testenv::shared().await.expect("control plane");
    plane.grant(NS).await.unwrap();
    plane
        .apply_objects(&testenv::fixtures::vpc_prerequisites(NS))
        .await
        .unwrap();
    let (temp, config) = common::demo_fabric(plane, NS, "one");
    let dir = temp.path();
    let mut watch = common::spawn_watch(dir, &config, &dir.join("watch.redb"), "one", false);
    watch
        .wait_for_line(Duration::from_secs(60), "the watch active", |line| {
            line.contains("watch active")
        })
        .await;

    // The watches carry news over that connection: a VPC made by someone else shows up.
    let vpcs = common::admin_api(plane, "VPC", NS);
    vpcs.create(
        &PostParams::default(),
        &common::live_vpcs::vpc("made-elsewhere", NS, 1777),
    )
    .await
    .unwrap();
    watch
        .wait_for_line(
            Duration::from_secs(30),
            "the new VPC seen by the watch",
            |line| line.contains("VPC/made-elsewhere"),
        )
        .await;

    // Steady state. A second connection may be opened in the first instant, when requests
    // race before the TLS handshake has chosen HTTP/2; the client closes it once it has.
    let pid = watch.child.id();
    let port = plane.port();
    let until = Instant::now() + Duration::from_secs(15);
    let mut connections = testenv::support::sockets::established_to(pid, port);
    while connections != 1 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(200)).await;
        connections = testenv::support::sockets::established_to(pid, port);
    }
    assert_eq!(
        connections,
        1,
        "hhdash watch (pid {pid}) holds {connections} established connections to the API server \
         on port {port}; every watch and request of a fabric should share one. It printed:\n{}",
        watch.seen.join("\n")
    );
    watch.signal(common::SIGTERM);
    let out = watch
        .wait(Duration::from_secs(30), "hhdash watch after SIGTERM")
        .await;
    assert!(
        out.status.success(),
        "watch exits 0 on SIGTERM: {:?}",
        out.status
    );
}

/// A server whose TLS offers only `http/1.1` (proxies and load balancers in front of an API
/// server may) is still talked to: ALPN picks HTTP/1.1 and the client speaks it. The server
/// here is testenv's admission webhook imitation (a certificate from the plane's CA, ALPN
/// `http/1.1` only, `POST` only): `hhdash check` must get its HTTP answer to `GET /version`,
/// not fail in the TLS handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_speaks_only_http1_is_answered_over_http1() {
    let plane = testenv::shared().await.expect("control plane");
    let port = plane
        .webhook_port()
        .expect("the shared plane runs the webhook imitation");
    let (temp, _) = common::demo_fabric(plane, NS, "h1");
    let dir = temp.path();
    let config = common::cluster_config(
        dir,
        "h1",
        NS,
        &format!("https://127.0.0.1:{port}"),
        &plane.token_file(testenv::Identity::Operator),
        plane.ca_file(),
        &dir.join("repo"),
        "env-1",
    );
    let out = common::hhdash(dir, &config, &["check"]);
    let text = common::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    // The server answered `GET /version` (with a 405 kube does not read as a Status, hence
    // no code in the message): the request went through, only its answer is no API server's.
    assert!(
        text.contains("fabric h1: get /version"),
        "the HTTP/1.1-only server's answer to GET /version: {text}"
    );
    assert!(
        !text.contains("TLS") && !text.contains("cannot reach") && !text.contains("no answer"),
        "no handshake, connection or timeout failure: {text}"
    );
}
