//! ui::theme: how statuses look — a symbol and a word for each, plus a colour that is only ever
//! an extra. `NO_COLOR` (any non-empty value) drops the colours and keeps bold/reverse, so
//! every signal survives a monochrome terminal or a screen reader.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType};

use super::fleet::Severity;
use crate::drift::Drift;
use crate::health::{HealthSummary, Level, SwitchState};
use crate::status::{ConnectionState, DriftState, KubernetesState, SyncState, WatchState};
use crate::store::LogKind;

/// The colour roles the dashboard uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Good,
    Warn,
    Bad,
    Info,
    Dim,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colours unless `NO_COLOR` is set to a non-empty value (https://no-color.org).
    pub fn from_env() -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !no_color }
    }

    pub fn plain() -> Theme {
        Theme { color: false }
    }

    pub fn tone(&self, tone: Tone) -> Style {
        if !self.color {
            return match tone {
                // Without colour, bad news is still made to stand out.
                Tone::Bad => Style::new().add_modifier(Modifier::BOLD),
                _ => Style::new(),
            };
        }
        match tone {
            Tone::Plain => Style::new(),
            Tone::Good => Style::new().fg(Color::Green),
            Tone::Warn => Style::new().fg(Color::Yellow),
            Tone::Bad => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            Tone::Info => Style::new().fg(Color::Cyan),
            Tone::Dim => Style::new().fg(Color::DarkGray),
        }
    }

    pub fn header(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn focused_border(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Cyan)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    /// A bordered pane: thick and highlighted while it has the focus, so the eye finds where
    /// the keys go even without colour.
    pub fn pane<'a>(&self, title: impl Into<Line<'a>>, focused: bool) -> Block<'a> {
        let block = Block::bordered().title(title);
        if focused {
            block
                .border_type(BorderType::Thick)
                .border_style(self.focused_border())
        } else {
            block.border_type(BorderType::Plain)
        }
    }

    pub fn status_line(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
}

/// A status as shown: symbol, word, tone. The word alone must carry the meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    pub symbol: &'static str,
    pub word: String,
    pub tone: Tone,
}

impl Badge {
    fn new(symbol: &'static str, word: impl Into<String>, tone: Tone) -> Badge {
        Badge {
            symbol,
            word: word.into(),
            tone,
        }
    }

    pub fn text(&self) -> String {
        format!("{} {}", self.symbol, self.word)
    }
}

pub fn drift(drift: &Drift) -> Badge {
    match drift {
        Drift::InSync => Badge::new("✓", "InSync", Tone::Good),
        Drift::Drifted(diffs) => Badge::new("≠", format!("Drifted {}", diffs.len()), Tone::Warn),
        Drift::Missing => Badge::new("✗", "Missing", Tone::Bad),
        Drift::Orphan => Badge::new("+", "Orphan", Tone::Info),
        Drift::Unknown => Badge::new("?", "Unknown", Tone::Dim),
    }
}

/// Lower sorts first: what needs action comes to the top.
pub fn drift_severity(drift: &Drift) -> u8 {
    match drift {
        Drift::Missing => 0,
        Drift::Drifted(_) => 1,
        Drift::Orphan => 2,
        Drift::Unknown => 3,
        Drift::InSync => 4,
    }
}

pub fn kubernetes(state: KubernetesState) -> Badge {
    match state {
        KubernetesState::Unknown => Badge::new("?", "Unknown", Tone::Dim),
        KubernetesState::Applied => Badge::new("…", "Applied", Tone::Info),
        KubernetesState::Live => Badge::new("●", "Live", Tone::Good),
        KubernetesState::Error => Badge::new("✗", "Error", Tone::Bad),
    }
}

pub fn connection(state: ConnectionState) -> Badge {
    match state {
        ConnectionState::Unknown => Badge::new("?", "Unknown", Tone::Dim),
        ConnectionState::Connected => Badge::new("✓", "Connected", Tone::Good),
        ConnectionState::Failed => Badge::new("✗", "Failed", Tone::Bad),
        ConnectionState::NoAnswer => Badge::new("✗", "No answer", Tone::Bad),
    }
}

pub fn sync(state: SyncState) -> Badge {
    match state {
        SyncState::NeverSynced => Badge::new("-", "NeverSynced", Tone::Dim),
        SyncState::Synced => Badge::new("✓", "Synced", Tone::Good),
        SyncState::Error => Badge::new("✗", "SyncError", Tone::Bad),
    }
}

pub fn fabric_drift(state: DriftState, count: usize) -> Badge {
    match state {
        DriftState::InSync => Badge::new("✓", "InSync", Tone::Good),
        DriftState::DriftDetected => Badge::new("≠", format!("Drift {count}"), Tone::Warn),
        DriftState::Critical => Badge::new("!", format!("Critical {count}"), Tone::Bad),
    }
}

pub fn watch(state: WatchState) -> Badge {
    match state {
        WatchState::Inactive => Badge::new("○", "Inactive", Tone::Dim),
        WatchState::Starting => Badge::new("◌", "Starting", Tone::Info),
        WatchState::Active => Badge::new("●", "Active", Tone::Good),
        WatchState::Error => Badge::new("✗", "Error", Tone::Bad),
        WatchState::Stopped => Badge::new("■", "Stopped", Tone::Warn),
    }
}

pub fn switch(state: SwitchState) -> Badge {
    match state {
        SwitchState::Ready => Badge::new("✓", "Ready", Tone::Good),
        SwitchState::Pending => Badge::new("…", "Pending", Tone::Info),
        SwitchState::Stuck => Badge::new("!", "Stuck", Tone::Bad),
        SwitchState::Stale => Badge::new("✗", "Stale", Tone::Bad),
    }
}

/// A health verdict: the Health view's VERDICT column and the switch detail's header.
pub fn level(level: Level) -> Badge {
    match level {
        Level::Healthy => Badge::new("✓", "Healthy", Tone::Good),
        Level::Warning => Badge::new("!", "Warning", Tone::Warn),
        Level::Unhealthy => Badge::new("✗", "Unhealthy", Tone::Bad),
    }
}

pub fn level_tone(of: Level) -> Tone {
    level(of).tone
}

/// The fabric card's health roll-up: `✓ Healthy 7/7`, or `✗ Health 4/7 (2✗ 1!)` — healthy of
/// all nodes, then how many are unhealthy (✗) and warning (!).
pub fn fabric_health(summary: &HealthSummary) -> Badge {
    if summary.total == 0 {
        return Badge::new("-", "Health -", Tone::Dim);
    }
    let level = summary.level();
    if level == Level::Healthy {
        return Badge::new(
            "✓",
            format!("Healthy {}/{}", summary.healthy, summary.total),
            Tone::Good,
        );
    }
    let mut others = Vec::new();
    if summary.unhealthy > 0 {
        others.push(format!("{}✗", summary.unhealthy));
    }
    if summary.warning > 0 {
        others.push(format!("{}!", summary.warning));
    }
    let badge = self::level(level);
    Badge::new(
        badge.symbol,
        format!(
            "Health {}/{} ({})",
            summary.healthy,
            summary.total,
            others.join(" ")
        ),
        badge.tone,
    )
}

/// A fabric's severity in the fabric list and its summary row (`fleet`); each has its own
/// symbol, so a compact row still tells Disconnected from Unhealthy without colour.
pub fn severity(severity: Severity) -> Badge {
    let (symbol, tone) = match severity {
        Severity::Critical => ("!", Tone::Bad),
        Severity::Disconnected => ("⊘", Tone::Bad),
        Severity::Unhealthy => ("✗", Tone::Bad),
        Severity::Drifted => ("≠", Tone::Warn),
        Severity::Warning => ("~", Tone::Warn),
        Severity::Unverified => ("?", Tone::Dim),
        Severity::Ok => ("✓", Tone::Good),
    };
    Badge::new(symbol, severity.word(), tone)
}

pub fn event_kind(kind: LogKind) -> Tone {
    match kind {
        LogKind::Drift | LogKind::Health => Tone::Warn,
        LogKind::Error => Tone::Bad,
        LogKind::Apply | LogKind::Sync => Tone::Good,
        LogKind::Connection | LogKind::Watch => Tone::Info,
        LogKind::Added | LogKind::Modified | LogKind::Deleted => Tone::Plain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_colour_every_status_keeps_a_symbol_and_a_word() {
        let plain = Theme::plain();
        for tone in [Tone::Plain, Tone::Good, Tone::Warn, Tone::Info, Tone::Dim] {
            assert_eq!(plain.tone(tone).fg, None);
        }
        assert_eq!(plain.tone(Tone::Bad).fg, None);
        assert!(plain.tone(Tone::Bad).add_modifier.contains(Modifier::BOLD));
        let badges = [
            drift(&Drift::InSync),
            drift(&Drift::Drifted(Vec::new())),
            drift(&Drift::Missing),
            drift(&Drift::Orphan),
            drift(&Drift::Unknown),
        ];
        let texts: Vec<String> = badges.iter().map(Badge::text).collect();
        assert_eq!(
            texts,
            [
                "✓ InSync",
                "≠ Drifted 0",
                "✗ Missing",
                "+ Orphan",
                "? Unknown"
            ]
        );
    }
}
