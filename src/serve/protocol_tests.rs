use std::sync::Arc;

use super::*;
use crate::attribution::{GitExplanation, GitOrigin, PathExplanation};
use crate::engine::{ApplyRequest, ApplyScope, JobKind, JobPhase, ResourceRow};
use crate::kinds::ObjectKey;
use crate::store::{LogEntry, LogKind, TimelineQuery};

fn key(name: &str) -> ObjectKey {
    ObjectKey {
        kind: "VPC".into(),
        namespace: "default".into(),
        name: name.into(),
    }
}

/// Every event and command survives the wire unchanged: what a dashboard folds attached is
/// what it would fold in-process.
#[test]
fn events_and_commands_cross_the_wire_unchanged() {
    let live = serde_json::json!({"apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC",
        "metadata": {"name": "vpc-1", "namespace": "default"}, "spec": {"subnets": {"a": {"vlan": 1001}}}});
    let events = vec![
        EngineEvent::Rows {
            fabric: "east".into(),
            upserts: vec![ResourceRow {
                key: key("vpc-1"),
                desired: None,
                live: Some(crate::object::Object::new(&live)),
                drift: crate::drift::Drift::Orphan,
                kubernetes: Default::default(),
            }],
            removed: vec![key("vpc-2")],
        },
        EngineEvent::Log {
            fabric: "east".into(),
            entry: LogEntry {
                time: 1_700_000_000,
                what: LogKind::Drift,
                object: Some("VPC/vpc-1".into()),
                message: "→ Drifted".into(),
                key: Some(key("vpc-1")),
            },
        },
        EngineEvent::Job {
            fabric: "east".into(),
            job: JobKind::Apply,
            phase: JobPhase::Progress {
                done: 3,
                total: 9,
                message: "VPC/vpc-1".into(),
            },
        },
        EngineEvent::Explained {
            fabric: "east".into(),
            explanation: Arc::new(GitExplanation {
                key: key("vpc-1"),
                commit: "abc".into(),
                file: "vpcs.yaml".into(),
                paths: vec![PathExplanation {
                    path: "spec.subnets.a.vlan".into(),
                    git: Some(GitOrigin {
                        commit: "abc".into(),
                        author: "Ann".into(),
                        time: 1_700_000_000,
                        subject: "set vlan".into(),
                        at_or_before: false,
                    }),
                    line: Some(7),
                    ..Default::default()
                }],
                problem: None,
            }),
        },
        EngineEvent::History {
            fabric: "east".into(),
            query: TimelineQuery {
                since: Some(1),
                kinds: vec![LogKind::Apply],
                limit: 10,
                ..Default::default()
            },
            entries: Vec::new(),
            seen: Some(5),
        },
    ];
    for event in events {
        let bytes = encode_event(&event).unwrap();
        let frame = ServerFrame::Event(Box::new(event));
        assert_eq!(bytes, serde_json::to_vec(&frame).unwrap());
        let back: ServerFrame = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, frame);
    }
    let command = ClientFrame::Command {
        fabric: "east".into(),
        command: Command::Apply(ApplyRequest {
            scope: ApplyScope::Confirmed {
                objects: vec![key("vpc-1")],
                commit: Some("abc".into()),
            },
            dry_run: false,
            force_conflicts: false,
        }),
    };
    let bytes = serde_json::to_vec(&command).unwrap();
    assert_eq!(
        serde_json::from_slice::<ClientFrame>(&bytes).unwrap(),
        command
    );
}

#[tokio::test]
async fn frames_are_read_back_one_by_one_and_a_closed_peer_is_none() {
    let (mut a, mut b) = tokio::io::duplex(64);
    let writer = tokio::spawn(async move {
        write_frame(&mut a, &ServerFrame::Stdout("one\n".into()))
            .await
            .unwrap();
        write_frame(
            &mut a,
            &ServerFrame::Done {
                exit: 1,
                error: None,
            },
        )
        .await
        .unwrap();
    });
    let first: Option<ServerFrame> = read_frame(&mut b).await.unwrap();
    assert_eq!(first, Some(ServerFrame::Stdout("one\n".into())));
    let second: Option<ServerFrame> = read_frame(&mut b).await.unwrap();
    assert_eq!(
        second,
        Some(ServerFrame::Done {
            exit: 1,
            error: None
        })
    );
    writer.await.unwrap();
    let end: Option<ServerFrame> = read_frame(&mut b).await.unwrap();
    assert_eq!(end, None);
}

#[tokio::test]
async fn an_oversized_length_is_refused_before_allocating() {
    let (mut a, mut b) = tokio::io::duplex(64);
    use tokio::io::AsyncWriteExt;
    a.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    let result: Result<Option<ServerFrame>, _> = read_frame(&mut b).await;
    assert!(
        matches!(result, Err(ProtocolError::TooLarge(_))),
        "{result:?}"
    );
}

#[test]
fn another_protocol_version_is_refused_in_words_naming_both_releases() {
    let ours = serde_json::to_vec(&Hello::new(
        Role::Subscribe {
            fabrics: Vec::new(),
        },
        false,
    ))
    .unwrap();
    check_version("client", &ours).unwrap();
    let welcome = serde_json::to_vec(&Welcome::Refused {
        protocol: PROTOCOL_VERSION,
        version: "x".into(),
        reason: "no".into(),
    })
    .unwrap();
    check_version("server", &welcome).unwrap();
    let future = br#"{"protocol": 99, "version": "9.0.0", "role": {"Teleport": {}}}"#;
    let message = check_version("server", future).unwrap_err().to_string();
    assert!(message.contains("hhdash 9.0.0 (protocol 99)"), "{message}");
    assert!(message.contains(HHDASH_VERSION), "{message}");
    let unknown = br#"{"hello": "there"}"#;
    let message = check_version("client", unknown).unwrap_err().to_string();
    assert!(message.contains("unknown"), "{message}");
}

/// A large snapshot goes as parts and then the `Snapshot` with its last rows: together, in
/// order, exactly the rows of the event.
#[test]
fn a_large_snapshot_is_sent_in_parts_that_add_up_to_it() {
    let rows: Vec<ResourceRow> = (0..SNAPSHOT_PART_ROWS * 2 + 7)
        .map(|i| ResourceRow {
            key: key(&format!("vpc-{i:05}")),
            desired: None,
            live: None,
            drift: crate::drift::Drift::InSync,
            kubernetes: Default::default(),
        })
        .collect();
    let event = EngineEvent::Snapshot {
        fabric: "east".into(),
        status: Default::default(),
        rows: rows.clone(),
        events: Vec::new(),
        switches: Vec::new(),
    };
    let frames: Vec<ServerFrame> = encode_event_frames(&event)
        .map(|bytes| serde_json::from_slice(&bytes.unwrap()).unwrap())
        .collect();
    assert_eq!(frames.len(), 3);
    let mut joined = Vec::new();
    for frame in &frames[..2] {
        match frame {
            ServerFrame::SnapshotPart { fabric, rows } => {
                assert_eq!(fabric, "east");
                joined.extend(rows.iter().cloned());
            }
            other => panic!("a part first, got {other:?}"),
        }
    }
    match &frames[2] {
        ServerFrame::Event(last) => match &**last {
            EngineEvent::Snapshot { rows: tail, .. } => joined.extend(tail.iter().cloned()),
            other => panic!("the snapshot last, got {other:?}"),
        },
        other => panic!("the snapshot last, got {other:?}"),
    }
    assert_eq!(joined, rows);
    // Any other event is one frame, as `encode_event` makes it.
    let log = EngineEvent::Status {
        fabric: "east".into(),
        status: Default::default(),
    };
    let single: Vec<Vec<u8>> = encode_event_frames(&log).map(Result::unwrap).collect();
    assert_eq!(single, vec![encode_event(&log).unwrap()]);
}
