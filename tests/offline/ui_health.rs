//! The Health view and the switch detail, driven through the public key and event API on the
//! `health_fixture` (six example switches and a gateway, one fault each): what an on-call
//! engineer sees and where each key takes them. Snapshots at 160x40 and 80x24.

use crossterm::event::KeyCode;
use hhdash::health::Level;
use hhdash::ui::{App, View};

use crate::health_fixture::*;
use crate::ui_fixture::*;

/// The names of the Health view's rows, in display order.
fn order(app: &mut App) -> Vec<String> {
    app.prepare();
    let fabric = app.fabric().unwrap();
    app.listing
        .rows
        .iter()
        .map(|&i| fabric.switches[i].name.clone())
        .collect()
}

fn selected_name(app: &mut App) -> String {
    app.prepare();
    let fabric = app.fabric().unwrap();
    let i = app.listing.selected_index().unwrap();
    if app.view == View::Health {
        fabric.switches[i].name.clone()
    } else {
        fabric.entries()[i].row.key.name.clone()
    }
}

/// Moves the cursor of an entries view onto the row named `name`.
fn select_row(app: &mut App, name: &str) {
    press(app, "g");
    for _ in 0..50 {
        if selected_name(app) == name {
            return;
        }
        press(app, "j");
    }
    panic!("no row {name} in {:?}", app.view);
}

#[test]
fn health_view_sorts_worst_first_and_d_keeps_the_unhealthy() {
    let mut app = health_app();
    assert_eq!(
        order(&mut app),
        [
            "leaf-1",
            "leaf-3",
            "leaf-4",
            "spine-1",
            "leaf-2",
            "gateway-1",
            "spine-2"
        ]
    );
    let screen = render(&mut app, 160, 40);
    assert!(screen.contains("[Health 2/7]"), "{screen}");
    press(&mut app, "d");
    assert_eq!(
        order(&mut app),
        ["leaf-1", "leaf-3", "leaf-4", "spine-1", "leaf-2"]
    );
    // Column sorting still works: the next column is HEARTBEAT, the oldest first.
    press(&mut app, "do");
    assert_eq!(order(&mut app)[0], "leaf-4");
    press(&mut app, "O");
    assert_eq!(order(&mut app).last().unwrap(), "leaf-4");
}

#[test]
fn the_filter_reads_reasons() {
    let mut app = health_app();
    press(&mut app, "/psu");
    special(&mut app, KeyCode::Enter);
    assert_eq!(order(&mut app), ["leaf-3"]);
}

#[test]
fn enter_opens_the_switch_detail_and_esc_returns_to_the_same_row() {
    let mut app = health_app();
    press(&mut app, "jjj");
    assert_eq!(selected_name(&mut app), "spine-1");
    special(&mut app, KeyCode::Enter);
    let page = app
        .switch_page
        .as_ref()
        .expect("enter opens the switch detail");
    assert_eq!(page.name, "spine-1");
    let screen = render(&mut app, 160, 40);
    assert!(screen.contains("Hold Timer Expired"), "{screen}");
    // j scrolls the detail, not the list below it.
    press(&mut app, "jjjjj");
    assert_eq!(app.switch_page.as_ref().unwrap().scroll, 5);
    special(&mut app, KeyCode::Esc);
    assert!(app.switch_page.is_none());
    assert_eq!(app.view, View::Health);
    assert_eq!(selected_name(&mut app), "spine-1");
}

#[test]
fn health_and_agents_both_jump_to_the_health_view() {
    assert_eq!(View::parse("health"), Some(View::Health));
    assert_eq!(View::parse("Agents"), Some(View::Health));
    let mut app = health_app();
    app.set_view(View::Drift);
    press(&mut app, ":health");
    special(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Health);
    app.set_view(View::Drift);
    press(&mut app, ":agents");
    special(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Health);
}

#[test]
fn p_on_a_connection_lands_on_its_switch_ports_then_the_other_switch_and_esc_goes_back() {
    let mut app = health_app();
    app.set_view(View::parse("conn").unwrap());
    select_row(&mut app, "spine-1--fabric--leaf-1");
    // The footer offers the key on a Connection row.
    let footer = render(&mut app, 160, 40)
        .lines()
        .last()
        .unwrap()
        .to_string();
    assert!(footer.contains("p ports"), "{footer}");
    press(&mut app, "p");
    let page = app.switch_page.clone().expect("p opens the switch detail");
    let footer = render(&mut app, 160, 40)
        .lines()
        .last()
        .unwrap()
        .to_string();
    assert!(footer.contains("p other switch"), "{footer}");
    let jump = page.jump.clone().unwrap();
    let ends: Vec<(&str, Vec<&str>)> = jump
        .ends
        .iter()
        .map(|(s, p)| (s.as_str(), p.iter().map(String::as_str).collect()))
        .collect();
    // Both ends are known switches; the page opens on the first, at its port.
    assert_eq!(ends.len(), 2, "{ends:?}");
    assert!(ends.contains(&("leaf-1", vec!["E1/9"])), "{ends:?}");
    assert!(ends.contains(&("spine-1", vec!["E1/1"])), "{ends:?}");
    assert_eq!(page.name, ends[0].0);
    assert_eq!(page.focus_ports, ends[0].1);
    let screen = render(&mut app, 160, 40);
    let marked: Vec<&str> = screen.lines().filter(|l| l.contains("▸ E1/")).collect();
    assert_eq!(marked.len(), 1, "{screen}");
    assert!(
        marked[0].contains(&format!("▸ {}", ends[0].1[0])),
        "{screen}"
    );
    // `p` again: the Connection's other switch, at its port.
    press(&mut app, "p");
    let other = app.switch_page.clone().unwrap();
    assert_eq!(other.name, ends[1].0);
    assert_eq!(other.focus_ports, ends[1].1);
    let screen = render(&mut app, 160, 40);
    assert!(screen.contains(&format!("▸ {}", ends[1].1[0])), "{screen}");
    special(&mut app, KeyCode::Esc);
    assert!(app.switch_page.is_none());
    assert_eq!(app.view, View::parse("conn").unwrap());
    assert_eq!(selected_name(&mut app), "spine-1--fabric--leaf-1");
}

#[test]
fn p_from_the_drift_view_on_a_missing_connection_shows_the_miswired_leaf() {
    let mut app = health_app();
    app.set_view(View::Drift);
    select_row(&mut app, "spine-1--fabric--leaf-1");
    press(&mut app, "p");
    app.switch_page.as_mut().unwrap().jump.as_mut().unwrap();
    // Go to leaf-1 whichever end came first.
    if app.switch_page.as_ref().unwrap().name != "leaf-1" {
        press(&mut app, "p");
    }
    let screen = render(&mut app, 160, 40);
    let line = screen.lines().find(|l| l.contains("▸ E1/9")).unwrap();
    assert!(
        line.contains("spine-1/E1/1") && line.contains("≠ spine-2/E1/1"),
        "{line}"
    );
    special(&mut app, KeyCode::Esc);
    assert_eq!(app.view, View::Drift);
    assert_eq!(selected_name(&mut app), "spine-1--fabric--leaf-1");
}

#[test]
fn p_elsewhere_says_what_it_is_for() {
    let mut app = health_app();
    press(&mut app, "p");
    assert!(app.switch_page.is_none());
    let notice = app.notice.as_ref().unwrap().text.clone();
    assert!(notice.contains("Connection"), "{notice}");
}

#[test]
fn the_fabric_card_rolls_health_up_next_to_drift() {
    let mut app = health_app();
    let screen = render(&mut app, 160, 40);
    assert!(screen.contains("✗ Health 2/7 (4✗ 1!)"), "{screen}");
    assert_eq!(app.fabric().unwrap().health().level(), Level::Unhealthy);
}

#[test]
fn at_80_columns_name_verdict_and_reason_stay() {
    let mut app = health_app();
    let screen = render(&mut app, 80, 24);
    let header = screen.lines().find(|l| l.contains("NAME")).unwrap();
    for column in ["NAME", "VERDICT", "REASON"] {
        assert!(header.contains(column), "{header}");
    }
    assert!(screen.contains("PSU 2 failed"), "{screen}");
}

#[test]
fn health_view_160x40() {
    let mut app = health_app();
    insta::assert_snapshot!(render(&mut app, 160, 40));
}

#[test]
fn health_view_80x24() {
    let mut app = health_app();
    insta::assert_snapshot!(render(&mut app, 80, 24));
}

#[test]
fn switch_detail_160x40() {
    let mut app = health_app();
    press(&mut app, "jjj");
    special(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(render(&mut app, 160, 40));
}

#[test]
fn switch_detail_80x24() {
    let mut app = health_app();
    special(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(render(&mut app, 80, 24));
}

#[test]
fn switch_detail_of_a_warning_switch_160x40() {
    let mut app = health_app();
    press(&mut app, "jjjj");
    special(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(render(&mut app, 160, 40));
}

#[test]
fn a_server_connection_jumps_to_its_one_switch_and_p_again_says_so() {
    let mut app = health_app();
    app.set_view(View::parse("conn").unwrap());
    select_row(&mut app, "server-3--unbundled--leaf-1");
    press(&mut app, "p");
    let page = app.switch_page.clone().expect("p opens the switch detail");
    // server-3 has no agent: only the switch end is a place to go.
    assert_eq!(page.jump.unwrap().ends.len(), 1);
    assert_eq!(
        (page.name.as_str(), page.focus_ports),
        ("leaf-1", vec!["E1/7".to_string()])
    );
    press(&mut app, "p");
    assert_eq!(app.switch_page.as_ref().unwrap().name, "leaf-1");
    let notice = app.notice.as_ref().unwrap().text.clone();
    assert!(notice.contains("links only leaf-1"), "{notice}");
}
