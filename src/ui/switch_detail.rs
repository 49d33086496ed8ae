//! ui::switch_detail: one switch or gateway opened with `enter` on the Health view, or with `p`
//! from a Connection row — why it is (not) healthy and everything behind the verdict: ports
//! with Git's expected neighbor beside what LLDP sees, BGP sessions, BFD, transceivers,
//! platform and resources. A fixed header (verdict, heartbeat, config, version, reboot) above
//! a scrolled body; `esc` closes it and the list below still has its cursor where it was.
//!
//! The body is laid out from the `SwitchHealth` the engine last sent, every frame: no state
//! to go stale, and a 64-port switch is about a hundred lines (see `benches/health_view.rs`).
//! Each section is a small table whose columns are dropped by `keep` when the terminal is
//! narrow; a row never wraps, so the line of a port does not depend on the width and the
//! Connection jump can scroll to it before the first frame.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use serde_json::Value;

use crate::health::{Level, SwitchHealth};
use crate::status::Timestamp;

use super::health_view;
use super::model::FabricModel;
use super::theme::{self, Theme, Tone};

/// The switch detail as opened: which node, how far scrolled, and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct SwitchPage {
    pub fabric: usize,
    pub name: String,
    /// First body line shown.
    pub scroll: u16,
    /// Ports marked `▸` (the Connection's ports when opened with `p`).
    pub focus_ports: Vec<String>,
    /// Opened from a Connection: its switches, so `p` goes to the other end.
    pub jump: Option<Jump>,
}

/// A Connection's switch ends, in spec order, and the one shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Jump {
    pub connection: String,
    /// (switch, its ports in this Connection).
    pub ends: Vec<(String, Vec<String>)>,
    pub at: usize,
}

impl SwitchPage {
    pub fn new(fabric: usize, name: String) -> SwitchPage {
        SwitchPage {
            fabric,
            name,
            scroll: 0,
            focus_ports: Vec::new(),
            jump: None,
        }
    }

    /// The page of a Connection's `at`-th switch end, scrolled to its first port.
    pub fn for_connection(fabric: usize, model: &FabricModel, jump: Jump) -> SwitchPage {
        let (name, ports) = jump.ends[jump.at].clone();
        let mut page = SwitchPage {
            focus_ports: ports,
            jump: Some(jump),
            ..SwitchPage::new(fabric, name)
        };
        if let Some(switch) = model.switches.iter().find(|s| s.name == page.name) {
            let built = body(switch, &page.focus_ports, 0, u16::MAX, &Theme::plain());
            page.scroll = built.focus_scroll() as u16;
        }
        page
    }
}

/// The `device/port` ends a Connection's spec names (`kinds::connection_ports`), grouped by device in spec order, keeping only devices that
/// are known switches or gateways of the fabric (servers and externals have no detail).
pub fn connection_ends(object: &Value, known: &[&str]) -> Vec<(String, Vec<String>)> {
    let ports = crate::kinds::connection_ports(object);
    let mut ends: Vec<(String, Vec<String>)> = Vec::new();
    for end in ports {
        let Some((device, port)) = end.split_once('/') else {
            continue;
        };
        if !known.contains(&device) {
            continue;
        }
        match ends.iter_mut().find(|(d, _)| d == device) {
            Some((_, ports)) => {
                if !ports.iter().any(|p| p == port) {
                    ports.push(port.to_string());
                }
            }
            None => ends.push((device.to_string(), vec![port.to_string()])),
        }
    }
    ends
}

/// One section's table: headers with their `keep` rank, rows of toned cells, marked rows.
struct Section {
    title: &'static str,
    headers: &'static [(&'static str, u8)],
    rows: Vec<(Vec<(String, Tone)>, bool)>,
    empty: &'static str,
}

/// The widest any one cell may make its column.
const CELL_MAX: usize = 48;

impl Section {
    fn lines(&self, width: u16, theme: &Theme, out: &mut Vec<Line<'static>>) {
        out.push(Line::raw(""));
        out.push(Line::styled(
            format!("{} ({})", self.title, self.rows.len()),
            theme.header(),
        ));
        if self.rows.is_empty() {
            out.push(Line::styled(
                format!("  {}", self.empty),
                theme.tone(Tone::Dim),
            ));
            return;
        }
        let chars = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = self.headers.iter().map(|(h, _)| chars(h)).collect();
        for (cells, _) in &self.rows {
            for (w, (text, _)) in widths.iter_mut().zip(cells) {
                *w = (*w).max(chars(text).min(CELL_MAX));
            }
        }
        // Drop the lowest-ranked columns (rightmost first among equals) until the row fits.
        let mut shown: Vec<usize> = (0..self.headers.len()).collect();
        let total = |shown: &[usize]| 2 + shown.iter().map(|&i| widths[i] + 1).sum::<usize>();
        while shown.len() > 1 && total(&shown) > width as usize {
            let lowest = shown.iter().map(|&i| self.headers[i].1).min().unwrap_or(0);
            if let Some(n) = shown.iter().rposition(|&i| self.headers[i].1 == lowest) {
                shown.remove(n);
            }
        }
        let pad = |text: &str, width: usize| {
            let cut: String = text.chars().take(width).collect();
            format!("{cut:<width$} ")
        };
        let mut header = vec![Span::raw("  ")];
        header.extend(
            shown
                .iter()
                .map(|&i| Span::styled(pad(self.headers[i].0, widths[i]), theme.header())),
        );
        out.push(Line::from(header));
        for (cells, marked) in &self.rows {
            let mut spans = vec![Span::raw(if *marked { "▸ " } else { "  " })];
            spans.extend(shown.iter().map(|&i| {
                let (text, tone) = &cells[i];
                Span::styled(pad(text, widths[i]), theme.tone(*tone))
            }));
            let line = Line::from(spans);
            out.push(if *marked {
                line.patch_style(theme.selected())
            } else {
                line
            });
        }
    }
}

/// The laid-out body and where its Ports section and first marked port are.
pub struct Body {
    pub lines: Vec<Line<'static>>,
    pub ports_line: usize,
    pub focus_line: Option<usize>,
}

impl Body {
    /// Where to scroll so a marked port is in sight: the Ports title when the port is near it,
    /// else a couple of lines above the port.
    fn focus_scroll(&self) -> usize {
        match self.focus_line {
            Some(line) if line < self.ports_line + 12 => self.ports_line,
            Some(line) => line.saturating_sub(2),
            None => 0,
        }
    }
}

fn tone_of(level: Level) -> Tone {
    match level {
        Level::Healthy => Tone::Plain,
        level => theme::level_tone(level),
    }
}

fn ago(at: Option<i64>, now: Timestamp) -> String {
    at.map(|t| crate::time::format_age(t, now))
        .unwrap_or_else(|| "-".into())
}

fn ports(switch: &SwitchHealth, focus: &[String]) -> Section {
    let rows = switch
        .detail
        .ports
        .iter()
        .map(|p| {
            let expected = p
                .expected
                .as_ref()
                .map(|n| format!("{}/{}", n.device, n.port));
            let actual: Vec<String> = p
                .actual
                .iter()
                .map(|n| format!("{}/{}", n.device, n.port))
                .collect();
            // A miswire or a missing neighbor: `≠` says it without colour.
            let differs = match &p.expected {
                Some(want) => !p.actual.contains(want),
                None => false,
            };
            let lldp = match (actual.is_empty(), differs) {
                (true, true) => ("≠ none".to_string(), Tone::Bad),
                (true, false) => ("-".to_string(), Tone::Plain),
                (false, true) => (format!("≠ {}", actual.join(", ")), Tone::Bad),
                (false, false) => (actual.join(", "), Tone::Plain),
            };
            let wanted = p.connection.is_some() || p.expected.is_some();
            let oper = if p.err_disabled {
                (format!("{} errDisabled", p.oper), Tone::Bad)
            } else if wanted && p.oper != "up" {
                (p.oper.clone(), Tone::Bad)
            } else {
                (p.oper.clone(), Tone::Plain)
            };
            let connection = match (&p.connection, &p.connection_type) {
                (Some(name), Some(kind)) => format!("{name} ({kind})"),
                (Some(name), None) => name.clone(),
                _ => "-".into(),
            };
            let cells = vec![
                (p.port.clone(), tone_of(p.level)),
                (p.nos_name.clone().unwrap_or_else(|| "-".into()), Tone::Dim),
                (connection, Tone::Plain),
                (expected.unwrap_or_else(|| "-".into()), Tone::Plain),
                lldp,
                oper,
                (p.speed.clone(), Tone::Plain),
                (
                    p.flaps.to_string(),
                    if p.flaps > 0 { Tone::Warn } else { Tone::Plain },
                ),
                (p.errors.to_string(), Tone::Plain),
            ];
            (cells, focus.contains(&p.port))
        })
        .collect();
    Section {
        title: "Ports",
        headers: &[
            ("PORT", 9),
            ("NOS", 2),
            ("CONNECTION", 3),
            ("EXPECTED (Git)", 8),
            ("LLDP (actual)", 8),
            ("OPER", 7),
            ("SPEED", 4),
            ("FLAPS", 5),
            ("ERRORS", 4),
        ],
        rows,
        empty: "no port expected by Git or reported by the agent",
    }
}

fn bgp(switch: &SwitchHealth, now: Timestamp) -> Section {
    let rows = switch
        .detail
        .bgp
        .iter()
        .map(|b| {
            let state = if b.state.is_empty() {
                "absent"
            } else {
                &b.state
            };
            let asn = match (b.peer_as, b.expected_as) {
                (Some(seen), Some(want)) if seen != want => {
                    (format!("≠ {seen} (Git {want})"), Tone::Bad)
                }
                (Some(seen), _) => (seen.to_string(), Tone::Plain),
                (None, Some(want)) => (format!("- (Git {want})"), Tone::Plain),
                (None, None) => ("-".into(), Tone::Plain),
            };
            let reset = match (&b.last_reset_reason, b.last_reset_at) {
                (Some(reason), at) => format!("{}: {reason}", ago(at, now)),
                (None, Some(at)) => crate::time::format_age(at, now),
                (None, None) => "-".into(),
            };
            let cells = vec![
                (b.vrf.clone(), Tone::Plain),
                (b.peer.clone(), tone_of(b.level)),
                (b.remote.clone().unwrap_or_else(|| "-".into()), Tone::Plain),
                (
                    if b.expected { "yes" } else { "no (not in Git)" }.to_string(),
                    if b.expected { Tone::Plain } else { Tone::Warn },
                ),
                (state.to_string(), tone_of(b.level)),
                asn,
                (ago(b.established_at, now), Tone::Plain),
                (
                    reset,
                    if b.level > Level::Healthy {
                        tone_of(b.level)
                    } else {
                        Tone::Plain
                    },
                ),
            ];
            (cells, false)
        })
        .collect();
    Section {
        title: "BGP",
        headers: &[
            ("VRF", 3),
            ("PEER", 9),
            ("REMOTE", 6),
            ("EXPECTED", 5),
            ("STATE", 8),
            ("AS", 4),
            ("UP SINCE", 5),
            ("LAST RESET", 7),
        ],
        rows,
        empty: "no session expected by Git or reported by the agent",
    }
}

fn bfd(switch: &SwitchHealth) -> Section {
    let rows = switch
        .detail
        .bfd
        .iter()
        .map(|b| {
            let cells = vec![
                (b.vrf.clone(), Tone::Plain),
                (b.peer.clone(), tone_of(b.level)),
                (
                    if b.expected { "yes" } else { "no" }.to_string(),
                    Tone::Plain,
                ),
                (b.state.clone(), tone_of(b.level)),
            ];
            (cells, false)
        })
        .collect();
    Section {
        title: "BFD",
        headers: &[("VRF", 3), ("PEER", 9), ("EXPECTED", 5), ("STATE", 8)],
        rows,
        empty: "no BFD peer",
    }
}

fn optics(switch: &SwitchHealth, focus: &[String]) -> Section {
    let number = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into());
    let rows = switch
        .detail
        .optics
        .iter()
        .map(|o| {
            let tone = tone_of(o.level);
            let cells = vec![
                (o.port.clone(), tone),
                (o.description.clone(), Tone::Plain),
                (o.oper.clone(), Tone::Plain),
                (number(o.rx_dbm), tone),
                (number(o.tx_dbm), tone),
                (number(o.temperature), tone),
            ];
            (cells, focus.contains(&o.port))
        })
        .collect();
    Section {
        title: "Transceivers",
        headers: &[
            ("PORT", 9),
            ("DESCRIPTION", 2),
            ("OPER", 5),
            ("RX dBm", 8),
            ("TX dBm", 7),
            ("TEMP °C", 6),
        ],
        rows,
        empty: "no transceiver reported",
    }
}

fn platform(switch: &SwitchHealth) -> Section {
    let rows = switch
        .detail
        .platform
        .iter()
        .map(|p| {
            let cells = vec![
                (p.component.clone(), Tone::Plain),
                (p.name.clone(), tone_of(p.level)),
                (p.state.clone(), tone_of(p.level)),
            ];
            (cells, false)
        })
        .collect();
    Section {
        title: "Platform",
        headers: &[("COMPONENT", 5), ("NAME", 9), ("STATE", 8)],
        rows,
        empty: "no PSU, fan or sensor reported",
    }
}

fn resources(switch: &SwitchHealth) -> Section {
    let rows = switch
        .detail
        .resources
        .iter()
        .map(|r| {
            let cells = vec![
                (r.resource.clone(), tone_of(r.level)),
                (r.used.to_string(), Tone::Plain),
                (r.available.to_string(), Tone::Plain),
                (format!("{}%", r.percent), tone_of(r.level)),
            ];
            (cells, false)
        })
        .collect();
    Section {
        title: "Resources",
        headers: &[("RESOURCE", 9), ("USED", 5), ("AVAILABLE", 4), ("%", 8)],
        rows,
        empty: "no critical resource reported",
    }
}

/// The fixed header: verdict, kind, heartbeat, config, version, reboot.
pub fn header(switch: &SwitchHealth, theme: &Theme) -> Line<'static> {
    let verdict = theme::level(switch.level);
    let config = theme::switch(switch.state);
    let sep = || Span::styled(" · ", theme.tone(Tone::Dim));
    Line::from(vec![
        Span::styled(verdict.text(), theme.tone(verdict.tone)),
        sep(),
        Span::raw(health_view::kind(switch.kind)),
        sep(),
        Span::raw(format!(
            "heartbeat {}",
            health_view::age(switch.heartbeat_age)
        )),
        sep(),
        Span::styled(health_view::config(switch), theme.tone(config.tone)),
        sep(),
        Span::raw(switch.version.clone().unwrap_or_else(|| "version -".into())),
        sep(),
        if switch.reboot_required {
            Span::styled("reboot required", theme.tone(Tone::Warn))
        } else {
            Span::raw("no reboot")
        },
    ])
}

/// The scrolled body: reasons, then one section per signal group.
pub fn body(
    switch: &SwitchHealth,
    focus: &[String],
    now: Timestamp,
    width: u16,
    theme: &Theme,
) -> Body {
    let mut lines = vec![Line::styled(
        format!("Reasons ({})", switch.reasons.len()),
        theme.header(),
    )];
    if switch.reasons.is_empty() {
        lines.push(Line::styled(
            "  ✓ nothing wrong: every signal is healthy",
            theme.tone(Tone::Good),
        ));
    }
    for reason in &switch.reasons {
        let badge = theme::level(reason.level);
        lines.push(Line::styled(
            format!("  {} {}", badge.symbol, reason.message),
            theme.tone(badge.tone),
        ));
    }
    let ports_line = lines.len() + 1;
    ports(switch, focus).lines(width, theme, &mut lines);
    let focus_line = (!focus.is_empty())
        .then(|| {
            // Title, column header, then one line per port in order.
            let first = switch
                .detail
                .ports
                .iter()
                .position(|p| focus.contains(&p.port))?;
            Some(ports_line + 2 + first)
        })
        .flatten();
    for section in [
        bgp(switch, now),
        bfd(switch),
        optics(switch, focus),
        platform(switch),
        resources(switch),
    ] {
        section.lines(width, theme, &mut lines);
    }
    Body {
        lines,
        ports_line,
        focus_line,
    }
}

/// Draws the open page; clamps its scroll to the body so `k` after `G` moves at once.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    page: &mut SwitchPage,
    model: &FabricModel,
    now: Timestamp,
    theme: &Theme,
) {
    let mut title = vec![
        Span::styled(format!(" {} ", page.name), theme.header()),
        Span::raw("· esc back · j/k scroll "),
    ];
    if let Some(jump) = &page.jump {
        title.push(Span::raw(format!("· {} ", jump.connection)));
        if jump.ends.len() > 1 {
            title.push(Span::raw(format!(
                "· p other switch ({}/{}) ",
                jump.at + 1,
                jump.ends.len()
            )));
        }
    }
    let block = Block::bordered()
        .title(Line::from(title))
        .border_style(theme.focused_border());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(switch) = model.switches.iter().find(|s| s.name == page.name) else {
        let text = format!(
            "{} has no health report (yet): no Agent or GatewayAgent of that name has been seen.",
            page.name
        );
        frame.render_widget(
            Paragraph::new(Line::styled(text, theme.tone(Tone::Warn))),
            inner,
        );
        return;
    };
    let [header_area, body_area] =
        Layout::vertical([Constraint::Length(2), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(Paragraph::new(header(switch, theme)), header_area);
    let built = body(switch, &page.focus_ports, now, body_area.width, theme);
    let max_scroll = built.lines.len().saturating_sub(body_area.height as usize);
    page.scroll = page.scroll.min(max_scroll.min(u16::MAX as usize) as u16);
    frame.render_widget(
        Paragraph::new(built.lines).scroll((page.scroll, 0)),
        body_area,
    );
}
