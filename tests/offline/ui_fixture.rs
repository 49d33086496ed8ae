//! Fixtures for the dashboard tests: real sample manifests from ../shared (demo-gitops env-1),
//! turned into engine events with real drift verdicts, and a fixed clock.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hhdash::desired::{self, DesiredObject, DesiredSet};
use hhdash::drift;
use hhdash::engine::{EngineEvent, ResourceRow};
use hhdash::health::{Level, Reason, Signal, SwitchHealth, SwitchState};
use hhdash::kinds::{self, ObjectKey};
use hhdash::status::{
    ConnectionState, ConnectionStatus, DriftState, DriftStatus, FabricStatus, KubernetesState,
    ResourceStatus, SyncState, SyncStatus, WatchState, WatchStatus,
};
use hhdash::store::{LogEntry, LogKind};
use hhdash::ui::{App, Effect, Key, Options, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::{Value, json};

/// 2026-11-25 17:56:10Z: every age and clock in the snapshots is relative to this.
pub const NOW: i64 = 1_795_629_370;
pub const COMMIT: &str = "3f2a9c1d0b7e6f5a4c3b2a19f8e7d6c5b4a39281";

/// `../shared` beside the repository (or `HHDASH_SHARED_DIR`); panics loudly when absent.
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("HHDASH_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    assert!(
        dir.join("hedgehog/README.md").is_file(),
        "the shared reference data is missing at {} — the UI tests need ../shared/hedgehog beside the clone (or set HHDASH_SHARED_DIR)",
        dir.display()
    );
    dir
}

/// Every object of samples/demo-gitops/env-1, parsed by the real desired-set parser.
pub fn sample_objects() -> Vec<DesiredObject> {
    let dir = shared_dir().join("hedgehog/samples/demo-gitops/env-1");
    let mut set = DesiredSet::default();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        desired::parse_file(
            &mut set,
            &name,
            &bytes,
            &hhdash::config::Namespaces::single("default"),
            COMMIT,
        );
    }
    assert!(
        set.objects.len() >= 9,
        "env-1 has the demo objects: {:?}",
        set.skipped
    );
    set.objects
}

pub fn key(kind: &str, name: &str) -> ObjectKey {
    ObjectKey {
        kind: kind.to_string(),
        namespace: "default".to_string(),
        name: name.to_string(),
    }
}

/// What the API server returns for a desired object: the same, plus server metadata and status.
pub fn served(object: &Value, uid: u32) -> Value {
    let mut live = object.clone();
    let metadata = live["metadata"].as_object_mut().unwrap();
    metadata.insert("uid".into(), json!(format!("0000-{uid:04}")));
    metadata.insert("resourceVersion".into(), json!(format!("{}", 1000 + uid)));
    metadata.insert("generation".into(), json!(1));
    metadata.insert("creationTimestamp".into(), json!("2026-11-20T09:00:00Z"));
    metadata.insert(
        "managedFields".into(),
        json!([{"manager": "hhdash", "operation": "Apply"}]),
    );
    live["status"] = json!({});
    live
}

/// A row with the verdict the real drift comparison gives.
pub fn row(desired: Option<&DesiredObject>, live: Option<Value>) -> ResourceRow {
    let key = desired
        .map(|d| d.key.clone())
        .or_else(|| {
            live.as_ref().map(|l| {
                key(
                    l["kind"].as_str().unwrap(),
                    l["metadata"]["name"].as_str().unwrap(),
                )
            })
        })
        .unwrap();
    let info = kinds::by_kind(&key.kind).unwrap();
    let desired_value = desired.map(|d| d.object.value());
    let drift = drift::classify(info, desired_value.as_ref(), live.as_ref(), true);
    let kubernetes = ResourceStatus {
        state: if live.is_some() {
            KubernetesState::Live
        } else {
            KubernetesState::Unknown
        },
        resource_version: live
            .as_ref()
            .and_then(|l| l.pointer("/metadata/resourceVersion"))
            .and_then(Value::as_str)
            .map(str::to_string),
        ..ResourceStatus::default()
    };
    ResourceRow {
        key,
        desired: desired.map(|d| Arc::new(d.clone())),
        live: live.map(|l| hhdash::object::Object::new(&l)),
        drift,
        kubernetes,
    }
}

/// prod-east's rows: every env-1 object live and in sync, except demo-vpc-2 (someone changed
/// its VLAN), demo-vpc-3 (never applied) and legacy-vpc (in the cluster only).
pub fn prod_rows() -> Vec<ResourceRow> {
    let mut rows = Vec::new();
    for (i, object) in sample_objects().iter().enumerate() {
        let live = match object.key.name.as_str() {
            "demo-vpc-3" => None,
            "demo-vpc-2" => {
                let mut live = served(&object.object.value(), i as u32);
                live["spec"]["subnets"]["default"]["vlan"] = json!(1999);
                Some(live)
            }
            _ => Some(served(&object.object.value(), i as u32)),
        };
        rows.push(row(Some(object), live));
    }
    let orphan = served(
        &json!({
            "apiVersion": "vpc.githedgehog.com/v1beta1",
            "kind": "VPC",
            "metadata": {"name": "legacy-vpc", "namespace": "default"},
            "spec": {"subnets": {"default": {"subnet": "10.99.0.0/24", "vlan": 1900}}}
        }),
        99,
    );
    rows.push(row(None, Some(orphan)));
    rows
}

pub fn live_status() -> FabricStatus {
    FabricStatus {
        connection: ConnectionStatus {
            state: ConnectionState::Connected,
            error: None,
            checked_at: Some(NOW - 120),
            server_version: Some("v1.34.1".into()),
            no_answer_since: None,
        },
        sync: SyncStatus {
            state: SyncState::Synced,
            error: None,
            last_attempt: Some(NOW - 300),
            last_sync: Some(NOW - 300),
            commit: Some(COMMIT.into()),
            skipped: 0,
            skipped_errors: 0,
            ..Default::default()
        },
        drift: DriftStatus {
            state: DriftState::DriftDetected,
            count: 3,
        },
        watch: WatchStatus {
            state: WatchState::Active,
            started: Some(NOW - 3600),
            last_event: Some(NOW - 12),
            event_count: 412,
            error: None,
        },
    }
}

/// A switch judged on its agent alone: a stale one is Unhealthy with the heartbeat reason.
pub fn switch(name: &str, state: SwitchState, age: Option<i64>) -> SwitchHealth {
    let stale = state == SwitchState::Stale;
    SwitchHealth {
        level: if stale {
            Level::Unhealthy
        } else {
            Level::Healthy
        },
        reasons: stale
            .then(|| Reason {
                level: Level::Unhealthy,
                signal: Signal::Heartbeat,
                subject: String::new(),
                message: format!("no heartbeat for {}m", age.unwrap_or(0) / 60),
            })
            .into_iter()
            .collect(),
        name: name.into(),
        state,
        heartbeat_age: age,
        applied_generation: Some(3),
        current_generation: Some(if state == SwitchState::Ready { 3 } else { 4 }),
        version: Some("v0.87.4".into()),
        reboot_required: false,
        ..SwitchHealth::default()
    }
}

pub fn event(age: i64, what: LogKind, object: Option<&str>, message: &str) -> LogEntry {
    LogEntry {
        time: NOW - age,
        what,
        object: object.map(str::to_string),
        message: message.into(),
        key: None,
    }
}

pub fn prod_snapshot(status: FabricStatus) -> EngineEvent {
    EngineEvent::Snapshot {
        fabric: "prod-east".into(),
        status,
        rows: prod_rows(),
        events: vec![
            event(900, LogKind::Sync, None, "synced 3f2a9c1 (9 objects)"),
            event(600, LogKind::Watch, None, "watch Active: 13 kinds listed"),
            event(
                240,
                LogKind::Drift,
                Some("VPC/demo-vpc-2"),
                "InSync → Drifted (spec.subnets.default.vlan: 1102 → 1999)",
            ),
            event(
                200,
                LogKind::Drift,
                Some("VPC/demo-vpc-3"),
                "InSync → Missing",
            ),
            event(
                120,
                LogKind::Deleted,
                Some("VPC/demo-vpc-3"),
                "deleted (by kubectl)",
            ),
        ],
        switches: vec![
            switch("s5248-01", SwitchState::Ready, Some(4)),
            switch("s5248-02", SwitchState::Ready, Some(7)),
            switch("s5248-03", SwitchState::Ready, Some(2)),
            switch("s5248-04", SwitchState::Stale, Some(1260)),
        ],
    }
}

/// The lab fabric: cached rows, watch still starting.
pub fn lab_snapshot() -> EngineEvent {
    let objects = sample_objects();
    let mut status = live_status();
    status.watch = WatchStatus {
        state: WatchState::Starting,
        ..WatchStatus::default()
    };
    status.connection = ConnectionStatus::default();
    status.drift = DriftStatus::default();
    EngineEvent::Snapshot {
        fabric: "lab".into(),
        status,
        rows: objects
            .iter()
            .take(3)
            .map(|o| ResourceRow {
                drift: drift::Drift::Unknown,
                ..row(Some(o), None)
            })
            .collect(),
        events: vec![event(
            30,
            LogKind::Connection,
            None,
            "connecting to https://10.1.0.1:6443",
        )],
        switches: Vec::new(),
    }
}

pub fn options(read_only: bool) -> Options {
    Options {
        read_only,
        theme: Theme::plain(),
        ..Options::default()
    }
}

/// An app with two fabrics, both snapshots folded, on the VPC view of prod-east.
pub fn app(read_only: bool) -> App {
    let mut app = App::new(
        ["prod-east".to_string(), "lab".to_string()],
        options(read_only),
        NOW,
    );
    app.fold(prod_snapshot(live_status()));
    app.fold(lab_snapshot());
    app.set_view(hhdash::ui::View::parse("vpc").unwrap());
    app
}

pub fn render(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| hhdash::ui::draw(frame, app)).unwrap();
    terminal.backend().to_string()
}

/// The example fabric's gateway (`examples/fabric`: GatewayGroup, Gateway `gateway-1`, its two
/// Connections, GatewayPeering `db--mgmt`), placed by `namespaces`, plus the Hedgehog docs'
/// `gateway-add` Gateway (also `gateway-1`, in `fab`) when `with_docs_gateway`: every object
/// live and in sync, as fabric `gw`.
pub fn gateway_snapshot(
    namespaces: &hhdash::config::Namespaces,
    with_docs_gateway: bool,
) -> EngineEvent {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fabric");
    let mut files: Vec<PathBuf> = [
        "gatewaygroups/default.yaml",
        "gateways/gateway-1.yaml",
        "connections/leaf-3--gateway--gateway-1.yaml",
        "connections/leaf-4--gateway--gateway-1.yaml",
        "gatewaypeerings/db--mgmt.yaml",
    ]
    .iter()
    .map(|f| examples.join(f))
    .collect();
    if with_docs_gateway {
        files.push(shared_dir().join("hedgehog/samples/docs-gateway/gateway-add__gateway.yaml"));
    }
    let mut set = DesiredSet::default();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        desired::parse_file(
            &mut set,
            &name,
            &std::fs::read(path).unwrap(),
            namespaces,
            COMMIT,
        );
    }
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    EngineEvent::Snapshot {
        fabric: "gw".into(),
        status: FabricStatus {
            drift: DriftStatus::default(),
            ..live_status()
        },
        rows: set
            .objects
            .iter()
            .enumerate()
            .map(|(i, o)| row(Some(o), Some(served(&o.object.value(), i as u32))))
            .collect(),
        events: Vec::new(),
        switches: Vec::new(),
    }
}

/// Types `keys` (each a plain character key) into the dashboard; the effects they asked for.
pub fn press(app: &mut App, keys: &str) -> Vec<Effect> {
    keys.chars()
        .flat_map(|c| app.on_key(Key::char(c)))
        .collect()
}

/// Presses one special key (enter, esc, arrows…).
pub fn special(app: &mut App, code: crossterm::event::KeyCode) -> Vec<Effect> {
    app.on_key(Key::plain(code))
}
