//! ui::switch_nav: what `enter` opens and what the cursor is on — the object detail, or the
//! switch detail. How the switch detail is reached: `enter` on a Health row, `p` on a
//! Connection row (the Connection view or the Drift view) to its first switch at the
//! Connection's ports, `p` again for the Connection's other switch — and left (`esc`, in
//! `App::update`). The detail is drawn above the list it came from, so the list keeps its
//! cursor and `esc` lands on the same row.

use crate::kinds::ObjectKey;

use crate::engine::Command;

use super::app::{App, Effect, Focus};
use super::detail::Detail;
use super::switch_detail::{self, Jump, SwitchPage};
use super::theme::Tone;
use super::view::View;

impl App {
    /// The key of the object under the cursor (an Agent for a switch in the Health view).
    pub fn selected_key(&self) -> Option<ObjectKey> {
        if let Some(detail) = &self.detail {
            return Some(detail.key.clone());
        }
        if self.view == View::History {
            return self.history_selected().map(|(_, key)| key);
        }
        let fabric = self.fabric()?;
        let index = self.listing.selected_index()?;
        if self.view == View::Health {
            let switch = fabric.switches.get(index)?;
            let agent = fabric
                .entries()
                .iter()
                .find(|e| e.row.key.kind == "Agent" && e.row.key.name == switch.name)?;
            return Some(agent.row.key.clone());
        }
        fabric.entries().get(index).map(|e| e.row.key.clone())
    }

    pub(super) fn open(&mut self) {
        if self.focus == Focus::Fabrics {
            self.focus = Focus::Table;
            return;
        }
        if self.view == View::Health || self.switch_page.is_some() {
            self.open_switch();
            return;
        }
        if self.view == View::History {
            if self.detail.is_none() {
                self.open_history_entry();
            }
            return;
        }
        match self.selected_key() {
            Some(key) => {
                let fabric = &self.fabrics[self.selected];
                self.detail = Some(Detail::new(self.selected, key, fabric, self.attribute));
            }
            None => self.notify(Tone::Warn, "nothing selected"),
        }
    }

    /// Asks the engine for the Git side of the open detail's drift, once per drift (its paths
    /// and Git commit): when the detail opens and whenever its drift changes.
    pub(super) fn request_explain(&mut self) {
        let Some(detail) = &mut self.detail else {
            return;
        };
        let Some(model) = self.fabrics.get(detail.fabric) else {
            return;
        };
        let Some(entry) = model.get(&detail.key) else {
            return;
        };
        let Some(signature) = super::detail::explain_signature(&entry.row) else {
            return;
        };
        if detail.explained_for.as_ref() != Some(&signature) {
            detail.explained_for = Some(signature);
            self.outbox.push(Effect::Send {
                fabric: model.name.clone(),
                command: Command::Explain(detail.key.clone()),
            });
        }
    }

    /// `enter` on the Health view: the detail of the switch under the cursor.
    pub(super) fn open_switch(&mut self) {
        if self.switch_page.is_some() {
            return;
        }
        let name = self
            .fabric()
            .zip(self.listing.selected_index())
            .and_then(|(fabric, i)| fabric.switches.get(i))
            .map(|s| s.name.clone());
        match name {
            Some(name) => self.switch_page = Some(SwitchPage::new(self.selected, name)),
            None => self.notify(Tone::Warn, "no switch selected"),
        }
    }

    /// `p`: from a Connection row, its first switch's ports; inside a detail opened that way,
    /// the Connection's next switch.
    pub(super) fn ports(&mut self) {
        if let Some(page) = &self.switch_page {
            let Some(mut jump) = page.jump.clone() else {
                self.notify(
                    Tone::Info,
                    "p jumps from a Connection row to its switch ports; esc goes back",
                );
                return;
            };
            if jump.ends.len() < 2 {
                let text = format!("{} links only {}", jump.connection, page.name);
                self.notify(Tone::Info, text);
                return;
            }
            jump.at = (jump.at + 1) % jump.ends.len();
            let fabric = page.fabric;
            if let Some(model) = self.fabrics.get(fabric) {
                self.switch_page = Some(SwitchPage::for_connection(fabric, model, jump));
            }
            return;
        }
        if self.focus != Focus::Table || self.view == View::Health {
            self.notify(
                Tone::Info,
                "p: select a Connection row (Connection or Drift view) to see its switch ports",
            );
            return;
        }
        let Some(fabric) = self.fabric() else {
            return;
        };
        let Some(entry) = self
            .listing
            .selected_index()
            .and_then(|i| fabric.entries().get(i))
        else {
            self.notify(Tone::Warn, "nothing selected");
            return;
        };
        let key = entry.row.key.clone();
        if key.kind != "Connection" {
            let text = format!(
                "p shows a Connection's switch ports; {}/{} is not a Connection",
                key.kind, key.name
            );
            self.notify(Tone::Info, text);
            return;
        }
        // Git's wiring first: a Connection that drifted or never reached the cluster still
        // says which ports it should use.
        let object = entry
            .row
            .desired
            .as_deref()
            .map(|d| &d.object)
            .or(entry.row.live.as_ref())
            .map(crate::object::Object::value);
        let known: Vec<&str> = fabric.switches.iter().map(|s| s.name.as_str()).collect();
        let ends = object
            .map(|o| switch_detail::connection_ends(&o, &known))
            .unwrap_or_default();
        if ends.is_empty() {
            let text = format!(
                "Connection {} links no switch with a health report (no Agent seen for its devices)",
                key.name
            );
            self.notify(Tone::Warn, text);
            return;
        }
        let jump = Jump {
            connection: key.name,
            ends,
            at: 0,
        };
        let page = SwitchPage::for_connection(self.selected, fabric, jump);
        self.switch_page = Some(page);
    }
}
