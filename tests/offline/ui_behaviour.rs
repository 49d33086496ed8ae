//! Behaviour of the dashboard model: keys produce the right engine commands, read-only
//! refuses writes, filter/sort/drift-only narrow the visible rows, a burst of events is one
//! frame, and the `[ui]` config table is validated like the rest of the config.

use std::path::Path;

use crate::ui_fixture::*;
use crossterm::event::KeyCode;
use hhdash::config::Config;
use hhdash::engine::{ApplyRequest, ApplyScope, Command, EngineEvent};
use hhdash::ui::{self, App, Effect, Key, Overlay, View};

/// The names of the visible rows, in order.
fn visible(app: &mut App) -> Vec<String> {
    app.prepare();
    let fabric = &app.fabrics[app.selected];
    app.listing
        .rows
        .iter()
        .map(|&i| fabric.entries()[i].row.key.name.clone())
        .collect()
}

fn send(command: Command) -> Vec<Effect> {
    vec![Effect::Send {
        fabric: "prod-east".into(),
        command,
    }]
}

fn apply(scope: ApplyScope) -> Command {
    Command::Apply(ApplyRequest {
        scope,
        dry_run: false,
        force_conflicts: false,
    })
}

#[test]
fn vpc_table_lists_in_natural_name_order() {
    let mut app = app(false);
    assert_eq!(
        visible(&mut app),
        [
            "demo-vpc-1",
            "demo-vpc-2",
            "demo-vpc-3",
            "legacy-vpc",
            "vpc-test"
        ]
    );
}

#[test]
fn a_applies_the_selected_object() {
    let mut app = app(false);
    press(&mut app, "j");
    let effects = press(&mut app, "a");
    assert_eq!(
        effects,
        send(apply(ApplyScope::Objects(vec![key("VPC", "demo-vpc-2")])))
    );
}

#[test]
fn a_on_an_orphan_sends_nothing_and_says_why() {
    let mut app = app(false);
    press(&mut app, "jjj");
    assert!(press(&mut app, "a").is_empty());
    assert!(app.notice.as_ref().unwrap().text.contains("not in Git"));
}

#[test]
fn shift_a_confirms_then_applies_out_of_sync() {
    let mut app = app(false);
    assert!(
        press(&mut app, "A").is_empty(),
        "nothing is sent before the confirm"
    );
    let Overlay::Confirm(confirm) = &app.overlay else {
        panic!("A opens the confirm dialog, got {:?}", app.overlay);
    };
    let listed: Vec<&str> = confirm.items.iter().map(|i| i.object.as_str()).collect();
    assert_eq!(listed, ["VPC/demo-vpc-2", "VPC/demo-vpc-3"]);
    assert!(
        confirm.items[0]
            .change
            .contains("spec.subnets.default.vlan: 1102 → 1999")
    );
    assert_eq!(press(&mut app, "y"), send(apply(confirmed_vpc_2_and_3())));
    assert_eq!(app.overlay, Overlay::None);
}

/// What the dialog over the fixture lists: exactly these objects, at the fixture's commit.
fn confirmed_vpc_2_and_3() -> ApplyScope {
    ApplyScope::Confirmed {
        objects: vec![key("VPC", "demo-vpc-2"), key("VPC", "demo-vpc-3")],
        commit: Some(COMMIT.into()),
    }
}

#[test]
fn a_list_that_moves_under_the_open_dialog_is_shown_again_not_applied() {
    let mut app = app(false);
    press(&mut app, "A");
    // A watch event while the dialog is open: demo-vpc-1 drifts too.
    let objects = sample_objects();
    let vpc1 = objects.iter().find(|o| o.key.name == "demo-vpc-1").unwrap();
    let mut live = served(&vpc1.object.value(), 1);
    live["spec"]["subnets"]["default"]["vlan"] = serde_json::json!(1777);
    let mut drifted = row(Some(vpc1), Some(live));
    drifted.drift = hhdash::drift::classify(
        hhdash::kinds::by_kind("VPC").unwrap(),
        drifted.desired.as_ref().map(|d| d.object.value()).as_ref(),
        drifted.live.as_ref().map(|l| l.value()).as_ref(),
        true,
    );
    app.fold(EngineEvent::Rows {
        fabric: "prod-east".into(),
        upserts: vec![drifted],
        removed: vec![],
    });
    assert!(
        press(&mut app, "y").is_empty(),
        "an answer to a list that is no longer current applies nothing"
    );
    let Overlay::Confirm(confirm) = &app.overlay else {
        panic!("the dialog is shown again, got {:?}", app.overlay);
    };
    let listed: Vec<&str> = confirm.items.iter().map(|i| i.object.as_str()).collect();
    assert_eq!(
        listed,
        ["VPC/demo-vpc-1", "VPC/demo-vpc-2", "VPC/demo-vpc-3"]
    );
    assert!(confirm.warning.as_deref().unwrap().contains("list changed"));
    // The same happens when Git moves to another commit.
    let mut status = live_status();
    status.sync.commit = Some("0123456789abcdef0123456789abcdef01234567".into());
    app.fold(EngineEvent::Status {
        fabric: "prod-east".into(),
        status,
    });
    assert!(press(&mut app, "y").is_empty());
    let effects = press(&mut app, "y");
    let [
        Effect::Send {
            command: Command::Apply(request),
            ..
        },
    ] = effects.as_slice()
    else {
        panic!("the re-shown list applies on y: {effects:?}");
    };
    let ApplyScope::Confirmed { objects, commit } = &request.scope else {
        panic!("confirmed scope: {request:?}");
    };
    assert_eq!(objects.len(), 3);
    assert_eq!(
        commit.as_deref(),
        Some("0123456789abcdef0123456789abcdef01234567")
    );
}

#[test]
fn capital_f_in_the_confirm_dialog_forces_conflicts_and_nothing_else_does() {
    let mut app = app(false);
    press(&mut app, "A");
    let effects = press(&mut app, "F");
    let [
        Effect::Send {
            command: Command::Apply(request),
            ..
        },
    ] = effects.as_slice()
    else {
        panic!("F applies: {effects:?}");
    };
    assert_eq!(request.scope, confirmed_vpc_2_and_3());
    assert!(
        request.force_conflicts,
        "F takes ownership of conflicting fields"
    );
    press(&mut app, "A");
    let effects = press(&mut app, "y");
    let [
        Effect::Send {
            command: Command::Apply(request),
            ..
        },
    ] = effects.as_slice()
    else {
        panic!("y applies: {effects:?}");
    };
    assert!(!request.force_conflicts, "y never forces");
    // A lowercase f is nothing in the dialog.
    press(&mut app, "A");
    assert!(press(&mut app, "f").is_empty());
}

#[test]
fn the_confirm_dialog_cancels_on_n_or_esc() {
    let mut app = app(false);
    press(&mut app, "A");
    assert!(press(&mut app, "n").is_empty());
    assert_eq!(app.overlay, Overlay::None);
    press(&mut app, "A");
    assert!(special(&mut app, KeyCode::Esc).is_empty());
    assert_eq!(app.overlay, Overlay::None);
    // Keys that mean something elsewhere do nothing in the dialog.
    press(&mut app, "A");
    assert!(press(&mut app, "Aas").is_empty());
    assert!(matches!(app.overlay, Overlay::Confirm(_)));
}

#[test]
fn read_only_refuses_apply_with_a_notice() {
    let mut app = app(true);
    press(&mut app, "j");
    assert!(press(&mut app, "a").is_empty());
    assert!(app.notice.as_ref().unwrap().text.contains("read-only"));
    assert!(press(&mut app, "A").is_empty());
    assert_eq!(app.overlay, Overlay::None);
    assert!(app.notice.as_ref().unwrap().text.contains("read-only"));
    // Sync only fetches Git into the local store: it stays available.
    assert_eq!(press(&mut app, "s"), send(Command::Sync));
}

#[test]
fn read_only_sends_nothing_from_a_confirm_dialog_even_if_one_is_open() {
    // The dialog cannot open in read-only mode; should one be open anyway (the mode switched
    // under it), `y` and `F` still send nothing: the check sits where the write is made.
    let mut app = app(false);
    press(&mut app, "A");
    assert!(matches!(app.overlay, Overlay::Confirm(_)));
    app.read_only = true;
    assert!(press(&mut app, "y").is_empty());
    assert!(app.notice.as_ref().unwrap().text.contains("read-only"));
    assert!(press(&mut app, "F").is_empty());
}

#[test]
fn other_keys_map_to_their_commands() {
    let mut app = app(false);
    assert_eq!(press(&mut app, "s"), send(Command::Sync));
    assert_eq!(press(&mut app, "r"), send(Command::Refresh));
    assert_eq!(press(&mut app, "c"), send(Command::TestConnection));
    // The watch is Active, so w turns it off.
    assert_eq!(press(&mut app, "w"), send(Command::SetWatch(false)));
    assert_eq!(press(&mut app, "q"), vec![Effect::Quit]);
}

#[test]
fn commands_go_to_the_selected_fabric() {
    let mut app = app(false);
    press(&mut app, "2");
    assert_eq!(
        press(&mut app, "s"),
        vec![Effect::Send {
            fabric: "lab".into(),
            command: Command::Sync
        }]
    );
    // The lab watch is Starting: w stops it.
    assert_eq!(
        press(&mut app, "w"),
        vec![Effect::Send {
            fabric: "lab".into(),
            command: Command::SetWatch(false)
        }]
    );
}

#[test]
fn filter_narrows_as_typed_and_esc_restores() {
    let mut app = app(false);
    press(&mut app, "/DEMO-vpc-");
    assert_eq!(
        visible(&mut app),
        ["demo-vpc-1", "demo-vpc-2", "demo-vpc-3"]
    );
    press(&mut app, "1");
    assert_eq!(visible(&mut app), ["demo-vpc-1"]);
    special(&mut app, KeyCode::Enter);
    assert_eq!(app.filter, "DEMO-vpc-1");
    // Columns are searched too: the orphan's subnet.
    press(&mut app, "/");
    for _ in 0.."DEMO-vpc-1".len() {
        special(&mut app, KeyCode::Backspace);
    }
    press(&mut app, "10.99.");
    assert_eq!(visible(&mut app), ["legacy-vpc"]);
    special(&mut app, KeyCode::Esc);
    assert_eq!(app.filter, "DEMO-vpc-1", "esc drops what was typed");
    special(&mut app, KeyCode::Esc);
    assert_eq!(app.filter, "", "esc in the table clears the filter");
    assert_eq!(visible(&mut app).len(), 5);
}

#[test]
fn drift_only_and_the_drift_view_hide_in_sync_rows() {
    let mut app = app(false);
    press(&mut app, "d");
    assert_eq!(
        visible(&mut app),
        ["demo-vpc-2", "demo-vpc-3", "legacy-vpc"]
    );
    press(&mut app, "d");
    assert_eq!(visible(&mut app).len(), 5);
    app.set_view(View::Drift);
    // Severity first: Missing, Drifted, Orphan.
    assert_eq!(
        visible(&mut app),
        ["demo-vpc-3", "demo-vpc-2", "legacy-vpc"]
    );
}

#[test]
fn sort_cycles_columns_and_reverses() {
    let mut app = app(false);
    press(&mut app, "o");
    assert_eq!(app.sort.column, 1, "DRIFT");
    assert_eq!(
        visible(&mut app),
        [
            "demo-vpc-3",
            "demo-vpc-2",
            "legacy-vpc",
            "demo-vpc-1",
            "vpc-test"
        ]
    );
    press(&mut app, "O");
    assert_eq!(
        visible(&mut app),
        [
            "vpc-test",
            "demo-vpc-1",
            "legacy-vpc",
            "demo-vpc-2",
            "demo-vpc-3"
        ]
    );
}

#[test]
fn jump_takes_kind_plural_and_short_names() {
    let mut app = app(false);
    press(&mut app, ":vpcattach");
    special(&mut app, KeyCode::Enter);
    assert_eq!(app.view.title(), "VPCAttachment");
    assert_eq!(visible(&mut app).len(), 3);
    press(&mut app, ":drift");
    special(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Drift);
    press(&mut app, ":gw");
    special(&mut app, KeyCode::Enter);
    assert_eq!(app.view.title(), "Gateway");
    press(&mut app, ":gatewaypeerings");
    special(&mut app, KeyCode::Enter);
    assert_eq!(app.view.title(), "GatewayPeering");
    press(&mut app, ":drift");
    special(&mut app, KeyCode::Enter);
    press(&mut app, ":nosuchkind");
    special(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Drift);
    assert!(app.notice.as_ref().unwrap().text.contains("no kind named"));
}

#[test]
fn selection_follows_its_row_when_others_arrive() {
    let mut app = app(false);
    press(&mut app, "jj");
    assert_eq!(app.selected_key(), Some(key("VPC", "demo-vpc-3")));
    let objects = sample_objects();
    let template = objects.iter().find(|o| o.key.kind == "VPC").unwrap();
    let mut early = template.clone();
    early.key = key("VPC", "aaa-first");
    let mut renamed = early.object.value();
    renamed["metadata"]["name"] = "aaa-first".into();
    early.object = renamed.into();
    app.fold(EngineEvent::Rows {
        fabric: "prod-east".into(),
        upserts: vec![row(Some(&early), None)],
        removed: vec![key("VPC", "demo-vpc-1")],
    });
    app.prepare();
    assert_eq!(app.selected_key(), Some(key("VPC", "demo-vpc-3")));
}

#[test]
fn a_burst_of_a_thousand_row_events_is_folded_then_drawn_once() {
    let mut app = app(false);
    render(&mut app, 120, 40);
    assert!(app.take_dirty());
    assert!(!app.take_dirty());
    let template = sample_objects()
        .into_iter()
        .find(|o| o.key.kind == "VPC")
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(2000);
    for i in 0..1000 {
        let mut object = template.clone();
        let name = format!("burst-{i:04}");
        object.key = key("VPC", &name);
        let mut renamed = object.object.value();
        renamed["metadata"]["name"] = name.clone().into();
        object.object = renamed.into();
        let live = served(&object.object.value(), i);
        tx.try_send(EngineEvent::Rows {
            fabric: "prod-east".into(),
            upserts: vec![row(Some(&object), Some(live))],
            removed: vec![],
        })
        .unwrap();
    }
    assert_eq!(ui::drain(&mut app, &mut rx), 1000);
    // One change flag for the whole burst: the loop draws one frame.
    assert!(app.take_dirty());
    assert!(!app.take_dirty());
    let screen = render(&mut app, 120, 40);
    assert!(screen.contains("1005 rows"), "{screen}");
    assert_eq!(ui::drain(&mut app, &mut rx), 0);
}

#[test]
fn tab_moves_focus_and_j_then_moves_the_fabric() {
    let mut app = app(false);
    special(&mut app, KeyCode::BackTab);
    assert_eq!(app.focus, ui::Focus::Fabrics);
    press(&mut app, "j");
    assert_eq!(app.selected, 1);
    special(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, ui::Focus::Table);
}

#[test]
fn ctrl_c_quits_even_while_typing() {
    let mut app = app(false);
    press(&mut app, "/abc");
    let ctrl_c = Key {
        ctrl: true,
        ..Key::char('c')
    };
    assert_eq!(app.on_key(ctrl_c), vec![Effect::Quit]);
}

#[test]
fn copy_gives_the_name_or_the_yaml() {
    let mut app = app(false);
    assert_eq!(
        press(&mut app, "y"),
        vec![Effect::Copy {
            text: "VPC/demo-vpc-1".into()
        }]
    );
    let effects = press(&mut app, "Y");
    let [Effect::Copy { text }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert!(
        text.contains("name: demo-vpc-1") && text.contains("vlan: 1101"),
        "{text}"
    );
}

const FABRIC: &str = r#"
[[fabric]]
name = "prod-east"
[fabric.kubernetes]
server = "https://10.0.0.1:6443"
token_env = "PROD_TOKEN"
insecure_skip_tls_verify = true
[fabric.git]
url = "https://git.example.com/fabrics.git"
branch = "main"
"#;

#[test]
fn the_ui_table_is_optional_and_remaps_keys() {
    let config = Config::parse(FABRIC, Path::new("/tmp/hhdash.toml")).unwrap();
    assert!(!config.ui.read_only);
    assert_eq!(config.ui.event_pane_lines, 5);

    let text = format!(
        "{FABRIC}\n[ui]\nread_only = true\nevent_pane_lines = 8\n[ui.keys]\nsync = \"S\"\ndown = [\"j\", \"ctrl-n\"]\n"
    );
    let config = Config::parse(&text, Path::new("/tmp/hhdash.toml")).unwrap();
    let options = ui::Options::from_config(&config.ui, false);
    assert!(options.read_only);
    let mut app = App::new(["prod-east".to_string()], options, NOW);
    assert_eq!(
        app.on_key(Key::char('S')),
        vec![Effect::Send {
            fabric: "prod-east".into(),
            command: Command::Sync
        }]
    );
    assert!(app.on_key(Key::char('s')).is_empty());
}

#[test]
fn bad_ui_keys_are_config_problems() {
    let text = format!(
        "{FABRIC}\n[ui]\nevent_pane_lines = 0\n[ui.keys]\nsink = \"s\"\napply = \"ctrl-a\"\nrefresh = \"s\"\n"
    );
    let error = Config::parse(&text, Path::new("/tmp/hhdash.toml"))
        .unwrap_err()
        .to_string();
    for expected in [
        "ui.event_pane_lines: 0 is out of range",
        "ui.keys.sink: unknown action",
        "ui.keys.apply: ctrl-a is a control chord",
        "ui.keys.refresh: key s is also bound to sync",
    ] {
        assert!(
            error.contains(expected),
            "missing {expected:?} in:\n{error}"
        );
    }
}

#[test]
fn tiny_and_odd_terminal_sizes_never_panic() {
    for (width, height) in [(1, 1), (10, 3), (30, 8), (69, 12), (80, 24), (250, 70)] {
        let mut app = app(false);
        render(&mut app, width, height);
        press(&mut app, "?");
        render(&mut app, width, height);
        special(&mut app, KeyCode::Esc);
        press(&mut app, "A");
        render(&mut app, width, height);
        press(&mut app, "n");
        special(&mut app, KeyCode::Enter);
        render(&mut app, width, height);
        special(&mut app, KeyCode::Esc);
        app.set_view(View::Health);
        render(&mut app, width, height);
        press(&mut app, "/zzz");
        render(&mut app, width, height);
    }
}
