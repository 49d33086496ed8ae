//! sim::faults: health faults bent into one switch's otherwise healthy status — a BGP session
//! down, a miswired port, a flapping port, a failed PSU, an optic with low receive power,
//! critical resources nearly full. Tests and the demo inject and clear them by hand
//! ([`Simulator::inject`], or a [`FaultControl`] while [`Simulator::run`] owns the simulator);
//! [`SimConfig::fault_every`](super::SimConfig::fault_every) injects them on a schedule. Which
//! port, peer or PSU a fault hits is drawn from the seed, from its own streams, so the same
//! seed and the same calls give the same picks. Each injection and clear is a [`SimEvent`]
//! ([`Action::Fault`], [`Action::Cleared`]); the status shows it at the switch's next heartbeat.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::time::Instant;

use super::status::{
    LLDP_DESCRIPTION, Moment, Peer, RESOURCES, SwitchWiring, healthy_state, nos_name,
};
use super::{Action, SimEvent, Simulator, SplitMix64, rfc3339, unix_now};

/// A health fault the simulator can put on a switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HealthFault {
    /// A link BGP session (fabric, mesh or gateway) drops: `state` `active`, `lastResetReason`
    /// `Hold Timer Expired`, its BFD peer `down`. Cleared, it is established again with
    /// `estabTrans` one higher.
    BgpDown,
    /// A switch-to-switch port's LLDP neighbor is another switch and port than the wiring says.
    Miswire,
    /// A port's `oper` toggles down/up at every heartbeat, with a new `change` time and a
    /// growing `linkFlapCount`.
    Flap,
    /// A PSU reports `status` false (still present, no output power).
    PsuFailed,
    /// An optic's lane 0 receives -15.5 dBm.
    LowRxPower,
    /// One critical resource is 97 % used.
    ResourcesFull,
}

impl HealthFault {
    pub const ALL: [HealthFault; 6] = [
        HealthFault::BgpDown,
        HealthFault::Miswire,
        HealthFault::Flap,
        HealthFault::PsuFailed,
        HealthFault::LowRxPower,
        HealthFault::ResourcesFull,
    ];

    pub fn word(self) -> &'static str {
        match self {
            HealthFault::BgpDown => "bgp-down",
            HealthFault::Miswire => "miswire",
            HealthFault::Flap => "flap",
            HealthFault::PsuFailed => "psu-failed",
            HealthFault::LowRxPower => "low-rx-power",
            HealthFault::ResourcesFull => "resources-full",
        }
    }
}

impl fmt::Display for HealthFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Where a fault landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InjectedFault {
    pub switch: String,
    pub fault: HealthFault,
    /// What it hit: the peer IP (`BgpDown`), the API port (`Miswire`, `Flap`, `LowRxPower`),
    /// the PSU (`PSU 1`), or the resource (`ipv4Routes`).
    pub target: String,
    /// For the log: `LLDP shows spine-2 Ethernet7; wired to spine-1 E1/1`.
    pub detail: String,
    /// Unix seconds.
    pub since: i64,
}

/// One fault in force.
#[derive(Debug)]
struct Active {
    fault: InjectedFault,
    /// Scheduled faults clear themselves then.
    until: Option<Instant>,
    /// Heartbeats written since injection (a flap toggles at each).
    beats: u32,
    /// Miswire: the neighbor shown instead (switch, NOS port).
    shown: Option<(String, String)>,
}

/// What a BGP session has been through, kept after its fault clears.
#[derive(Clone, Debug)]
struct SessionHistory {
    estab_trans: u64,
    conn_dropped: u64,
    bfd_fails: u64,
    last_estab: Option<i64>,
    last_reset: i64,
}

/// The simulator's faults: in force, past (session history), and the wiring they pick from.
#[derive(Debug)]
pub(super) struct FaultBook {
    picks: SplitMix64,
    schedule: SplitMix64,
    wiring: BTreeMap<String, SwitchWiring>,
    active: BTreeMap<(String, HealthFault), Active>,
    sessions: BTreeMap<(String, String), SessionHistory>,
    /// Injections and clears not yet emitted: (action, object, message).
    events: Vec<(Action, String, String)>,
}

/// A handle on the simulator's faults, usable while [`Simulator::run`] owns the simulator.
#[derive(Clone, Debug)]
pub struct FaultControl(Arc<Mutex<FaultBook>>);

impl FaultControl {
    pub(super) fn new(seed: u64) -> Self {
        FaultControl(Arc::new(Mutex::new(FaultBook {
            picks: SplitMix64::new(seed ^ 0x4641_554c_5407),
            schedule: SplitMix64::new(seed ^ 0x5343_4845_4409),
            wiring: BTreeMap::new(),
            active: BTreeMap::new(),
            sessions: BTreeMap::new(),
            events: Vec::new(),
        })))
    }

    pub(super) fn book(&self) -> MutexGuard<'_, FaultBook> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts `fault` on `switch`; returns where it landed. `None` when the simulator has not
    /// seen `switch` yet (call after [`Simulator::start`]), the switch has nothing the fault
    /// can hit (no link session, no switch-to-switch port), or it already has this fault.
    pub fn inject(&self, fault: HealthFault, switch: &str) -> Option<InjectedFault> {
        self.book().inject(fault, switch, None, unix_now())
    }

    /// Takes `fault` off `switch`; returns what it was, `None` if it was not in force.
    pub fn clear(&self, switch: &str, fault: HealthFault) -> Option<InjectedFault> {
        self.book().clear(switch, fault, unix_now())
    }

    /// The faults in force, by switch and fault.
    pub fn active(&self) -> Vec<InjectedFault> {
        self.book()
            .active
            .values()
            .map(|a| a.fault.clone())
            .collect()
    }
}

impl FaultBook {
    pub(super) fn set_wiring(&mut self, wiring: BTreeMap<String, SwitchWiring>) {
        self.active
            .retain(|(switch, _), _| wiring.contains_key(switch));
        self.wiring = wiring;
    }

    /// What `fault` can hit on `switch`, sorted.
    fn candidates(&self, fault: HealthFault, switch: &str) -> Vec<String> {
        let Some(wiring) = self.wiring.get(switch) else {
            return Vec::new();
        };
        match fault {
            HealthFault::BgpDown => wiring
                .sessions
                .iter()
                .filter(|(_, s)| s.bfd)
                .map(|(ip, _)| ip.clone())
                .collect(),
            HealthFault::Miswire => wiring
                .ports
                .iter()
                .filter(|(_, l)| matches!(l.peer, Peer::Switch { .. }))
                .map(|(port, _)| port.clone())
                .collect(),
            HealthFault::Flap | HealthFault::LowRxPower => wiring.ports.keys().cloned().collect(),
            HealthFault::PsuFailed => vec!["PSU 1".into(), "PSU 2".into()],
            HealthFault::ResourcesFull => RESOURCES.iter().map(|(r, _)| r.to_string()).collect(),
        }
    }

    fn inject(
        &mut self,
        fault: HealthFault,
        switch: &str,
        until: Option<Instant>,
        now: i64,
    ) -> Option<InjectedFault> {
        let key = (switch.to_string(), fault);
        if self.active.contains_key(&key) {
            return None;
        }
        let candidates = self.candidates(fault, switch);
        if candidates.is_empty() {
            return None;
        }
        let target = candidates[self.picks.below(candidates.len())].clone();
        let mut shown = None;
        let detail = match fault {
            HealthFault::BgpDown => {
                let history = self.session(switch, &target);
                history.conn_dropped += 1;
                history.bfd_fails += 1;
                history.last_reset = now;
                format!("BGP session to {target} drops (Hold Timer Expired), BFD down")
            }
            HealthFault::Miswire => {
                let Peer::Switch { name: wired, port } = &self.wiring[switch].ports[&target].peer
                else {
                    return None;
                };
                let (wired, port) = (wired.clone(), port.clone());
                let others: Vec<String> = self
                    .wiring
                    .keys()
                    .filter(|s| *s != switch && **s != wired)
                    .cloned()
                    .collect();
                let other = match others.len() {
                    0 => wired.clone(),
                    n => others[self.picks.below(n)].clone(),
                };
                let mut other_port = format!("Ethernet{}", self.picks.below(48));
                if other == wired && other_port == nos_name(&port) {
                    other_port = format!("Ethernet{}", (self.picks.below(47) + 48) % 48);
                }
                let detail =
                    format!("LLDP on {target} shows {other} {other_port}; wired to {wired} {port}");
                shown = Some((other, other_port));
                detail
            }
            HealthFault::Flap => format!("{target} flaps at every heartbeat"),
            HealthFault::PsuFailed => format!("{target} fails (present, no output)"),
            HealthFault::LowRxPower => format!("the optic in {target} receives -15.5 dBm"),
            HealthFault::ResourcesFull => format!("{target} 97 % used"),
        };
        let injected = InjectedFault {
            switch: switch.to_string(),
            fault,
            target,
            detail,
            since: now,
        };
        self.events.push((
            Action::Fault,
            format!("Agent/{switch}"),
            format!("{}: {}", fault, injected.detail),
        ));
        self.active.insert(
            key,
            Active {
                fault: injected.clone(),
                until,
                beats: 0,
                shown,
            },
        );
        Some(injected)
    }

    fn clear(&mut self, switch: &str, fault: HealthFault, now: i64) -> Option<InjectedFault> {
        let active = self.active.remove(&(switch.to_string(), fault))?;
        if fault == HealthFault::BgpDown {
            let history = self.session(switch, &active.fault.target);
            history.estab_trans += 1;
            history.last_estab = Some(now);
        }
        self.events.push((
            Action::Cleared,
            format!("Agent/{switch}"),
            format!("{fault} on {} cleared", active.fault.target),
        ));
        Some(active.fault)
    }

    fn session(&mut self, switch: &str, ip: &str) -> &mut SessionHistory {
        self.sessions
            .entry((switch.to_string(), ip.to_string()))
            .or_insert(SessionHistory {
                estab_trans: 1,
                conn_dropped: 0,
                bfd_fails: 0,
                last_estab: None,
                last_reset: 0,
            })
    }

    /// The `status.state` `switch` reports at `moment`: healthy as wired, bent by its faults.
    pub(super) fn state(&mut self, switch: &str, moment: &Moment) -> Value {
        let wiring = self.wiring.get(switch).cloned().unwrap_or_default();
        let mut state = healthy_state(switch, &wiring, moment);
        self.bend(switch, &mut state, moment.now_ms.div_euclid(1000));
        state
    }

    /// Bends `state` (the healthy `status.state` of `switch`) by the switch's session history
    /// and faults in force, at heartbeat time `now`; counts the heartbeat for flapping ports.
    pub(super) fn bend(&mut self, switch: &str, state: &mut Value, now: i64) {
        for ((sw, ip), history) in &self.sessions {
            if sw != switch {
                continue;
            }
            if let Some(session) = state.pointer_mut(&format!("/bgpNeighbors/default/{ip}")) {
                session["estabTrans"] = json!(history.estab_trans);
                session["connDropped"] = json!(history.conn_dropped);
                session["lastReset"] = json!(rfc3339(history.last_reset));
                session["lastResetReason"] = json!("Hold Timer Expired");
                if let Some(at) = history.last_estab {
                    session["lastEstab"] = json!(rfc3339(at));
                }
            }
            if let Some(peer) = state.pointer_mut(&format!("/bfdPeers/default/{ip}")) {
                peer["fails"] = json!(history.bfd_fails);
                if let Some(at) = history.last_estab {
                    peer["lastUpTime"] = json!(rfc3339(at));
                }
            }
        }
        for ((sw, fault), active) in self.active.iter_mut() {
            if sw != switch {
                continue;
            }
            active.beats += 1;
            let target = active.fault.target.as_str();
            // JSON pointers escape `/` in keys (`E1/9` → `E1~19`).
            let key = target.replace('~', "~0").replace('/', "~1");
            match fault {
                HealthFault::BgpDown => {
                    if let Some(session) =
                        state.pointer_mut(&format!("/bgpNeighbors/default/{key}"))
                    {
                        session["state"] = json!("active");
                    }
                    if let Some(peer) = state.pointer_mut(&format!("/bfdPeers/default/{key}")) {
                        peer["state"] = json!("down");
                    }
                }
                HealthFault::Miswire => {
                    if let (Some(port), Some((other, other_port))) = (
                        state.pointer_mut(&format!("/interfaces/{key}")),
                        &active.shown,
                    ) {
                        port["lldpNeighbors"] = json!([{
                            "name": nos_name(target),
                            "chassis": other,
                            "sysName": other,
                            "sysDescr": LLDP_DESCRIPTION,
                            "portID": other_port,
                            "portDescr": format!("{other} {other_port}"),
                        }]);
                    }
                }
                HealthFault::Flap => {
                    if let Some(port) = state.pointer_mut(&format!("/interfaces/{key}")) {
                        let down = active.beats % 2 == 1;
                        port["oper"] = json!(if down { "down" } else { "up" });
                        port["change"] = json!(rfc3339(now));
                        port["linkFlapCount"] = json!(active.beats);
                        if down {
                            port["lldpNeighbors"] = json!([]);
                        }
                    }
                }
                HealthFault::PsuFailed => {
                    if let Some(psu) = state.pointer_mut(&format!("/platform/psus/{key}")) {
                        psu["status"] = json!(false);
                        psu["outPower"] = json!(0.0);
                    }
                }
                HealthFault::LowRxPower => {
                    if let Some(lane) =
                        state.pointer_mut(&format!("/transceivers/{key}/channels/0"))
                    {
                        lane["in"] = json!(-15.5);
                    }
                }
                HealthFault::ResourcesFull => {
                    let capacity = RESOURCES
                        .iter()
                        .find(|(r, _)| *r == target)
                        .map_or(0, |(_, c)| *c);
                    if let Some(stats) = state.pointer_mut("/criticalResources/stats") {
                        let used = capacity * 97 / 100;
                        stats[format!("{target}Used")] = json!(used);
                        stats[format!("{target}Available")] = json!(capacity - used);
                    }
                }
            }
        }
    }
}

impl Simulator {
    /// A handle to inject and clear faults while [`Simulator::run`] owns the simulator.
    pub fn fault_control(&self) -> FaultControl {
        self.faults.clone()
    }

    /// Puts `fault` on `switch` (see [`FaultControl::inject`]).
    pub fn inject(&mut self, fault: HealthFault, switch: &str) -> Option<InjectedFault> {
        self.faults.inject(fault, switch)
    }

    /// Takes `fault` off `switch` (see [`FaultControl::clear`]).
    pub fn clear_fault(&mut self, switch: &str, fault: HealthFault) -> Option<InjectedFault> {
        self.faults.clear(switch, fault)
    }

    /// The faults in force.
    pub fn faults(&self) -> Vec<InjectedFault> {
        self.faults.active()
    }

    /// The schedule's part: clears scheduled faults whose time is up, injects the next one when
    /// due (a random switch and fault not yet in force), and emits what changed since the last
    /// tick, whoever made the change.
    pub(super) fn schedule_faults(
        &mut self,
        now: Instant,
        emit: &mut (dyn FnMut(&SimEvent) + Send),
    ) {
        let due = self.next_fault.filter(|due| now >= *due);
        let events = {
            let wall = unix_now();
            let mut book = self.faults.book();
            let expired: Vec<(String, HealthFault)> = book
                .active
                .iter()
                .filter(|(_, a)| a.until.is_some_and(|until| now >= until))
                .map(|(key, _)| key.clone())
                .collect();
            for (switch, fault) in expired {
                book.clear(&switch, fault, wall);
            }
            if due.is_some() {
                let open: Vec<(String, HealthFault)> = book
                    .wiring
                    .keys()
                    .flat_map(|s| HealthFault::ALL.map(|f| (s.clone(), f)))
                    .filter(|(s, f)| {
                        !book.active.contains_key(&(s.clone(), *f))
                            && !book.candidates(*f, s).is_empty()
                    })
                    .collect();
                if !open.is_empty() {
                    let (switch, fault) = open[book.schedule.below(open.len())].clone();
                    let until = Some(now + self.config.fault_for);
                    book.inject(fault, &switch, until, wall);
                }
            }
            std::mem::take(&mut book.events)
        };
        if let Some(due) = due {
            self.next_fault = Some(due + self.config.fault_every);
        }
        for (action, object, message) in events {
            self.emit(emit, action, object, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::wiring::{Link, Session};
    use super::*;

    fn book() -> FaultBook {
        let control = FaultControl::new(5);
        let mut wiring = BTreeMap::new();
        for (name, peer) in [
            ("leaf-1", "spine-1"),
            ("spine-1", "leaf-1"),
            ("spine-2", "x"),
        ] {
            let mut w = SwitchWiring {
                asn: 1,
                ..Default::default()
            };
            w.ports.insert(
                "E1/9".into(),
                Link {
                    connection: "c".into(),
                    peer: Peer::Switch {
                        name: peer.into(),
                        port: "E1/1".into(),
                    },
                },
            );
            w.sessions.insert(
                "10.0.0.1".into(),
                Session {
                    peer_as: 2,
                    bfd: true,
                },
            );
            wiring.insert(name.to_string(), w);
        }
        let mut book = Arc::try_unwrap(control.0).unwrap().into_inner().unwrap();
        book.set_wiring(wiring);
        book
    }

    #[test]
    fn one_fault_of_a_kind_per_switch_and_clear_brings_the_session_back() {
        let mut book = book();
        assert!(book.inject(HealthFault::BgpDown, "nope", None, 0).is_none());
        let hit = book
            .inject(HealthFault::BgpDown, "leaf-1", None, 100)
            .unwrap();
        assert_eq!(hit.target, "10.0.0.1");
        assert!(
            book.inject(HealthFault::BgpDown, "leaf-1", None, 100)
                .is_none()
        );
        let mut state = json!({"bgpNeighbors": {"default": {"10.0.0.1": {"state": "established"}}},
            "bfdPeers": {"default": {"10.0.0.1": {"state": "up"}}}});
        book.bend("leaf-1", &mut state, 101);
        assert_eq!(
            state["bgpNeighbors"]["default"]["10.0.0.1"]["state"],
            "active"
        );
        assert_eq!(state["bfdPeers"]["default"]["10.0.0.1"]["state"], "down");
        book.clear("leaf-1", HealthFault::BgpDown, 200).unwrap();
        let mut state =
            json!({"bgpNeighbors": {"default": {"10.0.0.1": {"state": "established"}}}});
        book.bend("leaf-1", &mut state, 201);
        let session = &state["bgpNeighbors"]["default"]["10.0.0.1"];
        assert_eq!(session["state"], "established");
        assert_eq!(session["estabTrans"], 2);
        assert_eq!(session["lastEstab"], rfc3339(200));
        assert_eq!(session["lastResetReason"], "Hold Timer Expired");
        let actions: Vec<Action> = book.events.iter().map(|e| e.0).collect();
        assert_eq!(actions, [Action::Fault, Action::Cleared]);
    }

    #[test]
    fn a_miswire_shows_a_switch_other_than_the_wired_one() {
        let mut book = book();
        let hit = book
            .inject(HealthFault::Miswire, "leaf-1", None, 0)
            .unwrap();
        assert_eq!(hit.target, "E1/9");
        let mut state = json!({"interfaces": {"E1/9": {"lldpNeighbors": []}}});
        book.bend("leaf-1", &mut state, 1);
        let shown = &state["interfaces"]["E1/9"]["lldpNeighbors"][0];
        assert_eq!(shown["sysName"], "spine-2", "{hit:?}");
        assert!(shown["portID"].as_str().unwrap().starts_with("Ethernet"));
    }

    #[test]
    fn a_flap_toggles_and_counts() {
        let mut book = book();
        book.inject(HealthFault::Flap, "leaf-1", None, 0).unwrap();
        let mut opers = Vec::new();
        for beat in 1..=4 {
            let mut state = json!({"interfaces": {"E1/9": {"oper": "up", "lldpNeighbors": [{}]}}});
            book.bend("leaf-1", &mut state, beat);
            let port = &state["interfaces"]["E1/9"];
            assert_eq!(port["linkFlapCount"], beat);
            assert_eq!(port["change"], rfc3339(beat));
            opers.push(port["oper"].as_str().unwrap().to_string());
        }
        assert_eq!(opers, ["down", "up", "down", "up"]);
    }

    #[test]
    fn picks_repeat_per_seed() {
        let picks = |seed| {
            let control = FaultControl::new(seed);
            let mut book = control.book();
            book.wiring = self::book().wiring;
            HealthFault::ALL
                .iter()
                .filter_map(|f| book.inject(*f, "spine-1", None, 0))
                .map(|f| f.target)
                .collect::<Vec<_>>()
        };
        assert_eq!(picks(9), picks(9));
        let all: Vec<Vec<String>> = (0..20).map(picks).collect();
        assert!(
            all.iter().any(|p| *p != all[0]),
            "targets vary with the seed"
        );
    }
}
