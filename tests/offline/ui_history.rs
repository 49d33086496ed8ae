//! The History view and the detail's attribution, drawn into ratatui's TestBackend and driven
//! through the public API the dashboard loop uses: keys in, engine events folded, the commands
//! the UI sends (`Effect::Send`) read back. The engine's answers are made here, as the engine
//! makes them (`EngineEvent::History`, `EngineEvent::Explained`); the clock is fixed.

use std::sync::Arc;

use crate::ui_fixture::*;
use crossterm::event::KeyCode;
use hhdash::attribution::{
    FieldWriter, GitExplanation, GitOrigin, LiveAttribution, PathExplanation,
};
use hhdash::engine::{Command, EngineEvent};
use hhdash::store::{LogEntry, LogKind, TimelineQuery};
use hhdash::ui::{App, Effect, View};
use serde_json::Value;

/// The History queries among `effects`, with the fabric each went to.
fn history_queries(effects: &[Effect]) -> Vec<(String, TimelineQuery)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                fabric,
                command: Command::History(query),
            } => Some((fabric.clone(), query.clone())),
            _ => None,
        })
        .collect()
}

fn entry(age: i64, what: LogKind, object: Option<(&str, &str)>, message: &str) -> LogEntry {
    LogEntry {
        time: NOW - age,
        what,
        object: object.map(|(kind, name)| format!("{kind}/{name}")),
        message: message.into(),
        key: object.map(|(kind, name)| key(kind, name)),
    }
}

/// prod-east's timeline over the last day, oldest first.
fn prod_timeline() -> Vec<LogEntry> {
    vec![
        entry(7200, LogKind::Sync, None, "synced 3f2a9c1 (20 objects)"),
        entry(
            3000,
            LogKind::Connection,
            None,
            "connected to https://10.0.0.1:6443 (v1.34.1)",
        ),
        entry(
            2400,
            LogKind::Apply,
            Some(("VPC", "demo-vpc-1")),
            "applied at 3f2a9c1",
        ),
        entry(
            600,
            LogKind::Modified,
            Some(("VPC", "demo-vpc-2")),
            "modified (resourceVersion 1005)",
        ),
        entry(
            240,
            LogKind::Drift,
            Some(("VPC", "demo-vpc-2")),
            "InSync → Drifted (spec.subnets.default.vlan: 1102 → 1999) · by kubectl-patch (Update) 17:52:10Z",
        ),
        entry(
            200,
            LogKind::Drift,
            Some(("VPC", "demo-vpc-3")),
            "InSync → Missing",
        ),
        entry(
            90,
            LogKind::Health,
            None,
            "s5248-04 Healthy → Unhealthy: no heartbeat for 21m",
        ),
    ]
}

/// The app on prod-east's History view with its timeline answered; `seen` 5 minutes ago.
fn history_app() -> App {
    let mut app = app(false);
    let effects = press(&mut app, "H");
    let queries = history_queries(&effects);
    assert_eq!(queries.len(), 1, "{effects:?}");
    let (fabric, query) = queries.into_iter().next().unwrap();
    app.fold(EngineEvent::History {
        fabric,
        query,
        entries: prod_timeline(),
        seen: Some(NOW - 300),
    });
    app
}

#[test]
fn h_asks_the_engine_for_the_last_day_and_shows_loading_until_it_answers() {
    let mut app = app(false);
    let effects = press(&mut app, "H");
    assert_eq!(app.view, View::History);
    assert_eq!(
        history_queries(&effects),
        vec![(
            "prod-east".to_string(),
            TimelineQuery {
                since: Some(NOW - 86_400),
                until: None,
                object: None,
                kinds: vec![],
                limit: hhdash::ui::history::HISTORY_LIMIT,
            }
        )]
    );
    let screen = render(&mut app, 120, 30);
    assert!(
        screen.contains("loading… the timeline of prod-east"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

/// Newest first; the three entries after `seen` carry `●` and the title counts them.
#[test]
fn history_view_newest_first_with_what_is_new_since_the_last_look() {
    let mut app = history_app();
    let screen = render(&mut app, 120, 30);
    let drift = screen.find("InSync → Missing").unwrap();
    let sync = screen.find("synced 3f2a9c1").unwrap();
    assert!(drift < sync, "newest first:\n{screen}");
    assert!(
        screen.contains("3 new since 17:51:10Z"),
        "the marker counts the entries after seen:\n{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn entry_kind_range_and_object_filters() {
    let mut app = history_app();
    // `e`: drift entries only — a new query to the engine; until it answers, loading.
    let effects = press(&mut app, "e");
    let queries = history_queries(&effects);
    assert_eq!(queries.len(), 1);
    assert_eq!(queries[0].1.kinds, vec![LogKind::Drift]);
    // An answer to the old query (still in flight) is not shown as the new filter's.
    app.fold(EngineEvent::History {
        fabric: "prod-east".into(),
        query: TimelineQuery {
            kinds: vec![],
            ..queries[0].1.clone()
        },
        entries: prod_timeline(),
        seen: None,
    });
    assert!(render(&mut app, 120, 30).contains("loading…"));
    let drift_only: Vec<LogEntry> = prod_timeline()
        .into_iter()
        .filter(|e| e.what == LogKind::Drift)
        .collect();
    app.fold(EngineEvent::History {
        fabric: "prod-east".into(),
        query: queries[0].1.clone(),
        entries: drift_only,
        seen: Some(NOW - 300),
    });
    let screen = render(&mut app, 120, 30);
    assert!(
        screen.contains("2 entries") && !screen.contains("synced 3f2a9c1"),
        "{screen}"
    );

    // `t`: the next range, last 7 days, is a new query too.
    let queries = history_queries(&press(&mut app, "t"));
    assert_eq!(queries[0].1.since, Some(NOW - 7 * 86_400));
    assert_eq!(queries[0].1.kinds, vec![LogKind::Drift], "e is kept");
    app.fold(EngineEvent::History {
        fabric: "prod-east".into(),
        query: queries[0].1.clone(),
        entries: prod_timeline(),
        seen: Some(NOW - 300),
    });
    // `e` back round to all entries, then `K`: objects of one kind (VPC) only, no round trip.
    for _ in 0..8 {
        let queries = history_queries(&press(&mut app, "e"));
        app.fold(EngineEvent::History {
            fabric: "prod-east".into(),
            query: queries[0].1.clone(),
            entries: prod_timeline(),
            seen: Some(NOW - 300),
        });
    }
    let effects = press(&mut app, "K");
    assert!(history_queries(&effects).is_empty(), "{effects:?}");
    let screen = render(&mut app, 120, 30);
    assert!(
        screen.contains("VPC only") && screen.contains("4 entries"),
        "{screen}"
    );
    assert!(!screen.contains("synced 3f2a9c1"), "{screen}");
    // `/` narrows by object name as typed.
    press(&mut app, "/demo-vpc-3");
    special(&mut app, KeyCode::Enter);
    let screen = render(&mut app, 120, 30);
    insta::assert_snapshot!(screen);
    assert!(screen.contains("1 entry"), "{screen}");
}

#[test]
fn all_fabrics_merges_the_timelines_in_time_order() {
    let mut app = history_app();
    let effects = press(&mut app, "f");
    let queries = history_queries(&effects);
    assert_eq!(
        queries.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        ["lab"],
        "prod-east's timeline is already there: only lab is asked"
    );
    let screen = render(&mut app, 120, 30);
    assert!(screen.contains("fabric(s) still answering"), "{screen}");
    app.fold(EngineEvent::History {
        fabric: "lab".into(),
        query: queries[0].1.clone(),
        entries: vec![
            entry(
                2500,
                LogKind::Connection,
                None,
                "connecting to https://10.1.0.1:6443",
            ),
            entry(60, LogKind::Error, None, "connection refused"),
        ],
        seen: Some(NOW - 3600),
    });
    let screen = render(&mut app, 120, 30);
    let refused = screen.find("connection refused").unwrap();
    let health = screen.find("s5248-04 Healthy").unwrap();
    assert!(
        screen.contains("● 5 new since your last look"),
        "new counted over both fabrics, each against its own seen time:\n{screen}"
    );
    assert!(refused < health, "lab's newer entry first:\n{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn live_entries_append_while_the_view_is_open_and_leaving_marks_seen() {
    let mut app = history_app();
    app.fold(EngineEvent::Log {
        fabric: "prod-east".into(),
        entry: entry(
            5,
            LogKind::Apply,
            Some(("VPC", "demo-vpc-3")),
            "applied at 3f2a9c1",
        ),
    });
    let screen = render(&mut app, 120, 30);
    assert!(screen.contains("8 entries"), "{screen}");
    assert!(screen.contains("4 new since"), "{screen}");
    let lines: Vec<&str> = screen.lines().collect();
    let first = lines.iter().position(|l| l.contains("TIME (UTC)")).unwrap() + 1;
    assert!(
        lines[first].contains("▸●11-25 17:56:05") && lines[first].contains("demo-vpc-3"),
        "the live entry is first, marked new:\n{screen}"
    );
    // `H` again: back to the VPC view, and the engine hears the timeline was seen up to now.
    let effects = press(&mut app, "H");
    assert_eq!(app.view, View::parse("vpc").unwrap());
    assert_eq!(
        effects,
        vec![Effect::Send {
            fabric: "prod-east".into(),
            command: Command::MarkSeen(NOW),
        }]
    );
    // Lines arriving while the view is closed are not collected for it.
    app.fold(EngineEvent::Log {
        fabric: "prod-east".into(),
        entry: entry(1, LogKind::Sync, None, "synced again"),
    });
    assert!(app.history.is_empty());
}

#[test]
fn enter_on_an_entry_opens_its_object_and_esc_comes_back() {
    let mut app = history_app();
    // The newest entry is fabric-wide: enter says so and opens nothing.
    special(&mut app, KeyCode::Enter);
    assert!(app.detail.is_none());
    press(&mut app, "j");
    let effects = special(&mut app, KeyCode::Enter);
    let detail = app.detail.as_ref().expect("the object's detail opened");
    assert_eq!(detail.key, key("VPC", "demo-vpc-3"));
    assert!(
        effects.is_empty(),
        "demo-vpc-3 is Missing: no drifted path to explain: {effects:?}"
    );
    press(&mut app, "j");
    let effects = special(&mut app, KeyCode::Esc);
    assert!(
        effects.is_empty(),
        "esc from the detail is not leaving the view"
    );
    assert!(app.detail.is_none());
    assert_eq!(app.view, View::History);
    // The drifted demo-vpc-2 opens too, and asks for its Git side.
    press(&mut app, "j");
    let effects = special(&mut app, KeyCode::Enter);
    assert_eq!(
        effects,
        vec![Effect::Send {
            fabric: "prod-east".into(),
            command: Command::Explain(key("VPC", "demo-vpc-2")),
        }]
    );
}

#[test]
fn a_hundred_thousand_entries_scroll_to_the_oldest() {
    let mut app = app(false);
    let effects = press(&mut app, "H");
    let (_, query) = history_queries(&effects).remove(0);
    let entries: Vec<LogEntry> = (0..100_000)
        .map(|i| LogEntry {
            time: NOW - 86_000 + i / 2,
            what: LogKind::Modified,
            object: Some(format!("VPC/vpc-{i}")),
            message: format!("modified #{i}"),
            key: None,
        })
        .collect();
    app.fold(EngineEvent::History {
        fabric: "prod-east".into(),
        query,
        entries,
        seen: None,
    });
    let screen = render(&mut app, 120, 30);
    assert!(
        screen.contains("100000 entries") && screen.contains("modified #99999"),
        "{screen}"
    );
    press(&mut app, "G");
    let screen = render(&mut app, 120, 30);
    assert!(screen.contains("▸ 11-24 18:02:50"), "{screen}");
    assert!(screen.contains("modified #0 "), "{screen}");
}

/// The live attribution the detail shows, fixed: kubectl-patch wrote every path.
fn kubectl_patch(_live: &Value, _path: &str) -> Option<LiveAttribution> {
    Some(LiveAttribution {
        writers: vec![FieldWriter {
            manager: "kubectl-patch".into(),
            operation: "Update".into(),
            subresource: None,
            time: Some(NOW - 240),
        }],
        exact: true,
    })
}

fn explanation(problem: Option<&str>) -> GitExplanation {
    GitExplanation {
        key: key("VPC", "demo-vpc-2"),
        commit: COMMIT.into(),
        file: "pre-demo.yaml".into(),
        paths: vec![PathExplanation {
            path: "spec.subnets.default.vlan".into(),
            live: None,
            git: Some(GitOrigin {
                commit: "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678".into(),
                author: "Bob".into(),
                time: NOW - 5 * 86_400,
                subject: "raise vlan".into(),
                at_or_before: false,
            }),
            line: Some(29),
        }],
        problem: problem.map(str::to_string),
    }
}

/// demo-vpc-2 opened from the VPC table, with the attribution seam set.
fn drifted_detail() -> (App, Vec<Effect>) {
    let mut app = app(false);
    app.attribute = kubectl_patch;
    press(&mut app, "j");
    let effects = special(&mut app, KeyCode::Enter);
    assert_eq!(app.detail.as_ref().unwrap().key, key("VPC", "demo-vpc-2"));
    (app, effects)
}

#[test]
fn detail_asks_for_the_git_side_and_says_it_is_looking() {
    let (mut app, effects) = drifted_detail();
    assert_eq!(
        effects,
        vec![Effect::Send {
            fabric: "prod-east".into(),
            command: Command::Explain(key("VPC", "demo-vpc-2")),
        }]
    );
    let screen = render(&mut app, 160, 44);
    assert!(screen.contains("looking up Git history…"), "{screen}");
    assert!(
        screen.contains(
            "≠ spec.subnets.default.vlan: 1102 → 1999 · by kubectl-patch (Update) 17:52:10Z"
        ),
        "the live attribution beside the path:\n{screen}"
    );
    // Scrolling or a refold of the same drift asks nothing more.
    assert!(press(&mut app, "j").is_empty());
    app.fold(prod_snapshot(live_status()));
    assert!(app.take_effects().is_empty());
}

#[test]
fn detail_with_attribution_git_origin_and_marked_lines() {
    let (mut app, _) = drifted_detail();
    app.fold(EngineEvent::Explained {
        fabric: "prod-east".into(),
        explanation: Arc::new(explanation(None)),
    });
    // The drifted lines: `vlan: 1102` (line 15) in Git's YAML, `vlan: 1999` (line 19, below the
    // server's metadata) in the cluster's. Both fit in a 160x44 pane from the top: no scroll.
    let detail = app.detail.as_ref().unwrap();
    assert_eq!(detail.marked, [vec![14], vec![18]]);
    let screen = render(&mut app, 160, 44);
    assert_eq!(app.detail.as_ref().unwrap().scroll, [0, 0]);
    assert!(
        screen.contains("≠       vlan: 1102") && screen.contains("≠       vlan: 1999"),
        "both drifted lines marked:\n{screen}"
    );
    assert!(!screen.contains("looking up Git history"), "{screen}");
    assert!(
        screen.contains(
            "git: a1b2c3d4e5f6 Bob 2026-11-20 17:56:10Z \"raise vlan\" · pre-demo.yaml:29"
        ),
        "{screen}"
    );
    assert!(
        screen.contains("Git · pre-demo.yaml:29 @ 3f2a9c1"),
        "file:line points at the drifted field:\n{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn detail_shows_the_git_problem() {
    let (mut app, _) = drifted_detail();
    app.fold(EngineEvent::Explained {
        fabric: "prod-east".into(),
        explanation: Arc::new(explanation(Some(
            "the clone is shallow (depth 1): the value was set at or before a1b2c3d",
        ))),
    });
    let screen = render(&mut app, 160, 44);
    assert!(
        screen.contains("! Git history: the clone is shallow (depth 1)"),
        "{screen}"
    );
}

/// At 80x24 the panes stack and hold five lines each: each opens at its own drifted line (two
/// lines of context above), and `j` moves both.
#[test]
fn stacked_detail_scrolls_each_pane_to_its_drifted_line() {
    let (mut app, _) = drifted_detail();
    let screen = render(&mut app, 80, 24);
    assert_eq!(app.detail.as_ref().unwrap().scroll, [12, 16]);
    assert!(
        screen.contains("≠       vlan: 1102") && screen.contains("≠       vlan: 1999"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
    press(&mut app, "j");
    assert_eq!(app.detail.as_ref().unwrap().scroll, [13, 17]);
    // The same drift folded anew keeps the operator's scroll.
    render(&mut app, 80, 24);
    app.fold(prod_snapshot(live_status()));
    render(&mut app, 80, 24);
    assert_eq!(app.detail.as_ref().unwrap().scroll, [13, 17]);
}
