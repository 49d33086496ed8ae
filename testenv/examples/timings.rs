//! Measure the control plane: time to ready (per phase), API server
//! stop/start, etcd compaction and teardown.
//!
//! `cargo run -p hhdash-testenv --example timings [ROUNDS]` (default 3 rounds).

use std::time::Instant;

use testenv::{ControlPlane, Identity};

#[tokio::main]
async fn main() -> Result<(), testenv::Error> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    for round in 1..=rounds {
        let t = Instant::now();
        let mut plane = ControlPlane::start().await?;
        let ready = t.elapsed();
        let p = plane.timings();
        println!(
            "round {round}: ready {ready:.2?} = setup {:.2?} + etcd {:.2?} + kube-apiserver {:.2?} \
             + grants {:.2?} + {} CRDs {:.2?} + webhook {:.2?}",
            p.setup,
            p.etcd,
            p.apiserver,
            p.grants,
            plane.crds().len(),
            p.crds,
            p.webhook
        );

        let t = Instant::now();
        plane.stop_apiserver().await;
        let stop = t.elapsed();
        let t = Instant::now();
        plane.start_apiserver().await?;
        let start = t.elapsed();
        plane
            .client(Identity::Admin)
            .apiserver_version()
            .await
            .map_err(|source| testenv::Error::Kube {
                context: "version after restart".into(),
                source,
            })?;
        let t = Instant::now();
        let revision = plane.compact().await?;
        let compact = t.elapsed();
        let t = Instant::now();
        drop(plane);
        let teardown = t.elapsed();
        println!(
            "round {round}: stop_apiserver {stop:.2?}, start_apiserver {start:.2?}, \
             compact@{revision} {compact:.2?}, drop {teardown:.2?}"
        );
    }
    Ok(())
}
