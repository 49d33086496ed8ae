//! Snapshots of the dashboard drawn into ratatui's TestBackend, fed only through the public
//! event-folding API with rows made from the real demo-gitops samples. The clock is fixed
//! (`ui_fixture::NOW`), so no snapshot depends on the wall clock.

use crate::ui_fixture::*;
use hhdash::engine::{EngineEvent, JobKind, JobPhase};
use hhdash::status::{ConnectionState, WatchState};
use hhdash::ui::{App, Key, View};

fn enter(app: &mut App) {
    app.on_key(Key::plain(crossterm::event::KeyCode::Enter));
}

#[test]
fn main_screen_two_fabrics_vpc_table() {
    let mut app = app(false);
    insta::assert_snapshot!(render(&mut app, 160, 40));
}

#[test]
fn main_screen_at_80x24() {
    let mut app = app(false);
    insta::assert_snapshot!(render(&mut app, 80, 24));
}

#[test]
fn drift_view_at_80x24() {
    let mut app = app(false);
    app.set_view(View::Drift);
    insta::assert_snapshot!(render(&mut app, 80, 24));
}

/// The former Agents view, now Health: the stale switch first, with its reason.
#[test]
fn health_view_of_agents_only() {
    let mut app = app(false);
    app.set_view(View::Health);
    insta::assert_snapshot!(render(&mut app, 120, 30));
}

#[test]
fn detail_of_a_drifted_vpc_side_by_side() {
    let mut app = app(false);
    press(&mut app, "j");
    enter(&mut app);
    insta::assert_snapshot!(render(&mut app, 160, 44));
}

#[test]
fn detail_stacks_at_80x24() {
    let mut app = app(false);
    press(&mut app, "j");
    enter(&mut app);
    insta::assert_snapshot!(render(&mut app, 80, 24));
}

#[test]
fn help_overlay() {
    let mut app = app(false);
    press(&mut app, "?");
    insta::assert_snapshot!(render(&mut app, 120, 45));
}

#[test]
fn help_overlay_read_only() {
    let mut app = app(true);
    press(&mut app, "?");
    insta::assert_snapshot!(render(&mut app, 120, 45));
}

#[test]
fn confirm_dialog_lists_what_apply_all_changes() {
    let mut app = app(false);
    press(&mut app, "A");
    insta::assert_snapshot!(render(&mut app, 120, 32));
}

#[test]
fn disconnected_fabric_says_since_when_and_why() {
    let mut app = app(false);
    let mut status = live_status();
    status.connection.state = ConnectionState::Failed;
    status.connection.error = Some("dial tcp 10.0.0.1:6443: connect: connection refused".into());
    status.watch.state = WatchState::Error;
    status.watch.error = Some("watch stream ended: connection refused".into());
    app.now = NOW;
    app.fold(EngineEvent::Status {
        fabric: "prod-east".into(),
        status,
    });
    insta::assert_snapshot!(render(&mut app, 120, 30));
}

/// A server that stopped answering: the card, the status line, the banner and the event pane
/// say "no answer since", and every row stays as last known, under a "stale" banner — at the
/// narrowest layout (80x24, a 22-column card) and a wide one.
#[test]
fn a_silent_server_reads_no_answer_since_and_the_rows_stay_marked_stale() {
    let mut app = app(false);
    let mut status = live_status();
    let since = NOW - 40;
    status.connection.state = ConnectionState::NoAnswer;
    status.connection.no_answer_since = Some(since);
    status.connection.error = Some(
        "fabric prod-east: no answer from https://10.0.0.1:6443 (GET /version: no reply within 5 s); the server may be hung, or a VPN or load balancer on the way dropped the connection: check them, then retry".into(),
    );
    status.watch.state = WatchState::Error;
    status.watch.error = Some(format!(
        "{}; the rows are the last known state",
        hhdash::status::no_answer_since(since)
    ));
    app.now = NOW;
    app.fold(EngineEvent::Status {
        fabric: "prod-east".into(),
        status,
    });
    app.fold(EngineEvent::Log {
        fabric: "prod-east".into(),
        entry: event(
            35,
            hhdash::store::LogKind::Error,
            None,
            &format!(
                "{} from https://10.0.0.1:6443 (…); showing the last known state, marked stale",
                hhdash::status::no_answer_since(since)
            ),
        ),
    });
    let narrow = render(&mut app, 80, 24);
    for shown in [
        "✗ No answer",
        "since 17:55:30Z",
        "no answer since 17:55:30Z · stale",
    ] {
        assert!(narrow.contains(shown), "{shown:?} not on screen:\n{narrow}");
    }
    assert!(
        narrow.contains("demo-vpc-1"),
        "the last known rows stay on screen:\n{narrow}"
    );
    insta::assert_snapshot!(format!("{narrow}\n{}", render(&mut app, 120, 30)));
}

#[test]
fn loading_before_any_snapshot() {
    let mut app = App::new(
        ["prod-east".to_string(), "lab".to_string()],
        options(false),
        NOW,
    );
    insta::assert_snapshot!(render(&mut app, 100, 24));
}

#[test]
fn cached_and_connecting_before_the_watch() {
    let mut app = App::new(
        ["prod-east".to_string(), "lab".to_string()],
        options(false),
        NOW,
    );
    app.fold(prod_snapshot(live_status()));
    app.fold(lab_snapshot());
    press(&mut app, "2");
    app.set_view(View::parse("vpc").unwrap());
    insta::assert_snapshot!(render(&mut app, 100, 24));
}

#[test]
fn job_progress_then_its_result() {
    let mut app = app(false);
    app.fold(EngineEvent::Job {
        fabric: "prod-east".into(),
        job: JobKind::Apply,
        phase: JobPhase::Progress {
            done: 1,
            total: 2,
            message: "VPC/demo-vpc-2".into(),
        },
    });
    let during = render(&mut app, 100, 24);
    app.fold(EngineEvent::Job {
        fabric: "prod-east".into(),
        job: JobKind::Apply,
        phase: JobPhase::Failed {
            message: "VPC/demo-vpc-3: admission webhook denied: subnet overlaps demo-vpc-1".into(),
        },
    });
    let after = render(&mut app, 100, 24);
    insta::assert_snapshot!(format!("{during}\n{after}"));
}

/// An app on fabric `gw` holding the example gateway (see `gateway_snapshot`).
fn gateway_app(namespaces: &hhdash::config::Namespaces, with_docs_gateway: bool) -> App {
    let mut options = options(false);
    if namespaces.managed.len() > 1 {
        options.multi_namespace.insert("gw".to_string());
    }
    let mut app = App::new(["gw".to_string()], options, NOW);
    app.fold(gateway_snapshot(namespaces, with_docs_gateway));
    app
}

#[test]
fn gateway_and_gateway_peering_views_show_their_registry_columns() {
    let mut app = gateway_app(&hhdash::config::Namespaces::single("default"), false);
    app.set_view(View::parse("gateway").unwrap());
    let gateways = render(&mut app, 160, 12);
    app.set_view(View::parse("gwpeer").unwrap());
    let peerings = render(&mut app, 120, 12);
    for expected in [
        "ASN",
        "ProtoIP",
        "VTEPIP",
        "Interfaces",
        "Neighbors",
        "Groups",
        "gateway-1",
        "65534",
        "172.30.8.6/32",
        "enp2s1 enp2s2",
        "172.30.128.16@65102",
    ] {
        assert!(gateways.contains(expected), "{expected}:\n{gateways}");
    }
    for expected in [
        "Sides",
        "NAT",
        "ACL",
        "db--mgmt",
        "db mgmt",
        "mgmt:masquerade",
    ] {
        assert!(peerings.contains(expected), "{expected}:\n{peerings}");
    }
    insta::assert_snapshot!(format!("{gateways}\n{peerings}"));
}

#[test]
fn a_fabric_spanning_two_namespaces_names_each_row_with_its_namespace() {
    let namespaces = hhdash::config::Namespaces {
        default: "default".into(),
        managed: vec!["default".into(), "fab".into()],
        by_kind: Default::default(),
    };
    let mut app = gateway_app(&namespaces, true);
    app.set_view(View::parse("gw").unwrap());
    let screen = render(&mut app, 120, 12);
    assert!(screen.contains("NAMESPACE/NAME"), "{screen}");
    assert!(screen.contains("default/gateway-1"), "{screen}");
    assert!(screen.contains("fab/gateway-1"), "{screen}");
    insta::assert_snapshot!(screen);

    // One namespace: names alone, as before.
    let mut app = gateway_app(&hhdash::config::Namespaces::single("default"), false);
    app.set_view(View::parse("gw").unwrap());
    let screen = render(&mut app, 120, 12);
    assert!(!screen.contains("default/gateway-1"), "{screen}");
    assert!(screen.contains("▸gateway-1 "), "{screen}");
}

#[test]
fn every_view_tab_shows_whole_with_its_position_at_80_and_120_columns() {
    let count = View::all().count();
    assert_eq!(count, 22);
    for width in [80, 120] {
        let mut app = app(false);
        for (i, view) in View::all().enumerate() {
            app.set_view(view);
            let screen = render(&mut app, width, 24);
            let tabs = screen.lines().next().unwrap().trim_matches('"');
            let start = tabs.find(&format!("[{}", view.title())).unwrap_or_else(|| {
                panic!("{width} columns, {view:?}: no selected tab in {tabs:?}")
            });
            assert!(
                tabs[start..].contains(']'),
                "{width} columns, {view:?}: the selected tab is cut off: {tabs:?}"
            );
            assert!(
                tabs.trim_end().ends_with(&format!(" {}/{count}", i + 1)),
                "{width} columns, {view:?}: no position: {tabs:?}"
            );
        }
    }
}
