//! ui::action: what a key means on this screen. The actions, their bindings and the key map
//! live in `crate::keymap` (the config validates `[ui.keys]` against the same table); here
//! `resolve` is the one place a key becomes an action, given the mode the screen is in.
//! Nothing here touches the model or the engine.

use crossterm::event::KeyCode;

pub use crate::keymap::{Action, BINDINGS, KeyMap, KeyOverrides};

use crate::keymap::{CTRL_C, Key};

/// What the screen is doing, as far as keys care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputMode {
    Normal,
    /// Typing into a prompt (`/` filter, `:` jump).
    Text,
    Confirm,
    Help,
}

/// The one place a key becomes an action.
pub fn resolve(mode: InputMode, key: Key, keymap: &KeyMap) -> Option<Action> {
    if key == CTRL_C {
        return Some(Action::Quit);
    }
    match mode {
        InputMode::Text => match key.code {
            KeyCode::Enter => Some(Action::InputSubmit),
            KeyCode::Esc => Some(Action::InputCancel),
            KeyCode::Backspace => Some(Action::InputBackspace),
            KeyCode::Char(c) if !key.is_chord() => Some(Action::InputChar(c)),
            _ => None,
        },
        InputMode::Confirm => match key.code {
            KeyCode::Char('y') | KeyCode::Enter if !key.is_chord() => Some(Action::Confirm),
            KeyCode::Char('F') if !key.is_chord() => Some(Action::ConfirmForce),
            KeyCode::Char('n') | KeyCode::Esc | KeyCode::Char('q') => Some(Action::Cancel),
            _ => None,
        },
        InputMode::Help => match keymap.action(key) {
            Some(
                action @ (Action::Up
                | Action::Down
                | Action::PageUp
                | Action::PageDown
                | Action::Top
                | Action::Bottom),
            ) => Some(action),
            // Any other key closes the help: it must never trap someone who pressed `?`.
            _ => Some(Action::Back),
        },
        InputMode::Normal => keymap.action(key).or(match key.code {
            KeyCode::Char(c @ '1'..='9') if !key.is_chord() => {
                Some(Action::SelectFabric(c as usize - '1' as usize))
            }
            _ => None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_decide_what_keys_mean() {
        let map = KeyMap::default();
        let q = Key::char('q');
        assert_eq!(resolve(InputMode::Normal, q, &map), Some(Action::Quit));
        assert_eq!(
            resolve(InputMode::Text, q, &map),
            Some(Action::InputChar('q'))
        );
        assert_eq!(resolve(InputMode::Confirm, q, &map), Some(Action::Cancel));
        assert_eq!(resolve(InputMode::Confirm, Key::char('A'), &map), None);
        assert_eq!(resolve(InputMode::Help, q, &map), Some(Action::Back));
        assert_eq!(
            resolve(InputMode::Normal, Key::char('2'), &map),
            Some(Action::SelectFabric(1))
        );
        let ctrl_c = Key {
            ctrl: true,
            ..Key::char('c')
        };
        assert_eq!(resolve(InputMode::Text, ctrl_c, &map), Some(Action::Quit));
    }
}
