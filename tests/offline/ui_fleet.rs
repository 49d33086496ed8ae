//! A fleet of 100 fabrics on one screen: the fabric list sorted worst first, filtered by name
//! (`/` while the list has the focus), under a summary row counted from the fabrics. Rows come
//! from the real demo-gitops samples, the statuses from the engine's own vocabulary.

use crate::ui_fixture::*;
use crossterm::event::KeyCode;
use hhdash::engine::{EngineEvent, ResourceRow};
use hhdash::health::{SwitchHealth, SwitchState};
use hhdash::status::{ConnectionState, DriftState, DriftStatus, FabricStatus, WatchState};
use hhdash::ui::fleet::{Severity, Summary};
use hhdash::ui::{App, Focus, View};

const FABRICS: usize = 100;

fn name(i: usize) -> String {
    format!("fab-{i:03}")
}

/// Fabric `i`'s status and switches, mixed on purpose: every 17th is Critical, every 13th has
/// lost its server, every 11th has a stale switch, every 5th has drifted, every 23rd is still
/// starting its watch; the rest are live, in sync and healthy.
fn fleet_status(i: usize) -> (FabricStatus, Vec<SwitchHealth>) {
    let mut status = FabricStatus {
        drift: DriftStatus::default(),
        ..live_status()
    };
    if i.is_multiple_of(5) {
        status.drift = DriftStatus {
            state: DriftState::DriftDetected,
            count: i % 7 + 1,
        };
    }
    if i.is_multiple_of(17) {
        status.drift = DriftStatus {
            state: DriftState::Critical,
            count: 4,
        };
    }
    if i.is_multiple_of(13) {
        status.connection.state = ConnectionState::Failed;
        status.connection.error = Some("connection refused".into());
        status.watch.state = WatchState::Error;
    }
    if i.is_multiple_of(23) {
        status.watch.state = WatchState::Starting;
    }
    let mut switches = vec![
        switch("leaf-01", SwitchState::Ready, Some(3)),
        switch("leaf-02", SwitchState::Ready, Some(5)),
    ];
    if i.is_multiple_of(11) {
        switches.push(switch("leaf-03", SwitchState::Stale, Some(1260)));
    }
    (status, switches)
}

fn snapshot(i: usize, rows: &[ResourceRow]) -> EngineEvent {
    let (status, switches) = fleet_status(i);
    EngineEvent::Snapshot {
        fabric: name(i),
        status,
        rows: rows.to_vec(),
        events: Vec::new(),
        switches,
    }
}

/// 100 fabrics, every snapshot folded, on the VPC view of the first one.
fn fleet() -> App {
    let mut app = App::new((1..=FABRICS).map(name), options(false), NOW);
    let rows = prod_rows();
    for i in 1..=FABRICS {
        app.fold(snapshot(i, &rows));
    }
    app.set_view(View::parse("vpc").unwrap());
    app
}

/// The fabric names in the order the list shows them.
fn shown(app: &App) -> Vec<String> {
    app.fabric_order()
        .into_iter()
        .map(|i| app.fabrics[i].name.clone())
        .collect()
}

fn selected(app: &App) -> &str {
    &app.fabrics[app.selected].name
}

fn status_event(i: usize, change: impl FnOnce(&mut FabricStatus)) -> EngineEvent {
    let (mut status, _) = fleet_status(i);
    change(&mut status);
    EngineEvent::Status {
        fabric: name(i),
        status,
    }
}

#[test]
fn a_hundred_fabrics_at_80x24() {
    let mut app = fleet();
    insta::assert_snapshot!(render(&mut app, 80, 24));
}

#[test]
fn a_hundred_fabrics_at_160x40() {
    let mut app = fleet();
    insta::assert_snapshot!(render(&mut app, 160, 40));
}

#[test]
fn the_list_is_worst_first_then_in_config_order() {
    let app = fleet();
    let order = shown(&app);
    assert_eq!(order.len(), FABRICS);
    // 17, 34, 51, 68, 85 are Critical, then the ones whose server is gone.
    assert_eq!(
        order[..7],
        [
            "fab-017", "fab-034", "fab-051", "fab-068", "fab-085", "fab-013", "fab-026"
        ]
    );
    let severities: Vec<Severity> = app
        .fabric_order()
        .into_iter()
        .map(|i| Severity::of(&app.fabrics[i]))
        .collect();
    assert!(severities.is_sorted(), "{severities:?}");
    assert_eq!(severities.last(), Some(&Severity::Ok));
    assert_eq!(order.last().map(String::as_str), Some("fab-098"));
}

#[test]
fn a_fabric_that_turns_critical_moves_to_the_top_and_keeps_the_selection() {
    let mut app = fleet();
    app.update(hhdash::ui::Action::SelectFabric(0));
    assert_eq!(selected(&app), "fab-001");
    let before = shown(&app);
    assert!(before.iter().position(|n| n == "fab-001").unwrap() > 40);
    app.fold(status_event(1, |s| {
        s.drift = DriftStatus {
            state: DriftState::Critical,
            count: 9,
        };
    }));
    let after = shown(&app);
    // Worst first, and among the Critical ones in config order: fab-001 leads.
    assert_eq!(after[0], "fab-001");
    assert_eq!(selected(&app), "fab-001");
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("▸ ! fab-001"), "{screen}");
    // It recovers: back among the healthy ones.
    app.fold(status_event(1, |_| {}));
    assert_eq!(shown(&app), before);
}

#[test]
fn j_on_the_fabric_list_walks_the_list_as_shown() {
    let mut app = fleet();
    focus_fabrics(&mut app);
    // fab-001 is selected at start; where it is shown, j takes the next one shown.
    let order = shown(&app);
    let at = order.iter().position(|n| n == "fab-001").unwrap();
    press(&mut app, "j");
    assert_eq!(selected(&app), order[at + 1]);
    special(&mut app, KeyCode::Home);
    assert_eq!(selected(&app), "fab-017");
}

fn focus_fabrics(app: &mut App) {
    while app.focus != Focus::Fabrics {
        special(app, KeyCode::Tab);
    }
}

#[test]
fn slash_on_the_fabric_list_narrows_it_by_name_and_esc_restores() {
    let mut app = fleet();
    focus_fabrics(&mut app);
    let table_rows_before = app.listing.rows.len();
    press(&mut app, "/FAB-04");
    // Narrowed as typed, any case; sorted still: fab-040 (drifted) before fab-041.
    assert_eq!(
        shown(&app),
        [
            "fab-044", "fab-040", "fab-045", "fab-046", "fab-041", "fab-042", "fab-043", "fab-047",
            "fab-048", "fab-049"
        ]
    );
    // fab-001 is no longer shown: the first one shown is selected, and the table is its.
    assert_eq!(selected(&app), "fab-044");
    special(&mut app, KeyCode::Enter);
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("┏ /FAB-04 10/100 ━"), "{screen}");
    assert!(!screen.contains("fab-001"), "{screen}");
    // The table's own filter was left alone.
    assert!(app.filter.is_empty());
    app.prepare();
    assert_eq!(app.listing.rows.len(), table_rows_before);
    press(&mut app, "j");
    assert_eq!(selected(&app), "fab-040");
    // A filter nothing matches says so.
    press(&mut app, "/x");
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("┏ /FAB-04x 0/100 ━"), "{screen}");
    assert!(screen.contains("┃no fabric matches"), "{screen}");
    special(&mut app, KeyCode::Esc);
    assert_eq!(
        shown(&app).len(),
        10,
        "esc in the prompt drops only what was typed"
    );
    special(&mut app, KeyCode::Esc);
    assert_eq!(shown(&app).len(), FABRICS);
    assert_eq!(selected(&app), "fab-040", "clearing keeps the selection");
}

#[test]
fn slash_on_the_table_still_filters_rows_not_fabrics() {
    let mut app = fleet();
    assert_eq!(app.focus, Focus::Table);
    press(&mut app, "/legacy");
    special(&mut app, KeyCode::Enter);
    assert_eq!(app.filter, "legacy");
    assert_eq!(shown(&app).len(), FABRICS);
    app.prepare();
    assert_eq!(app.listing.rows.len(), 1);
}

/// The summary row's four cells, read off the screen at 160 columns (full words), in the
/// order Critical, Disconnected, Unhealthy, Drifted.
fn summary_on_screen(app: &mut App) -> Vec<String> {
    let screen = render(app, 160, 40);
    let mut cells: Vec<String> = Vec::new();
    for line in screen.lines().skip(1).take(2) {
        let inside: String = line.chars().skip(2).take(30).collect();
        for c in inside.chars() {
            if "!⊘✗≠".contains(c) {
                cells.push(String::new());
            }
            if let Some(cell) = cells.last_mut() {
                cell.push(c);
            }
        }
    }
    cells.iter().map(|c| c.trim().to_string()).collect()
}

#[test]
fn the_summary_counts_the_fabrics_as_they_are_now() {
    let mut app = fleet();
    // Critical: 17 34 51 68 85; Disconnected: 13 26 39 52 65 78 91 (not 0 mod 17);
    // Unhealthy: the multiples of 11 left (11 22 33 44 55 66 77 88 99);
    // Drifted: the multiples of 5 left (all 20 but 55, 65 and 85).
    assert_eq!(
        summary_on_screen(&mut app),
        [
            "! 5 Critical",
            "⊘ 7 Disconnected",
            "✗ 9 Unhealthy",
            "≠ 17 Drifted"
        ]
    );
    let summary = Summary::of(&app.fabrics);
    let total: usize = Severity::ALL.iter().map(|&s| summary.count(s)).sum();
    assert_eq!(total, FABRICS);
    // One status event, and the same frame counts it: fab-002 loses its server.
    app.fold(status_event(2, |s| {
        s.connection.state = ConnectionState::Failed;
        s.watch.state = WatchState::Error;
    }));
    assert_eq!(summary_on_screen(&mut app)[1], "⊘ 8 Disconnected");
    // And a Drifted one turns Critical: one more there, one fewer here.
    app.fold(status_event(10, |s| {
        s.drift.state = DriftState::Critical;
    }));
    let cells = summary_on_screen(&mut app);
    assert_eq!(cells[0], "! 6 Critical");
    assert_eq!(cells[3], "≠ 16 Drifted");
}

#[test]
fn a_few_fabrics_keep_their_cards_sorted_worst_first() {
    let mut app = App::new(["calm", "broken"].map(String::from), options(false), NOW);
    let rows = prod_rows();
    let mut calm = snapshot(1, &rows);
    if let EngineEvent::Snapshot { fabric, .. } = &mut calm {
        *fabric = "calm".into();
    }
    let mut broken = snapshot(17, &rows);
    if let EngineEvent::Snapshot { fabric, .. } = &mut broken {
        *fabric = "broken".into();
    }
    app.fold(calm);
    app.fold(broken);
    assert_eq!(shown(&app), ["broken", "calm"]);
    let screen = render(&mut app, 80, 24);
    let broken_at = screen.find("broken").unwrap();
    assert!(broken_at < screen.find("calm").unwrap(), "{screen}");
    assert!(
        screen.contains("! Critical 4"),
        "cards, not compact rows: {screen}"
    );
}
