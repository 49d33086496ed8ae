//! Unit tests of the pure watch folding (`live.rs`): one watch event in, the state and the
//! `Burst` it leaves out.

use std::sync::Arc;

use kube::runtime::watcher::Event as WatchEvent;
use serde_json::{Value, json};

use super::*;
use crate::drift::DriftKindTag;
use crate::kinds;

const NOW: Timestamp = 1_700_000_000;

/// The namespace of a single-namespace fabric's watchers.
fn ns() -> Arc<str> {
    Arc::from("default")
}

fn vpc() -> &'static KindInfo {
    kinds::by_kind("VPC").unwrap()
}

fn agent() -> &'static KindInfo {
    kinds::by_kind("Agent").unwrap()
}

fn key(kind: &str, name: &str) -> ObjectKey {
    ObjectKey {
        kind: kind.into(),
        namespace: "default".into(),
        name: name.into(),
    }
}

fn object(kind: &str, name: &str, version: &str) -> LiveObject {
    let value = json!({
        "apiVersion": "x/v1", "kind": kind,
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"),
                     "resourceVersion": version, "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"version": version},
    });
    (key(kind, name), Object::new(&value))
}

struct Fixture {
    state: LiveState,
    index: DriftIndex,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            state: LiveState::new(&Namespaces::single("default")),
            index: DriftIndex::new(None),
        }
    }

    fn fold(&mut self, info: &'static KindInfo, event: WatchEvent<LiveObject>) -> Burst {
        let mut burst = Burst::default();
        self.state
            .fold(&mut self.index, info, &ns(), event, NOW, &mut burst);
        burst
    }

    fn relist(&mut self, info: &'static KindInfo, objects: Vec<LiveObject>) -> Burst {
        let mut burst = self.fold(info, WatchEvent::Init);
        for object in objects {
            self.state.fold(
                &mut self.index,
                info,
                &ns(),
                WatchEvent::InitApply(object),
                NOW,
                &mut burst,
            );
        }
        self.state.fold(
            &mut self.index,
            info,
            &ns(),
            WatchEvent::InitDone,
            NOW,
            &mut burst,
        );
        burst
    }
}

fn lines(burst: &Burst) -> Vec<String> {
    burst
        .entries
        .iter()
        .map(|e| {
            format!(
                "{:?} {} {}",
                e.what,
                e.object.as_deref().unwrap_or("-"),
                e.message
            )
        })
        .collect()
}

fn upserted(burst: &Burst) -> Vec<&ObjectKey> {
    burst
        .changes
        .iter()
        .filter_map(|c| match c {
            LiveChange::Upsert { key, .. } => Some(key),
            LiveChange::Delete { .. } => None,
        })
        .collect()
}

fn deleted(burst: &Burst) -> Vec<&ObjectKey> {
    burst
        .changes
        .iter()
        .filter_map(|c| match c {
            LiveChange::Delete { key } => Some(key),
            LiveChange::Upsert { .. } => None,
        })
        .collect()
}

#[test]
fn an_apply_of_a_new_object_is_added_live_with_one_shared_copy() {
    let mut fx = Fixture::new();
    let (k, value) = object("VPC", "v1", "7");
    let burst = fx.fold(vpc(), WatchEvent::Apply((k.clone(), value.clone())));

    assert_eq!(lines(&burst), ["Added VPC/v1 added in the cluster"]);
    assert_eq!(upserted(&burst), [&k]);
    let LiveChange::Upsert { object, .. } = &burst.changes[0] else {
        unreachable!()
    };
    // The watcher's text goes to the store write and the index (the row) without a copy.
    assert!(object.same(&value));
    assert!(fx.index.live(&k).unwrap().same(&value));
    let status = &burst.statuses[0].1;
    assert_eq!(status.state, KubernetesState::Live);
    assert_eq!(status.uid.as_deref(), Some("uid-v1"));
    assert_eq!(status.resource_version.as_deref(), Some("7"));
    assert_eq!(status.last_synced, Some(NOW));
    assert_eq!(fx.state.resources[&k], *status);
    assert_eq!(burst.touched.iter().collect::<Vec<_>>(), [&k]);
    assert_eq!(burst.transitions.len(), 1);
    assert_eq!(burst.transitions[0].from, DriftKindTag::Absent);
    assert!(!burst.agents_changed);
}

#[test]
fn a_modify_keeps_what_was_known_of_the_object_and_says_modified() {
    let mut fx = Fixture::new();
    let (k, first) = object("VPC", "v1", "7");
    fx.fold(vpc(), WatchEvent::Apply((k.clone(), first)));
    // The dashboard applied it meanwhile.
    fx.state.resources.get_mut(&k).unwrap().last_applied = Some(NOW - 5);

    let (_, second) = object("VPC", "v1", "8");
    let burst = fx.fold(vpc(), WatchEvent::Apply((k.clone(), second.clone())));

    assert_eq!(lines(&burst), ["Modified VPC/v1 modified in the cluster"]);
    let status = &burst.statuses[0].1;
    assert_eq!(status.resource_version.as_deref(), Some("8"));
    assert_eq!(
        status.last_applied,
        Some(NOW - 5),
        "the apply time survives"
    );
    assert_eq!(fx.index.live(&k), Some(&second));
}

#[test]
fn a_delete_drops_the_object_and_its_version() {
    let mut fx = Fixture::new();
    let (k, value) = object("VPC", "v1", "7");
    fx.fold(vpc(), WatchEvent::Apply((k.clone(), value.clone())));

    let burst = fx.fold(vpc(), WatchEvent::Delete((k.clone(), value)));

    assert_eq!(lines(&burst), ["Deleted VPC/v1 deleted from the cluster"]);
    assert_eq!(deleted(&burst), [&k]);
    let status = &burst.statuses[0].1;
    assert_eq!(status.state, KubernetesState::Unknown);
    assert_eq!(status.resource_version, None);
    assert_eq!(status.uid.as_deref(), Some("uid-v1"), "who it was is kept");
    assert_eq!(fx.index.live(&k), None);
    assert!(burst.touched.contains(&k));
}

#[test]
fn a_relist_is_buffered_until_done_and_what_it_lacks_is_gone() {
    let mut fx = Fixture::new();
    let (a, b) = (key("VPC", "a"), key("VPC", "b"));
    fx.relist(
        vpc(),
        vec![object("VPC", "a", "1"), object("VPC", "b", "1")],
    );
    assert!(fx.state.relists.all_listed(1));

    // A re-list under way changes nothing yet.
    let mut burst = fx.fold(vpc(), WatchEvent::Init);
    fx.state.fold(
        &mut fx.index,
        vpc(),
        &ns(),
        WatchEvent::InitApply(object("VPC", "a", "2")),
        NOW,
        &mut burst,
    );
    assert!(burst.is_empty(), "{burst:?}");
    assert!(!fx.state.relists.all_listed(1));
    assert_eq!(fx.index.live(&b).map(|_| ()), Some(()));

    fx.state.fold(
        &mut fx.index,
        vpc(),
        &ns(),
        WatchEvent::InitDone,
        NOW,
        &mut burst,
    );
    assert_eq!(lines(&burst), ["Watch VPC listed 1 vpcs"]);
    assert_eq!(deleted(&burst), [&b], "b was deleted while nobody watched");
    assert_eq!(upserted(&burst), [&a]);
    assert_eq!(fx.state.resources[&b].state, KubernetesState::Unknown);
    assert_eq!(
        fx.state.resources[&a].resource_version.as_deref(),
        Some("2")
    );
    assert_eq!(fx.index.live(&b), None);
    assert_eq!(burst.touched, BTreeSet::from([a, b]));
    assert!(fx.state.relists.all_listed(1));
}

#[test]
fn agents_feed_switch_health_only_never_rows_statuses_or_lines() {
    let mut fx = Fixture::new();
    let burst = fx.relist(
        agent(),
        vec![
            object("Agent", "leaf-1", "1"),
            object("Agent", "leaf-2", "1"),
        ],
    );
    assert_eq!(lines(&burst), ["Watch Agent listed 2 agents"]);
    assert_eq!(upserted(&burst).len(), 2, "Agents are stored");
    assert!(burst.statuses.is_empty() && burst.touched.is_empty());
    assert!(burst.transitions.is_empty() && fx.index.is_empty());
    assert!(burst.agents_changed);

    let burst = fx.fold(agent(), WatchEvent::Apply(object("Agent", "leaf-1", "2")));
    assert!(burst.entries.is_empty() && burst.statuses.is_empty());
    assert!(burst.agents_changed);
    assert_eq!(
        fx.state.read_only[&key("Agent", "leaf-1")]["spec"]["version"],
        "2"
    );

    let burst = fx.fold(agent(), WatchEvent::Delete(object("Agent", "leaf-1", "2")));
    assert_eq!(deleted(&burst), [&key("Agent", "leaf-1")]);
    assert!(burst.entries.is_empty() && burst.agents_changed);

    // A re-list without leaf-2 drops it.
    let burst = fx.relist(agent(), vec![object("Agent", "leaf-3", "1")]);
    assert_eq!(deleted(&burst), [&key("Agent", "leaf-2")]);
    assert_eq!(
        fx.state.read_only.keys().collect::<Vec<_>>(),
        [&key("Agent", "leaf-3")]
    );
    assert_eq!(lines(&burst), ["Watch Agent listed 1 agents"]);
}

#[test]
fn a_storm_burst_passes_some_lines_and_counts_the_rest_for_the_window_summary() {
    let mut fx = Fixture::new();
    let mut burst = Burst::default();
    for i in 0..30 {
        fx.state.fold(
            &mut fx.index,
            vpc(),
            &ns(),
            WatchEvent::Apply(object("VPC", &format!("v{i}"), "1")),
            NOW,
            &mut burst,
        );
    }
    fx.state.fold(
        &mut fx.index,
        vpc(),
        &ns(),
        WatchEvent::Apply(object("VPC", "v0", "2")),
        NOW,
        &mut burst,
    );
    burst
        .entries
        .push(log_line(NOW, LogKind::Watch, None, "watch active"));
    let mut window = crate::engine::storm::StormWindow::default();
    window.thin(&mut burst.entries, NOW);
    let shown = lines(&burst);
    assert_eq!(shown.len(), 1 + crate::engine::storm::LINES_PER_WINDOW);
    assert_eq!(shown[0], "Added VPC/v0 added in the cluster");
    assert_eq!(shown.last().unwrap(), "Watch - watch active");
    assert_eq!(burst.statuses.len(), 31, "every object is still stored");
    let summary: Vec<String> = window
        .due(NOW + crate::engine::storm::WINDOW_SECS)
        .iter()
        .map(|e| e.message.clone())
        .collect();
    assert_eq!(
        summary,
        [
            "10 more objects added in the cluster in 10s (VPC 10)",
            "1 more objects modified in the cluster in 10s (VPC 1)",
        ]
    );
}

#[test]
fn a_burst_is_written_in_one_transaction_from_the_shared_objects() {
    let temp = tempfile::tempdir().unwrap();
    let mut store = Store::open(&temp.path().join("s.redb")).unwrap();
    // The fixture's clock is in 2023: lines that old would fall out of a 7-day timeline.
    store.set_timeline_limits(crate::store::TimelineLimits {
        max_age_secs: 100 * 365 * 86_400,
        ..Default::default()
    });
    let mut fx = Fixture::new();
    let burst = fx.relist(
        vpc(),
        vec![object("VPC", "a", "1"), object("VPC", "b", "1")],
    );
    burst.write(&store, "east").unwrap();
    let live: Vec<(ObjectKey, Object)> = store.live("east").unwrap();
    assert_eq!(live.len(), 2);
    assert_eq!(&live[0].1, fx.index.live(&key("VPC", "a")).unwrap());
    let statuses = store.resource_statuses("east").unwrap();
    assert_eq!(statuses.len(), 2);
    assert_eq!(statuses[0].1.uid.as_deref(), Some("uid-a"));
    let log = store.log("east", 10).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].message, "listed 2 vpcs");
}

#[test]
fn a_relist_replaces_only_its_own_namespace_and_lines_name_the_namespace() {
    let two = Namespaces {
        default: "default".into(),
        managed: vec!["default".into(), "fab".into()],
        by_kind: Default::default(),
    };
    let mut state = LiveState::new(&two);
    let mut index = DriftIndex::new(None);
    let in_fab = |kind: &str, name: &str| {
        let (key, value) = object(kind, name, "1");
        let key = ObjectKey {
            namespace: "fab".into(),
            ..key
        };
        (key, value)
    };
    let mut relist = |info: &'static KindInfo, namespace: &str, objects: Vec<LiveObject>| {
        let namespace: Arc<str> = Arc::from(namespace);
        let mut burst = Burst::default();
        state.fold(
            &mut index,
            info,
            &namespace,
            WatchEvent::Init,
            NOW,
            &mut burst,
        );
        for object in objects {
            let event = WatchEvent::InitApply(object);
            state.fold(&mut index, info, &namespace, event, NOW, &mut burst);
        }
        state.fold(
            &mut index,
            info,
            &namespace,
            WatchEvent::InitDone,
            NOW,
            &mut burst,
        );
        burst
    };
    relist(vpc(), "default", vec![object("VPC", "a", "1")]);
    let burst = relist(vpc(), "fab", vec![in_fab("VPC", "a")]);
    assert_eq!(lines(&burst), ["Watch VPC listed 1 vpcs in fab"]);
    relist(agent(), "default", vec![object("Agent", "leaf-1", "1")]);
    relist(agent(), "fab", vec![in_fab("Agent", "leaf-1")]);

    // fab's objects went while nobody watched: only they are gone.
    let burst = relist(vpc(), "fab", vec![]);
    assert_eq!(deleted(&burst), [&in_fab("VPC", "a").0]);
    let burst = relist(agent(), "fab", vec![]);
    assert_eq!(deleted(&burst), [&in_fab("Agent", "leaf-1").0]);
    assert!(index.live(&key("VPC", "a")).is_some());
    assert_eq!(
        state.read_only.keys().collect::<Vec<_>>(),
        [&key("Agent", "leaf-1")]
    );
    assert!(state.relists.all_listed(2 * 2));

    // An object's line names its namespace once the fabric has several.
    let mut burst = Burst::default();
    let fab: Arc<str> = Arc::from("fab");
    let event = WatchEvent::Apply(in_fab("VPC", "b"));
    state.fold(&mut index, vpc(), &fab, event, NOW, &mut burst);
    assert_eq!(lines(&burst), ["Added VPC/fab/b added in the cluster"]);
}

/// A full Agent as a switch writes it every heartbeat (`beat` = seconds since `NOW`): traffic
/// and error counters moving, `lastEstab` jittering by a second, optic readings wobbling, a
/// fresh heartbeat and resource version — and the spec's secrets — cut down as the watch does.
fn agent_report(beat: i64, oper: &str) -> LiveObject {
    let at = |secs: i64| crate::time::format_rfc3339(secs);
    let full = json!({
        "apiVersion": "agent.githedgehog.com/v1beta1", "kind": "Agent",
        "metadata": {"name": "leaf-01", "namespace": "default", "uid": "uid-leaf",
                     "resourceVersion": format!("{}", 100 + beat), "generation": 3},
        "spec": {"users": [{"name": "admin", "password": "$5$hash-of-secret"}]},
        "status": {
            "lastHeartbeat": at(NOW + beat), "lastAppliedGen": 3, "lastAttemptGen": 3,
            "version": "v0.96.2",
            "state": {
                "interfaces": {"E1/1": {
                    "enabled": true, "admin": "up", "oper": oper, "speed": "25G",
                    "change": at(NOW - 86_400),
                    "counters": {"inb": 1_000_000 * beat, "outb": 900_000 * beat,
                                 "ine": beat / 10, "oute": 0, "ind": beat, "outd": 0,
                                 "inbps": 1234.5 + beat as f64},
                    "lldpNeighbors": [{"sysName": "spine-01", "sysDescr": "Hedgehog Fabric",
                                       "portID": "Ethernet0"}],
                }},
                "transceivers": {"E1/1": {"descr": "SFP28", "oper": "up", "present": "PRESENT",
                    "temp": 35.2 + (beat % 3) as f64 * 0.1,
                    "channels": {"0": {"in": -2.1 - (beat % 4) as f64 * 0.05, "out": -1.5}}}},
                "criticalResources": {"stats": {"ipv4RoutesUsed": 1_000 + beat % 5,
                                                "ipv4RoutesAvailable": 31_000 - beat % 5}},
                "bgpNeighbors": {"default": {"172.30.128.1": {
                    "state": "established", "peerAS": 65100, "enabled": true,
                    "lastEstab": at(NOW - 3_600 + beat % 2), "estabTrans": 1}}},
            },
        },
    });
    let value = kinds::by_kind("Agent").unwrap().keep_live_fields(full);
    (key("Agent", "leaf-01"), Object::new(&value))
}

fn stored_agent(store: &Store) -> Value {
    let live = store.live("east").unwrap();
    live.into_iter()
        .find(|(key, _)| key.kind == "Agent")
        .map(|(_, value)| value.value())
        .expect("the Agent is in the store")
}

#[test]
fn heartbeats_with_moving_counters_do_not_rewrite_the_store_but_a_port_going_down_does() {
    let temp = tempfile::tempdir().unwrap();
    let store = Store::open(&temp.path().join("s.redb")).unwrap();
    let mut fx = Fixture::new();
    let mut writes = 0;
    let beat = |fx: &mut Fixture, secs: i64, oper: &str| {
        let mut burst = Burst::default();
        let event = WatchEvent::Apply(agent_report(secs, oper));
        fx.state
            .fold(&mut fx.index, agent(), &ns(), event, NOW + secs, &mut burst);
        assert!(burst.agents_changed, "every report re-evaluates health");
        assert_eq!(burst.agent_reports.len(), 1, "every report feeds the flaps");
        burst.write(&store, "east").unwrap();
        upserted(&burst).len()
    };
    // Ten heartbeats within the refresh bound, counters and readings moving: one write.
    for secs in (0..50).step_by(5) {
        writes += beat(&mut fx, secs, "up");
    }
    assert_eq!(writes, 1, "only the first report reaches the store");
    let stored = stored_agent(&store);
    assert_eq!(
        stored["status"]["lastHeartbeat"],
        json!(crate::time::format_rfc3339(NOW))
    );
    assert!(
        !stored.to_string().contains("hash-of-secret"),
        "the spec's secrets never reach the store: {stored}"
    );
    // The in-memory copy is always the newest report.
    assert_eq!(
        fx.state.read_only[&key("Agent", "leaf-01")]["status"]["lastHeartbeat"],
        json!(crate::time::format_rfc3339(NOW + 45))
    );

    // A port going down is written at once.
    assert_eq!(beat(&mut fx, 50, "down"), 1, "a port going down is stored");
    let stored = stored_agent(&store);
    assert_eq!(
        stored["status"]["state"]["interfaces"]["E1/1"]["oper"],
        json!("down")
    );
    // Unchanged again: quiet until the stored copy is older than the bound, then refreshed.
    assert_eq!(beat(&mut fx, 55, "down"), 0);
    assert_eq!(
        beat(&mut fx, 50 + STORED_REPORT_MAX_AGE_SECS - 1, "down"),
        0
    );
    assert_eq!(beat(&mut fx, 50 + STORED_REPORT_MAX_AGE_SECS, "down"), 1);
}

#[test]
fn a_report_changes_materially_on_state_not_on_jitter() {
    let (_, base) = agent_report(0, "up");
    let (_, later) = agent_report(7, "up");
    let (base, later) = (base.value(), later.value());
    assert!(same_report(&base, &later), "counters, heartbeat and jitter");
    let changed = |pointer: &str, value: Value| {
        let mut changed = later.clone();
        *changed.pointer_mut(pointer).unwrap() = value;
        same_report(&base, &changed)
    };
    let bgp = "/status/state/bgpNeighbors/default/172.30.128.1";
    assert!(!changed(&format!("{bgp}/state"), json!("idle")));
    assert!(!changed(&format!("{bgp}/estabTrans"), json!(2)));
    assert!(!changed(
        &format!("{bgp}/lastEstab"),
        json!(crate::time::format_rfc3339(NOW))
    ));
    let port = "/status/state/interfaces/E1~11";
    assert!(!changed(
        &format!("{port}/lldpNeighbors/0/sysName"),
        json!("spine-02")
    ));
    assert!(!changed(
        "/status/state/transceivers/E1~11/channels/0/in",
        json!(-14.0)
    ));
    assert!(!changed("/metadata/generation", json!(4)));
    assert!(!changed(
        "/status/state/criticalResources/stats/ipv4RoutesUsed",
        json!(29_000)
    ));
    // A key appearing is a change too (a new BGP neighbor, a port reporting errDisabled).
    let mut extra = later.clone();
    extra["status"]["state"]["interfaces"]["E1/1"]["errDisabled"] = json!(true);
    assert!(!same_report(&base, &extra));
}
