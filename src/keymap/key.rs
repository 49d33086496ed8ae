//! keymap::key: the key notation of the `[ui.keys]` config table ("s", "A", "enter", "pgdn",
//! "ctrl-r") and its mapping from crossterm key events. Pure parsing; no terminal access.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One key as a binding names it. Shift is folded into the character ('A', not shift-a), so
/// terminals that do and do not report SHIFT for capitals behave the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            ctrl: false,
            alt: false,
        }
    }

    pub const fn char(c: char) -> Key {
        Key::plain(KeyCode::Char(c))
    }

    /// Whether this is a control or alt chord (no write action may sit on one).
    pub fn is_chord(&self) -> bool {
        self.ctrl || self.alt
    }
}

impl From<KeyEvent> for Key {
    fn from(event: KeyEvent) -> Key {
        let code = match event.code {
            // Some terminals send shift+tab as Tab with SHIFT.
            KeyCode::Tab if event.modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            other => other,
        };
        Key {
            code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
        }
    }
}

const NAMED: &[(&str, KeyCode)] = &[
    ("enter", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("backspace", KeyCode::Backspace),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("pgup", KeyCode::PageUp),
    ("pgdn", KeyCode::PageDown),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("space", KeyCode::Char(' ')),
];

/// Why a key name in `[ui.keys]` is not a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("{spec:?} is empty")]
    Empty { spec: String },
    #[error(
        "{spec:?} is not a key; use one character, f1..f12, ctrl-X, alt-X or one of {}",
        named_keys().join(", ")
    )]
    Unknown { spec: String },
}

fn named_keys() -> Vec<&'static str> {
    NAMED.iter().map(|(name, _)| *name).collect()
}

/// Parses `s`, `A`, `?`, `enter`, `pgdn`, `f5`, `ctrl-r`, `alt-x`. Names are case-insensitive;
/// single characters are taken as written (so `a` and `A` differ).
pub fn parse_key(spec: &str) -> Result<Key, KeyError> {
    let mut rest = spec;
    let mut key = Key::plain(KeyCode::Null);
    loop {
        let lower = rest.to_ascii_lowercase();
        if rest.chars().count() > 1 && lower.starts_with("ctrl-") {
            key.ctrl = true;
            rest = &rest[5..];
        } else if rest.chars().count() > 1 && lower.starts_with("alt-") {
            key.alt = true;
            rest = &rest[4..];
        } else {
            break;
        }
    }
    let mut chars = rest.chars();
    key.code = match (chars.next(), chars.next()) {
        (None, _) => {
            return Err(KeyError::Empty {
                spec: spec.to_string(),
            });
        }
        (Some(c), None) => {
            // A control chord names a letter; terminals do not report case with ctrl.
            KeyCode::Char(if key.ctrl { c.to_ascii_lowercase() } else { c })
        }
        _ => {
            let lower = rest.to_ascii_lowercase();
            if let Some((_, code)) = NAMED.iter().find(|(name, _)| *name == lower) {
                *code
            } else if let Some(n) = lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                KeyCode::F(n)
            } else {
                return Err(KeyError::Unknown {
                    spec: spec.to_string(),
                });
            }
        }
    };
    Ok(key)
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            write!(f, "ctrl-")?;
        }
        if self.alt {
            write!(f, "alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => write!(f, "space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "f{n}"),
            KeyCode::Up => write!(f, "↑"),
            KeyCode::Down => write!(f, "↓"),
            KeyCode::Left => write!(f, "←"),
            KeyCode::Right => write!(f, "→"),
            code => match NAMED.iter().find(|(_, c)| *c == code) {
                Some((name, _)) => write!(f, "{name}"),
                None => write!(f, "{code:?}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_notation_and_prints_it_back() {
        for spec in [
            "s", "A", "?", "/", "enter", "pgdn", "ctrl-r", "alt-x", "f5", "space",
        ] {
            assert_eq!(parse_key(spec).unwrap().to_string(), spec);
        }
        assert_eq!(parse_key("CTRL-R").unwrap(), parse_key("ctrl-r").unwrap());
        assert_ne!(parse_key("a").unwrap(), parse_key("A").unwrap());
        assert!(parse_key("").is_err());
        let unknown = parse_key("hyper-q").unwrap_err().to_string();
        assert!(unknown.contains("\"hyper-q\" is not a key"), "{unknown}");
        assert!(
            unknown.contains("pgdn"),
            "the message lists the named keys: {unknown}"
        );
    }

    #[test]
    fn shift_is_folded_into_capitals() {
        let event = KeyEvent::new(KeyCode::Char('A'), KeyModifiers::SHIFT);
        assert_eq!(Key::from(event), Key::char('A'));
        let event = KeyEvent::new(KeyCode::Tab, KeyModifiers::SHIFT);
        assert_eq!(Key::from(event), Key::plain(KeyCode::BackTab));
    }
}
