//! Dashboard frame time and event-fold time. A frame builds only the visible rows, so its
//! cost must be flat in the fabric's size: compare 500 and 50,000 rows at 200x60 (target under
//! 2 ms). Folding measures a burst of 1,000 `Rows` events into a 50,000-row fabric, with and
//! without the one index rebuild the next frame pays. The History view with 100,000 timeline
//! entries: scrolling one row and drawing, and a live entry arriving then a frame (it must stay
//! flat in the timeline's size too). A fleet of 100 fabrics × 1,000 rows: scrolling, a fabric
//! turning Critical (the fabric list re-sorts and recounts), walking the fabric list (target
//! under 5 ms). Run: `cargo bench --bench render`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use hhdash::desired::{DesiredObject, Source};
use hhdash::drift::{Drift, FieldDiff};
use hhdash::engine::{EngineEvent, ResourceRow};
use hhdash::kinds::ObjectKey;
use hhdash::status::{DriftState, FabricStatus, KubernetesState, ResourceStatus, WatchState};
use hhdash::store::{LogEntry, LogKind};
use hhdash::ui::{Action, App, Focus, Options, Theme, View};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

const NOW: i64 = 1_795_629_370;

fn vpc_row(i: usize) -> ResourceRow {
    let name = format!("vpc-{i:06}");
    let object = json!({
        "apiVersion": "vpc.githedgehog.com/v1beta1",
        "kind": "VPC",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "ipv4Namespace": "default",
            "vlanNamespace": "default",
            "subnets": {"default": {"subnet": format!("10.{}.{}.0/24", i / 256 % 256, i % 256), "vlan": 1000 + i % 3000}}
        }
    });
    let key = ObjectKey {
        kind: "VPC".into(),
        namespace: "default".into(),
        name,
    };
    // Every tenth row drifted, every hundredth missing: the verdict columns are not uniform.
    let drift = match i % 100 {
        0 => Drift::Missing,
        n if n % 10 == 0 => Drift::Drifted(vec![FieldDiff {
            path: "spec.subnets.default.vlan".into(),
            desired: Some(json!(1000)),
            live: Some(json!(1999)),
        }]),
        _ => Drift::InSync,
    };
    let object = hhdash::object::Object::new(&object);
    let live = (!matches!(drift, Drift::Missing)).then(|| object.clone());
    ResourceRow {
        desired: Some(Arc::new(DesiredObject {
            key: key.clone(),
            object,
            source: Source {
                file: "vpcs.yaml".into(),
                document: i,
                line: i * 12 + 1,
                commit: "3f2a9c1d".into(),
            },
        })),
        key,
        live,
        drift,
        kubernetes: ResourceStatus {
            state: KubernetesState::Live,
            ..ResourceStatus::default()
        },
    }
}

fn app_with(rows: usize) -> App {
    let options = Options {
        theme: Theme { color: true },
        ..Options::default()
    };
    let mut app = App::new(["bench".to_string()], options, NOW);
    let mut status = FabricStatus::default();
    status.watch.state = WatchState::Active;
    app.fold(EngineEvent::Snapshot {
        fabric: "bench".into(),
        status,
        rows: (0..rows).map(vpc_row).collect(),
        events: Vec::new(),
        switches: Vec::new(),
    });
    app.set_view(View::parse("vpc").unwrap());
    app
}

/// What holding `j` costs: move one row, draw one frame.
fn scroll_and_draw(app: &mut App, terminal: &mut Terminal<TestBackend>) {
    app.update(Action::Down);
    terminal.draw(|frame| hhdash::ui::draw(frame, app)).unwrap();
    black_box(terminal.backend().buffer().area);
}

fn bench_frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_200x60");
    for rows in [500, 50_000] {
        let mut app = app_with(rows);
        let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
        terminal
            .draw(|frame| hhdash::ui::draw(frame, &mut app))
            .unwrap();
        group.bench_function(format!("scroll_and_draw_{rows}_rows"), |b| {
            b.iter(|| scroll_and_draw(&mut app, &mut terminal))
        });
    }
    group.finish();
}

fn bench_fold(c: &mut Criterion) {
    let mut group = c.benchmark_group("fold_burst");
    group.sample_size(20);
    let burst: Vec<EngineEvent> = (0..1000)
        .map(|i| EngineEvent::Rows {
            fabric: "bench".into(),
            upserts: vec![vpc_row(i * 37 % 50_000)],
            removed: Vec::new(),
        })
        .collect();
    let base = app_with(50_000);
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
    group.bench_function("fold_1000_rows_events_into_50k", |b| {
        b.iter_batched(
            || (clone_app(&base), burst.clone()),
            |(mut app, burst)| {
                for event in burst {
                    app.fold(event);
                }
                black_box(app.take_dirty());
                // Returned so that dropping 50,000 rows is not timed.
                app
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("fold_1000_then_one_frame_50k", |b| {
        b.iter_batched(
            || (clone_app(&base), burst.clone()),
            |(mut app, burst)| {
                for event in burst {
                    app.fold(event);
                }
                terminal
                    .draw(|frame| hhdash::ui::draw(frame, &mut app))
                    .unwrap();
                app
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// Apps are not Clone (they own a listing cache); rebuilding from the rows is equivalent.
fn clone_app(app: &App) -> App {
    let fabric = &app.fabrics[0];
    let mut copy = App::new(
        ["bench".to_string()],
        Options {
            theme: Theme { color: true },
            ..Options::default()
        },
        NOW,
    );
    copy.fold(EngineEvent::Snapshot {
        fabric: "bench".into(),
        status: fabric.status.clone(),
        rows: fabric.entries().iter().map(|e| e.row.clone()).collect(),
        events: Vec::new(),
        switches: Vec::new(),
    });
    copy.set_view(View::parse("vpc").unwrap());
    copy
}

/// The History view of `bench` with `entries` timeline entries answered (the engine's side).
fn history_app(entries: usize) -> App {
    let mut app = app_with(500);
    app.update(Action::History);
    let query = app.history.query(NOW);
    let entries = (0..entries)
        .map(|i| LogEntry {
            time: NOW - 86_000 + (i / 2) as i64,
            what: if i % 10 == 0 {
                LogKind::Drift
            } else {
                LogKind::Modified
            },
            object: Some(format!("VPC/vpc-{:06}", i % 500)),
            message: format!("modified (resourceVersion {})", 1000 + i),
            key: Some(ObjectKey {
                kind: "VPC".into(),
                namespace: "default".into(),
                name: format!("vpc-{:06}", i % 500),
            }),
        })
        .collect();
    app.fold(EngineEvent::History {
        fabric: "bench".into(),
        query,
        entries,
        seen: Some(NOW - 3600),
    });
    app
}

fn bench_history(c: &mut Criterion) {
    let mut group = c.benchmark_group("history_200x60");
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
    let mut app = history_app(100_000);
    terminal
        .draw(|frame| hhdash::ui::draw(frame, &mut app))
        .unwrap();
    assert_eq!(app.history.len(), 100_000, "every entry is a row");
    group.bench_function("history_100k_entries_scroll_and_draw", |b| {
        b.iter(|| scroll_and_draw(&mut app, &mut terminal))
    });
    let mut n = 0;
    group.bench_function("history_100k_entries_live_entry_and_draw", |b| {
        b.iter(|| {
            n += 1;
            app.fold(EngineEvent::Log {
                fabric: "bench".into(),
                entry: LogEntry {
                    time: NOW,
                    what: LogKind::Apply,
                    object: Some("VPC/vpc-000001".into()),
                    message: format!("applied #{n}"),
                    key: None,
                },
            });
            terminal
                .draw(|frame| hhdash::ui::draw(frame, &mut app))
                .unwrap();
            black_box(terminal.backend().buffer().area);
        })
    });
    group.finish();
}

/// 100 fabrics of `rows` VPCs each (the same rows, their objects shared), all live: every 7th
/// drifted, every 13th Critical, every 11th's watch broken — the fabric list sorts and counts
/// them on every frame.
fn fleet_app(rows: usize) -> App {
    let rows: Vec<ResourceRow> = (0..rows).map(vpc_row).collect();
    let names: Vec<String> = (1..=100).map(|i| format!("fab-{i:03}")).collect();
    let options = Options {
        theme: Theme { color: true },
        ..Options::default()
    };
    let mut app = App::new(names.clone(), options, NOW);
    for (i, name) in names.iter().enumerate() {
        app.fold(EngineEvent::Snapshot {
            fabric: name.clone(),
            status: fleet_status(i, false),
            rows: rows.clone(),
            events: Vec::new(),
            switches: Vec::new(),
        });
    }
    app.set_view(View::parse("vpc").unwrap());
    app
}

fn fleet_status(i: usize, critical: bool) -> FabricStatus {
    let mut status = FabricStatus::default();
    status.watch.state = WatchState::Active;
    if i.is_multiple_of(7) {
        status.drift.state = DriftState::DriftDetected;
        status.drift.count = 10;
    }
    if critical || i.is_multiple_of(13) {
        status.drift.state = DriftState::Critical;
        status.drift.count = 100;
    }
    if i.is_multiple_of(11) {
        status.watch.state = WatchState::Error;
    }
    status
}

fn bench_fleet(c: &mut Criterion) {
    let mut group = c.benchmark_group("fleet_100_fabrics_x_1000_rows");
    let mut app = fleet_app(1000);
    for (width, height) in [(80, 24), (160, 40)] {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|frame| hhdash::ui::draw(frame, &mut app))
            .unwrap();
        group.bench_function(format!("scroll_and_draw_{width}x{height}"), |b| {
            b.iter(|| scroll_and_draw(&mut app, &mut terminal))
        });
    }
    let mut terminal = Terminal::new(TestBackend::new(160, 40)).unwrap();
    // A fabric turns Critical and back: the list re-sorts, the summary recounts.
    let mut flip = false;
    group.bench_function("status_change_and_draw_160x40", |b| {
        b.iter(|| {
            flip = !flip;
            app.fold(EngineEvent::Status {
                fabric: "fab-050".into(),
                status: fleet_status(49, flip),
            });
            terminal
                .draw(|frame| hhdash::ui::draw(frame, &mut app))
                .unwrap();
            black_box(terminal.backend().buffer().area);
        })
    });
    // Walking the fabric list: each step shows another fabric's 1,000-row table.
    while app.focus != Focus::Fabrics {
        app.update(Action::FocusNext);
    }
    let mut down = true;
    group.bench_function("next_fabric_and_draw_160x40", |b| {
        b.iter(|| {
            down = !down;
            app.update(if down { Action::Down } else { Action::Up });
            terminal
                .draw(|frame| hhdash::ui::draw(frame, &mut app))
                .unwrap();
            black_box(terminal.backend().buffer().area);
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_frames,
    bench_fold,
    bench_history,
    bench_fleet
);
criterion_main!(benches);
