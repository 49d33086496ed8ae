//! ui::commands: the one place actions become engine `Command`s — sync, refresh, connection
//! test, watch on/off, apply one, apply all after the confirm — plus the clipboard. Read-only
//! mode is enforced here, so no other path can send a write.

use crate::engine::{ApplyRequest, ApplyScope, Command};
use crate::status::WatchState;

use super::action::Action;
use super::app::{App, Effect, Overlay};
use super::confirm::Confirm;
use super::detail::Detail;
use super::model::Liveness;
use super::theme::Tone;
use super::view::View;

impl App {
    pub(super) fn open_confirm(&mut self) {
        self.open_confirm_for(self.selected, None);
    }

    /// Opens the apply-all dialog on a fabric's current out-of-sync list; `changed` says why it
    /// is shown again (the list moved under an open dialog).
    fn open_confirm_for(&mut self, fabric_index: usize, changed: Option<&str>) {
        if self.read_only {
            self.refuse_read_only("apply all");
            return;
        }
        let Some(fabric) = self.fabrics.get(fabric_index) else {
            return;
        };
        let entries = fabric.out_of_sync();
        if entries.is_empty() {
            let text = match fabric.liveness() {
                Liveness::Live => format!("nothing to apply: {} matches Git", fabric.name),
                _ => format!(
                    "nothing known to apply on {}: the live view is not current (r refreshes)",
                    fabric.name
                ),
            };
            self.notify(Tone::Info, text);
            return;
        }
        let warning = match (changed, fabric.liveness()) {
            (Some(why), _) => Some(why.to_string()),
            (None, Liveness::Live) => None,
            (None, _) => Some(
                "the cluster view is cached, not live: objects listed here are applied as Git has them"
                    .to_string(),
            ),
        };
        let confirm = Confirm::new(
            fabric_index,
            &fabric.name,
            fabric.status.sync.commit.clone(),
            &entries,
            warning,
        );
        self.overlay = Overlay::Confirm(confirm);
    }

    fn refuse_read_only(&mut self, what: &str) {
        self.notify(
            Tone::Warn,
            format!(
                "read-only mode: {what} is disabled (started with --read-only or ui.read_only)"
            ),
        );
    }

    /// The one place actions become engine commands. Returns the command with the fabric it is
    /// for, or nothing (with a notice saying why).
    pub(super) fn engine_command(&mut self, action: Action) -> Option<Effect> {
        let (fabric_index, command) = match action {
            Action::Sync => (self.selected, Command::Sync),
            Action::Refresh => (self.selected, Command::Refresh),
            Action::TestConnection => (self.selected, Command::TestConnection),
            Action::Watch => {
                let on = self.fabric().is_some_and(|f| {
                    matches!(
                        f.status.watch.state,
                        WatchState::Active | WatchState::Starting
                    )
                });
                (self.selected, Command::SetWatch(!on))
            }
            Action::Apply => {
                if self.read_only {
                    self.refuse_read_only("apply");
                    return None;
                }
                if self.view == View::History && self.detail.is_none() {
                    self.notify(
                        Tone::Info,
                        "open the entry's object (enter) to apply it from its detail",
                    );
                    return None;
                }
                // The detail may be of another fabric than the selected one (opened from the
                // History view of all fabrics): apply goes to the fabric the object is in.
                let fabric_index = self.detail.as_ref().map_or(self.selected, |d| d.fabric);
                let key = self.selected_key()?;
                let fabric = self.fabrics.get(fabric_index)?;
                let entry = fabric.get(&key)?;
                let writable = crate::kinds::by_kind(&key.kind).is_some_and(|k| k.writable());
                if !writable {
                    let text =
                        format!("{} is read-only: the Hedgehog controller owns it", key.kind);
                    self.notify(Tone::Warn, text);
                    return None;
                }
                if entry.row.desired.is_none() {
                    let text = format!(
                        "{}/{} is not in Git: nothing to apply (hhdash does not delete orphans)",
                        key.kind, key.name
                    );
                    self.notify(Tone::Warn, text);
                    return None;
                }
                (fabric_index, apply(ApplyScope::Objects(vec![key])))
            }
            Action::Confirm | Action::ConfirmForce => {
                if self.read_only {
                    self.refuse_read_only("apply all");
                    return None;
                }
                let Overlay::Confirm(confirm) = &self.overlay else {
                    return None;
                };
                // Apply exactly what the dialog listed, at the commit it was computed from; if
                // Git or the cluster moved while it was open, show the new list instead.
                let fabric = self.fabrics.get(confirm.fabric)?;
                let now: Vec<_> = fabric
                    .out_of_sync()
                    .iter()
                    .map(|e| e.row.key.clone())
                    .collect();
                if fabric.status.sync.commit != confirm.commit || now != confirm.keys {
                    let index = confirm.fabric;
                    self.overlay = Overlay::None;
                    self.open_confirm_for(
                        index,
                        Some("the list changed while the dialog was open (Git or the cluster moved): review it again"),
                    );
                    return None;
                }
                let mut command = apply(ApplyScope::Confirmed {
                    objects: confirm.keys.clone(),
                    commit: confirm.commit.clone(),
                });
                if let Command::Apply(request) = &mut command {
                    request.force_conflicts = action == Action::ConfirmForce;
                }
                (confirm.fabric, command)
            }
            _ => return None,
        };
        let fabric = self.fabrics.get(fabric_index)?.name.clone();
        let what = describe(&command);
        self.notify(Tone::Info, format!("{what} → {fabric}"));
        Some(Effect::Send { fabric, command })
    }

    pub(super) fn copy(&mut self, yaml: bool) -> Vec<Effect> {
        let text = if let Some(page) = self.switch_page.as_ref().filter(|_| !yaml) {
            Some(page.name.clone())
        } else if self.view == View::Health && self.detail.is_none() && !yaml {
            let fabric = self.fabric();
            let index = self.listing.selected_index();
            fabric
                .zip(index)
                .and_then(|(f, i)| f.switches.get(i))
                .map(|s| s.name.clone())
        } else if yaml {
            match &self.detail {
                Some(detail) => detail.yaml().map(str::to_string),
                None => self.selected_key().and_then(|key| {
                    let detail = Detail::new(self.selected, key, self.fabric()?, self.attribute);
                    detail.yaml().map(str::to_string)
                }),
            }
        } else {
            self.selected_key().map(|k| k.kind_name())
        };
        match text {
            Some(text) => {
                let what = if yaml {
                    format!("copied YAML ({} lines)", text.lines().count())
                } else {
                    format!("copied {text}")
                };
                self.notify(Tone::Good, what);
                vec![Effect::Copy { text }]
            }
            None => {
                self.notify(Tone::Warn, "nothing selected to copy");
                Vec::new()
            }
        }
    }
}

fn apply(scope: ApplyScope) -> Command {
    Command::Apply(ApplyRequest {
        scope,
        dry_run: false,
        force_conflicts: false,
    })
}

fn describe(command: &Command) -> String {
    match command {
        Command::Sync | Command::SyncAndReport(_) => "sync requested".into(),
        Command::Refresh => "refresh requested".into(),
        Command::TestConnection => "connection test requested".into(),
        Command::SetWatch(true) => "watch on".into(),
        Command::SetWatch(false) => "watch off".into(),
        Command::Apply(request) => match &request.scope {
            ApplyScope::Objects(keys) => match keys.as_slice() {
                [key] => format!("apply {}/{}", key.kind, key.name),
                keys => format!("apply {} objects", keys.len()),
            },
            ApplyScope::OutOfSync => "apply all out of sync".into(),
            ApplyScope::Confirmed { objects, .. } => {
                format!("apply the {} confirmed object(s)", objects.len())
            }
        },
        Command::Explain(key) => format!("explain {}/{}", key.kind, key.name),
        Command::History(_) => "history requested".into(),
        Command::MarkSeen(_) => "history marked seen".into(),
        Command::Shutdown => "shutdown".into(),
    }
}
