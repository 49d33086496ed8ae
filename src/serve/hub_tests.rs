use std::time::Duration;

use super::*;
use crate::drift::Drift;
use crate::store::LogKind;

fn key(name: &str) -> ObjectKey {
    ObjectKey {
        kind: "VPC".into(),
        namespace: "default".into(),
        name: name.into(),
    }
}

fn row(name: &str, drift: Drift) -> ResourceRow {
    ResourceRow {
        key: key(name),
        desired: None,
        live: None,
        drift,
        kubernetes: Default::default(),
    }
}

fn snapshot(fabric: &str, rows: Vec<ResourceRow>) -> EngineEvent {
    EngineEvent::Snapshot {
        fabric: fabric.into(),
        status: FabricStatus::default(),
        rows,
        events: Vec::new(),
        switches: Vec::new(),
    }
}

async fn next(rx: &mut mpsc::Receiver<Delivery>) -> Delivery {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a delivery within 5 s")
        .expect("the hub is running")
}

async fn next_event(rx: &mut mpsc::Receiver<Delivery>) -> EngineEvent {
    match next(rx).await {
        Delivery::Event(event) => (*event).clone(),
        Delivery::Resync => panic!("an event, not a resync"),
    }
}

/// A dashboard attached late sees what the first one sees: the rows as the events left them,
/// the log, and a job still running.
#[tokio::test]
async fn a_late_subscriber_starts_from_the_state_the_events_built() {
    let (tx, rx) = mpsc::channel(16);
    let hub = spawn(rx);
    let mut early = hub.subscribe(None, 64).await.unwrap();
    tx.send(snapshot(
        "east",
        vec![row("a", Drift::InSync), row("b", Drift::InSync)],
    ))
    .await
    .unwrap();
    tx.send(EngineEvent::Rows {
        fabric: "east".into(),
        upserts: vec![row("a", Drift::Missing)],
        removed: vec![key("b")],
    })
    .await
    .unwrap();
    let line = LogEntry {
        time: 1,
        what: LogKind::Drift,
        object: Some("VPC/a".into()),
        message: "→ Missing".into(),
        key: Some(key("a")),
    };
    tx.send(EngineEvent::Log {
        fabric: "east".into(),
        entry: line.clone(),
    })
    .await
    .unwrap();
    let running = JobPhase::Progress {
        done: 1,
        total: 4,
        message: "VPC/a".into(),
    };
    tx.send(EngineEvent::Job {
        fabric: "east".into(),
        job: JobKind::Apply,
        phase: running.clone(),
    })
    .await
    .unwrap();
    for _ in 0..4 {
        next_event(&mut early).await;
    }
    let mut late = hub.subscribe(None, 64).await.unwrap();
    match next_event(&mut late).await {
        EngineEvent::Snapshot { rows, events, .. } => {
            assert_eq!(rows, vec![row("a", Drift::Missing)]);
            assert_eq!(events, vec![line]);
        }
        other => panic!("a snapshot first, got {other:?}"),
    }
    assert_eq!(
        next_event(&mut late).await,
        EngineEvent::Job {
            fabric: "east".into(),
            job: JobKind::Apply,
            phase: running,
        }
    );
}

/// A subscriber that does not read falls behind without holding up the engine or the other
/// subscriber; once it reads again it gets a resync and the state as it is now, not a backlog.
#[tokio::test]
async fn a_stalled_subscriber_neither_blocks_others_nor_keeps_a_backlog() {
    let (tx, rx) = mpsc::channel(4);
    let hub = spawn(rx);
    let mut stalled = hub.subscribe(Some(vec!["east".into()]), 8).await.unwrap();
    let mut reader = hub.subscribe(None, 4096).await.unwrap();
    tx.send(snapshot("east", Vec::new())).await.unwrap();
    for i in 0..200 {
        // The engine's sends complete: the hub never waits on the stalled queue.
        tokio::time::timeout(
            Duration::from_secs(5),
            tx.send(EngineEvent::Rows {
                fabric: "east".into(),
                upserts: vec![row(&format!("vpc-{i:03}"), Drift::Missing)],
                removed: Vec::new(),
            }),
        )
        .await
        .expect("the engine is never held up")
        .unwrap();
    }
    next_event(&mut reader).await;
    for i in 0..200 {
        match next_event(&mut reader).await {
            EngineEvent::Rows { upserts, .. } => {
                assert_eq!(upserts[0].key, key(&format!("vpc-{i:03}")))
            }
            other => panic!("{other:?}"),
        }
    }
    // The stalled one holds at most its queue, then a resync with everything as it is now.
    let mut taken = 0;
    loop {
        match next(&mut stalled).await {
            Delivery::Event(_) => taken += 1,
            Delivery::Resync => break,
        }
        assert!(
            taken <= 8,
            "more than the queue was kept for a stalled subscriber"
        );
    }
    match next_event(&mut stalled).await {
        EngineEvent::Snapshot { rows, .. } => assert_eq!(rows.len(), 200),
        other => panic!("a fresh snapshot after the resync, got {other:?}"),
    }
}

/// A subscriber to one fabric hears nothing of another.
#[tokio::test]
async fn a_subscriber_gets_only_its_fabrics() {
    let (tx, rx) = mpsc::channel(4);
    let hub = spawn(rx);
    let mut west = hub.subscribe(Some(vec!["west".into()]), 16).await.unwrap();
    tx.send(snapshot("east", Vec::new())).await.unwrap();
    tx.send(snapshot("west", vec![row("w", Drift::InSync)]))
        .await
        .unwrap();
    match next_event(&mut west).await {
        EngineEvent::Snapshot { fabric, .. } => assert_eq!(fabric, "west"),
        other => panic!("{other:?}"),
    }
}
