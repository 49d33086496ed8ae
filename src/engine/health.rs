//! health (engine side): switch health from the watched Agents, re-evaluated when an Agent
//! changes and on the slow tick (heartbeats age), with a log line per switch that changes state.

use std::collections::HashMap;

use super::EngineEvent;
use super::live::log_line;
use super::task::Engine;
use crate::health::{self, SwitchHealth};
use crate::status;
use crate::store::LogKind;

impl Engine {
    pub(super) fn compute_health(&self) -> Vec<SwitchHealth> {
        let now = status::now();
        let stale_after = self.fabric.watch.stale_heartbeat_secs;
        let mut switches: Vec<SwitchHealth> = self
            .live
            .read_only
            .iter()
            .filter(|(key, _)| key.kind == "Agent")
            .map(|(_, agent)| agent)
            .map(|agent| health::classify_agent(agent, now, stale_after))
            .collect();
        switches.sort_by(|a, b| a.name.cmp(&b.name));
        switches
    }

    pub(super) async fn refresh_health(&mut self) {
        let switches = self.compute_health();
        if switches == self.switches {
            return;
        }
        let was: HashMap<&str, health::SwitchState> = self
            .switches
            .iter()
            .map(|s| (s.name.as_str(), s.state))
            .collect();
        let now = status::now();
        let mut entries = Vec::new();
        for switch in &switches {
            match was.get(switch.name.as_str()) {
                Some(state) if *state != switch.state => entries.push(log_line(
                    now,
                    LogKind::Watch,
                    Some(format!("Agent/{}", switch.name)),
                    format!("switch {:?} → {:?}", state, switch.state),
                )),
                _ => {}
            }
        }
        self.switches = switches;
        for entry in entries {
            self.log(entry).await;
        }
        self.emit(EngineEvent::Health {
            fabric: self.fabric.name.clone(),
            switches: self.switches.clone(),
        })
        .await;
    }
}
