//! ui::draw: lays the screen out — fabrics left, the view (or an opened resource) in the
//! centre, events below, the status line and footer at the bottom, overlays on top — and
//! hands each area to its component. Works down to 80x24.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};

use super::app::{App, Overlay};
use super::view::View;
use super::{
    confirm, detail, events, fabrics, help, history_view, status_line, switch_detail, table,
};

/// Below this width the fabric list gives its room to the table (the status line still names
/// the fabric; `1`-`9` still switch).
const FABRIC_LIST_MIN_WIDTH: u16 = 70;
/// Below this width the switch detail covers the fabric list too: its port table (Git's
/// neighbor beside LLDP's) needs the columns more than the cards do.
const SWITCH_DETAIL_BESIDE_FABRICS_MIN_WIDTH: u16 = 140;

pub fn draw(frame: &mut Frame, app: &mut App) {
    app.prepare();
    let area = frame.area();
    // The table keeps at least 8 lines; the event pane gives way first.
    let events_height = (app.event_pane_lines + 1).min(area.height.saturating_sub(10));
    let [main, events_area, status_area, footer] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(events_height),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let left_width = match area.width {
        w if w < FABRIC_LIST_MIN_WIDTH => 0,
        w if w < 100 => 24,
        w if w < 140 => 28,
        _ => 32,
    };
    let [left, centre] =
        Layout::horizontal([Constraint::Length(left_width), Constraint::Fill(1)]).areas(main);
    let page_area = if area.width >= SWITCH_DETAIL_BESIDE_FABRICS_MIN_WIDTH {
        centre
    } else {
        main
    };
    if left_width > 0 && (app.switch_page.is_none() || page_area == centre) {
        fabrics::draw(frame, left, app);
    }
    if let Some(page) = &mut app.switch_page {
        match app.fabrics.get(page.fabric) {
            Some(model) => {
                switch_detail::draw(frame, page_area, page, model, app.now, &app.theme);
            }
            None => app.switch_page = None,
        }
    } else {
        match &mut app.detail {
            Some(open) => detail::draw(frame, centre, open, &app.theme),
            None if app.view == View::History => history_view::draw(frame, centre, app),
            None => table::draw(frame, centre, app),
        }
    }
    if events_height > 1 {
        events::draw(frame, events_area, app);
    }
    status_line::draw(frame, status_area, app);
    status_line::draw_footer(frame, footer, app);
    match &app.overlay {
        Overlay::Help { scroll } => {
            help::draw(frame, area, &app.keymap, app.read_only, *scroll, &app.theme);
        }
        Overlay::Confirm(dialog) => confirm::draw(frame, area, dialog, &app.theme),
        Overlay::None | Overlay::Prompt(_) => {}
    }
}
