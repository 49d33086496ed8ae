//! The core loop against the real control plane (testenv): sync real samples from Git, see them
//! Missing, apply, see them InSync, change one with another client and watch the drift appear
//! with its exact path and both values, apply again (forcing the conflict explicitly), and see
//! objects made only in the cluster as Orphan. Webhook-owned labels and server defaults are not
//! drift.

use crate::common;

use std::time::{Duration, Instant};

use hhdash::drift::Drift;
use hhdash::engine::{ApplyRequest, ApplyScope, Command, EngineEvent, JobKind, JobPhase};
use hhdash::kinds::ObjectKey;
use hhdash::status::WatchState;
use kube::api::{DynamicObject, Patch, PatchParams, PostParams};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_apply_drift_apply_round_trip() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "flow";
    plane.grant(ns).await.unwrap();
    let (temp, config_path) = common::demo_fabric(plane, ns, "flow");

    // Headless: sync, diff shows everything Missing (exit 1), apply, diff in sync (exit 0).
    let out = common::hhdash(temp.path(), &config_path, &["sync"]);
    assert!(out.status.success(), "{}", common::output_text(&out));
    let out = common::hhdash(temp.path(), &config_path, &["diff", "flow"]);
    let text = common::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let n = common::DEMO_OBJECTS;
    assert!(
        text.contains(&format!(
            "{n} object(s) out of sync: 0 drifted, {n} missing, 0 orphan"
        )),
        "{text}"
    );
    assert!(text.contains("demo-vpc-3  Missing"), "{text}");
    let out = common::hhdash(temp.path(), &config_path, &["apply", "flow"]);
    let text = common::output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("{n} object(s) applied, 0 failed")),
        "{text}"
    );
    let out = common::hhdash(temp.path(), &config_path, &["diff", "flow"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
    // Exact mode agrees: a server-side dry run of Git changes nothing live.
    let out = common::hhdash(
        temp.path(),
        &config_path,
        &["diff", "flow", "--server-side"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));

    // The engine, live: it must see everything InSync once its watch is Active.
    let common::RunningEngine {
        store,
        events: mut rx,
        commands,
    } = common::start_synced_engine(temp.path(), &config_path);
    let first = common::wait_for_event(&mut rx, 5, "snapshot", |e| {
        matches!(e, EngineEvent::Snapshot { .. })
    })
    .await;
    let EngineEvent::Snapshot { rows, .. } = first else {
        unreachable!()
    };
    assert_eq!(
        rows.len(),
        common::DEMO_OBJECTS,
        "the snapshot comes from the store before any network I/O"
    );
    common::wait_for_watch_state(&mut rx, 30, WatchState::Active).await;
    let drift_count = store.fabric_status("flow").unwrap().drift.count;
    assert_eq!(drift_count, 0, "everything applied is InSync");

    // Webhook-owned labels and annotations changed by someone else are not drift.
    let vpcs = common::admin_api(plane, "VPC", ns);
    let label =
        serde_json::json!({"metadata": {"labels": {"fabric.githedgehog.com/ipv4ns": "default"}}});
    vpcs.patch("demo-vpc-3", &PatchParams::default(), &Patch::Merge(&label))
        .await
        .unwrap();

    // Another client changes a VLAN: the watch reports Drifted at exactly that path.
    let changed_at = Instant::now();
    let patch = serde_json::json!({"spec": {"subnets": {"subnet-1": {"vlan": 1999}}}});
    vpcs.patch("demo-vpc-3", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let key = ObjectKey {
        kind: "VPC".into(),
        namespace: ns.into(),
        name: "demo-vpc-3".into(),
    };
    let event = common::wait_for_event(&mut rx, 10, "drift of demo-vpc-3", |e| match e {
        EngineEvent::Rows { upserts, .. } => upserts
            .iter()
            .any(|r| r.key == key && matches!(r.drift, Drift::Drifted(_))),
        _ => false,
    })
    .await;
    let latency = changed_at.elapsed();
    eprintln!("drift reported {latency:?} after the change");
    let EngineEvent::Rows { upserts, .. } = event else {
        unreachable!()
    };
    let row = upserts.iter().find(|r| r.key == key).unwrap();
    let Drift::Drifted(diffs) = &row.drift else {
        unreachable!()
    };
    assert_eq!(
        diffs.len(),
        1,
        "only the VLAN drifted, not the webhook label: {diffs:?}"
    );
    assert_eq!(diffs[0].path, "spec.subnets.subnet-1.vlan");
    assert_eq!(diffs[0].desired, Some(serde_json::json!(1131)));
    assert_eq!(diffs[0].live, Some(serde_json::json!(1999)));

    // Apply without force: the field now belongs to the other manager, so SSA reports a conflict.
    let apply = |force| {
        Command::Apply(ApplyRequest {
            scope: ApplyScope::OutOfSync,
            dry_run: false,
            force_conflicts: force,
        })
    };
    commands.send(apply(false)).await.unwrap();
    let done = common::wait_for_apply_end(&mut rx, 20).await;
    let EngineEvent::Job {
        phase: JobPhase::Failed { message },
        ..
    } = done
    else {
        panic!("expected a conflict, got {done:?}")
    };
    assert!(message.contains("1 failed"), "{message}");
    let error = store
        .resource_statuses("flow")
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == &key)
        .unwrap()
        .1
        .error
        .unwrap();
    assert!(error.contains("conflict"), "{error}");

    // With the explicit choice to force, Git wins and the watch sees it InSync again.
    commands.send(apply(true)).await.unwrap();
    common::wait_for_event(&mut rx, 20, "demo-vpc-3 back in sync", |e| match e {
        EngineEvent::Rows { upserts, .. } => upserts
            .iter()
            .any(|r| r.key == key && r.drift == Drift::InSync),
        _ => false,
    })
    .await;
    let live = vpcs.get("demo-vpc-3").await.unwrap();
    assert_eq!(live.data["spec"]["subnets"]["subnet-1"]["vlan"], 1131);

    // An object created only in the cluster is an Orphan.
    let orphan: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC",
        "metadata": {"name": "made-by-hand", "namespace": ns},
        "spec": {"subnets": {"default": {"subnet": "10.9.0.0/24", "vlan": 1900}}}
    }))
    .unwrap();
    vpcs.create(&PostParams::default(), &orphan).await.unwrap();
    common::wait_for_event(&mut rx, 10, "orphan row", |e| match e {
        EngineEvent::Rows { upserts, .. } => upserts
            .iter()
            .any(|r| r.key.name == "made-by-hand" && r.drift == Drift::Orphan),
        _ => false,
    })
    .await;
    let out = common::hhdash(temp.path(), &config_path, &["diff", "flow"]);
    let text = common::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("made-by-hand  Orphan"), "{text}");

    // Made by hand, not by hhdash: prune leaves it alone and says why.
    let out = common::hhdash(
        temp.path(),
        &config_path,
        &["apply", "flow", "--prune", "--yes"],
    );
    let text = common::output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("kept   VPC/made-by-hand: not applied by hhdash"),
        "{text}"
    );
    assert!(vpcs.get_opt("made-by-hand").await.unwrap().is_some());
    // Once hhdash's field manager applied it (as from an earlier commit of Git), it is pruned,
    // after confirmation: without a terminal or --yes nothing is deleted.
    vpcs.patch(
        "made-by-hand",
        &PatchParams::apply("hhdash"),
        &Patch::Apply(&orphan),
    )
    .await
    .unwrap();
    let out = common::hhdash(temp.path(), &config_path, &["apply", "flow", "--prune"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::output_text(&out));
    assert!(vpcs.get_opt("made-by-hand").await.unwrap().is_some());
    let out = common::hhdash(
        temp.path(),
        &config_path,
        &["apply", "flow", "--prune", "--yes"],
    );
    assert!(out.status.success(), "{}", common::output_text(&out));
    assert!(vpcs.get_opt("made-by-hand").await.unwrap().is_none());

    commands.send(Command::Shutdown).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_streams_events_as_json_and_diff_reports_json() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "watchcli";
    plane.grant(ns).await.unwrap();
    let (temp, config) = common::demo_fabric(plane, ns, "wcli");
    assert!(
        common::hhdash(temp.path(), &config, &["sync"])
            .status
            .success()
    );

    let out = common::hhdash(temp.path(), &config, &["diff", "wcli", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let review: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let objects = review["objects"].as_array().unwrap();
    assert_eq!(objects.len(), common::DEMO_OBJECTS);
    assert!(objects.iter().all(|o| o["drift"] == "Missing"), "{review}");

    // `hhdash watch --json` prints one JSON object per event; Ctrl-C ends it cleanly. Its store
    // is its own, since one process opens a store at a time.
    let mut watch = common::spawn_watch(
        temp.path(),
        &config,
        &temp.path().join("watch.redb"),
        "wcli",
        true,
    );
    let vpcs = common::admin_api(plane, "VPC", ns);
    // Nothing is applied here, so what a VPC refers to is set up by hand for the one the
    // "other client" creates (the admission webhook refuses a VPC without its namespaces).
    plane
        .apply_objects(&testenv::fixtures::vpc_prerequisites(ns))
        .await
        .unwrap();
    let mut created = false;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = watch.wait_for_line(left, "the added event", |_| true).await;
        let event: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(event["fabric"], "wcli");
        if !created && event["message"] == "watch active" {
            let orphan: DynamicObject = serde_json::from_value(serde_json::json!({
                "apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC",
                "metadata": {"name": "seen-by-watch", "namespace": ns},
                "spec": {"subnets": {"default": {"subnet": "10.8.0.0/24", "vlan": 1800}}}
            }))
            .unwrap();
            vpcs.create(&PostParams::default(), &orphan).await.unwrap();
            created = true;
        }
        if event["what"] == "Added" && event["object"] == "VPC/seen-by-watch" {
            break;
        }
    }
    watch.signal(common::SIGINT);
    let out = watch
        .wait(Duration::from_secs(30), "hhdash watch after SIGINT")
        .await;
    assert!(
        out.status.success(),
        "watch exits 0 on Ctrl-C: {:?}",
        out.status
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_only_in_git_turn_missing_in_the_rows_once_the_watch_lists() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "relist-rows";
    plane.grant(ns).await.unwrap();
    let (temp, config_path) = common::demo_fabric(plane, ns, "relist");
    // Synced before the engine starts, nothing applied: the snapshot has a row of unknown
    // verdict per object, and only the watch's first list can tell they are Missing.
    let common::RunningEngine {
        events: mut rx,
        commands,
        ..
    } = common::start_synced_engine(temp.path(), &config_path);
    // Fold every row the engine sends, as the dashboard does, until the watch is Active.
    let mut rows: std::collections::BTreeMap<ObjectKey, Drift> = Default::default();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let event = tokio::time::timeout(
            deadline.saturating_duration_since(Instant::now()),
            rx.recv(),
        )
        .await
        .expect("watch Active within 30 s")
        .unwrap();
        match event {
            EngineEvent::Snapshot { rows: snapshot, .. } => {
                rows = snapshot.into_iter().map(|r| (r.key, r.drift)).collect();
                assert!(
                    rows.values().all(|d| *d == Drift::Unknown),
                    "before any list: {rows:?}"
                );
            }
            EngineEvent::Rows {
                upserts, removed, ..
            } => {
                for row in upserts {
                    rows.insert(row.key, row.drift);
                }
                for key in removed {
                    rows.remove(&key);
                }
            }
            EngineEvent::Status { status, .. } if status.watch.state == WatchState::Active => break,
            _ => {}
        }
    }
    // Rows sent after Active are part of the same burst; drain what is already queued.
    while let Ok(event) = rx.try_recv() {
        if let EngineEvent::Rows { upserts, .. } = event {
            for row in upserts {
                rows.insert(row.key, row.drift);
            }
        }
    }
    assert_eq!(rows.len(), common::DEMO_OBJECTS);
    assert!(
        rows.values().all(|d| *d == Drift::Missing),
        "the table must agree with the event pane: {rows:?}"
    );
    commands.send(Command::Shutdown).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_polling_and_the_r_w_c_commands_reach_the_engine() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "flow-poll";
    plane.grant(ns).await.unwrap();
    let (temp, config_path) = common::demo_fabric(plane, ns, "poll");
    // Git is polled every second (the [fabric.git] table is the config's last).
    let mut text = std::fs::read_to_string(&config_path).unwrap();
    text.push_str("poll_interval_secs = 1\n");
    std::fs::write(&config_path, text).unwrap();

    let common::RunningEngine {
        store: _store,
        events: mut rx,
        commands,
    } = common::start_synced_engine(temp.path(), &config_path);
    let watch_is = |state: WatchState| move |e: &EngineEvent| matches!(e, EngineEvent::Status { status, .. } if status.watch.state == state);
    common::wait_for_event(&mut rx, 30, "watch Active", watch_is(WatchState::Active)).await;

    // A new commit reaches the engine with no sync asked for: the new VPC shows up Missing.
    let vpc = format!(
        "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: polled-vpc\n  namespace: {ns}\nspec:\n  subnets:\n    default:\n      subnet: 10.99.0.0/24\n      vlan: 1099\n"
    );
    common::commit_files(
        &temp.path().join("repo"),
        &[("env-1/polled.yaml", vpc.as_bytes())],
        "a VPC the poll finds",
    );
    common::wait_for_event(&mut rx, 20, "the polled VPC as Missing", |e| match e {
        EngineEvent::Rows { upserts, .. } => upserts
            .iter()
            .any(|row| row.key.name == "polled-vpc" && row.drift == Drift::Missing),
        _ => false,
    })
    .await;

    // `c`: a connection test runs and succeeds.
    commands.send(Command::TestConnection).await.unwrap();
    common::wait_for_event(&mut rx, 30, "the connection test to succeed", |e| {
        matches!(
            e,
            EngineEvent::Job {
                job: JobKind::Connect,
                phase: JobPhase::Succeeded { .. },
                ..
            }
        )
    })
    .await;

    // `w` twice: the watch stops, then is Active again.
    commands.send(Command::SetWatch(false)).await.unwrap();
    common::wait_for_event(&mut rx, 10, "watch Stopped", watch_is(WatchState::Stopped)).await;
    commands.send(Command::SetWatch(true)).await.unwrap();
    common::wait_for_event(
        &mut rx,
        30,
        "watch Active again",
        watch_is(WatchState::Active),
    )
    .await;

    // `r`: a refresh reconnects and restarts the watch: Starting, then Active again.
    commands.send(Command::Refresh).await.unwrap();
    common::wait_for_event(&mut rx, 10, "the refresh started", |e| {
        matches!(
            e,
            EngineEvent::Job {
                job: JobKind::Refresh,
                phase: JobPhase::Started { .. },
                ..
            }
        )
    })
    .await;
    common::wait_for_event(
        &mut rx,
        30,
        "the watch restarting",
        watch_is(WatchState::Starting),
    )
    .await;
    common::wait_for_event(
        &mut rx,
        30,
        "watch Active after the refresh",
        watch_is(WatchState::Active),
    )
    .await;
}
