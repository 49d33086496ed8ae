//! The dashboard's apply (the engine's `A`) when the API server goes silent midway: it runs on
//! the same apply core as `hhdash apply` (`hhdash::apply`), so it stops sending at the first object
//! without an answer instead of waiting out every object after it, marks the objects that were
//! in flight, and says how many were never sent. The CLI side of the same rule is in `cluster_deadlink`.
//!
//! The test freezes its own control plane: a frozen shared one would stall every other test.

use crate::common;

use hhdash::engine::{EngineEvent, JobKind, JobPhase};
use hhdash::status::WatchState;
use testenv::{ControlPlane, Identity, Options};

const OBJECTS: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_apply_stops_when_the_server_stops_answering_and_counts_what_was_not_sent() {
    let ns = "apply-outage";
    let plane = ControlPlane::start_with(Options {
        namespaces: vec![ns.into()],
        ..Default::default()
    })
    .await
    .expect("control plane");
    plane
        .apply_objects(&testenv::fixtures::vpc_prerequisites(ns))
        .await
        .unwrap();
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path().join("repo");
    let documents: String = (0..OBJECTS)
        .map(|i| {
            format!(
                "---\napiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: out-{i:03}\n  namespace: {ns}\nspec:\n  subnets:\n    default:\n      subnet: 10.6.0.0/24\n      vlan: {}\n",
                1000 + i
            )
        })
        .collect();
    common::repo_with(&repo, &[("f/vpcs.yaml", documents.as_bytes())]);
    let config = common::cluster_config(
        temp.path(),
        "outage",
        ns,
        &plane.server_url(),
        &plane.token_file(Identity::Operator),
        plane.ca_file(),
        &repo,
        "f",
    );
    let common::RunningEngine {
        events: mut rx,
        commands,
        ..
    } = common::start_synced_engine(temp.path(), &config);
    common::wait_for_watch_state(&mut rx, 60, WatchState::Active).await;

    common::apply_out_of_sync(&commands).await;
    common::wait_for_event(&mut rx, 60, "the apply's first object", |e| {
        matches!(
            e,
            EngineEvent::Job {
                job: JobKind::Apply,
                phase: JobPhase::Progress { .. },
                ..
            }
        )
    })
    .await;
    plane.freeze_apiserver().unwrap();
    // The objects in flight wait out the one-shot client's read timeout (10 s), then the run
    // ends; without the stop every further object would wait as long (minutes in all).
    let finished = common::wait_for_apply_end(&mut rx, 60).await;
    plane.thaw_apiserver().unwrap();

    let EngineEvent::Job {
        phase: JobPhase::Failed { message },
        ..
    } = finished
    else {
        panic!("an apply the server stopped answering during must fail: {finished:?}");
    };
    // "applied N object(s), 1 failed, M not sent because the server stopped answering"
    let number_before = |word: &str| -> usize {
        let at = message
            .find(word)
            .unwrap_or_else(|| panic!("{word:?} in {message:?}"));
        message[..at]
            .split_whitespace()
            .last()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a count before {word:?} in {message:?}"))
    };
    let applied = number_before("object(s)");
    let failed = number_before("failed");
    let not_sent = number_before("not sent because the server stopped answering");
    assert!(
        (1..=hhdash::apply::CONCURRENCY).contains(&failed),
        "only the objects in flight failed (at most {} at once): {message}",
        hhdash::apply::CONCURRENCY
    );
    assert!(not_sent > 0, "it stopped before the end: {message}");
    assert_eq!(
        applied + failed + not_sent,
        OBJECTS,
        "every object is accounted for: {message}"
    );
}
