//! The simulator's decisions: which switch goes silent, whether a switch lags on a new
//! generation, and which out-of-band edit to make. Pure and seeded: no clock, no I/O, so the
//! same seed and the same inputs always give the same decisions.
//!
//! Each kind of decision draws from its own stream (derived from the seed), so, for example,
//! the sequence of drift edits does not depend on how many lag rolls happened before it; that
//! keeps a demo reproducible even though timing decides how often each question is asked.

use serde_json::{Value, json};

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and well distributed for this job. Not for
/// anything secret.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`); the modulo bias is irrelevant for n this small.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One out-of-band edit, as someone with `kubectl edit` would make it.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftEdit {
    /// `VPC` or `Server`.
    pub kind: &'static str,
    pub name: String,
    /// A JSON merge patch.
    pub patch: Value,
    /// What changed, for the log: `spec.subnets.frontend.vlan 1001 -> 1437`.
    pub summary: String,
}

/// Every decision the simulator makes, from one seed.
#[derive(Clone, Debug)]
pub struct Director {
    stale: SplitMix64,
    lag: SplitMix64,
    drift: SplitMix64,
    drifts: u64,
}

impl Director {
    pub fn new(seed: u64) -> Self {
        // Distinct odd constants give independent streams from one seed.
        Director {
            stale: SplitMix64::new(seed ^ 0x5354_414c_4501),
            lag: SplitMix64::new(seed ^ 0x4c41_4747_4903),
            drift: SplitMix64::new(seed ^ 0x4452_4946_5405),
            drifts: 0,
        }
    }

    /// The switch that stops heartbeating next, among `candidates` (sorted by the caller so
    /// the answer depends on the set, not on map order); `None` when there is none.
    pub fn pick_stale<'a>(&mut self, candidates: &[&'a str]) -> Option<&'a str> {
        if candidates.is_empty() {
            return None;
        }
        Some(candidates[self.stale.below(candidates.len())])
    }

    /// Whether a switch that just attempted a new generation lags on it (attempts but does
    /// not apply for a while), with probability `probability`.
    pub fn lags(&mut self, probability: f64) -> bool {
        self.lag.unit() < probability
    }

    /// The next out-of-band edit, given the VPCs and Servers live now (sorted by name);
    /// `None` when there is nothing to edit. Two VPC edits for one Server edit: a changed
    /// VLAN is the drift that matters on a fabric, a description the harmless kind.
    pub fn drift_edit(&mut self, vpcs: &[Value], servers: &[Value]) -> Option<DriftEdit> {
        let subnets: Vec<(&str, &str, Option<i64>)> = vpcs
            .iter()
            .filter_map(|vpc| Some((name_of(vpc)?, vpc.pointer("/spec/subnets")?.as_object()?)))
            .flat_map(|(vpc, subnets)| {
                let mut names: Vec<&String> = subnets.keys().collect();
                names.sort();
                names.into_iter().map(move |subnet| {
                    let vlan = subnets[subnet].get("vlan").and_then(Value::as_i64);
                    (vpc, subnet.as_str(), vlan)
                })
            })
            .collect();
        let servers: Vec<&str> = servers.iter().filter_map(name_of).collect();
        let roll = self.drift.below(3);
        self.drifts += 1;
        let n = self.drifts;
        if (roll < 2 || servers.is_empty()) && !subnets.is_empty() {
            let (vpc, subnet, old) = subnets[self.drift.below(subnets.len())];
            // Stay inside the usual VLANNamespace (1000-2999) so the edit is plausible.
            let mut vlan = 1000 + self.drift.below(2000) as i64;
            if Some(vlan) == old {
                vlan = 1000 + (vlan - 1000 + 1) % 2000;
            }
            let old = old.map(|v| v.to_string()).unwrap_or_else(|| "unset".into());
            return Some(DriftEdit {
                kind: "VPC",
                name: vpc.to_string(),
                patch: json!({"spec": {"subnets": {subnet: {"vlan": vlan}}}}),
                summary: format!("spec.subnets.{subnet}.vlan {old} -> {vlan}"),
            });
        }
        if servers.is_empty() {
            return None;
        }
        let server = servers[self.drift.below(servers.len())];
        let description = format!("edited by hand on the cluster (drift #{n})");
        Some(DriftEdit {
            kind: "Server",
            name: server.to_string(),
            summary: format!("spec.description -> {description:?}"),
            patch: json!({"spec": {"description": description}}),
        })
    }
}

fn name_of(object: &Value) -> Option<&str> {
    object.pointer("/metadata/name").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // First outputs of the reference implementation for seed 1234567.
        let mut rng = SplitMix64::new(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
    }

    #[test]
    fn unit_and_below_stay_in_range() {
        let mut rng = SplitMix64::new(7);
        for _ in 0..10_000 {
            let u = rng.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(rng.below(6) < 6);
        }
    }

    #[test]
    fn probability_bounds_are_exact() {
        let mut director = Director::new(3);
        assert!((0..1000).all(|_| director.lags(1.0)));
        assert!((0..1000).all(|_| !director.lags(0.0)));
    }

    #[test]
    fn drift_edits_change_a_vlan_to_a_new_value_or_a_description() {
        let vpcs = [json!({"metadata": {"name": "web"},
            "spec": {"subnets": {"frontend": {"vlan": 1001}, "backend": {"vlan": 1002}}}})];
        let servers = [json!({"metadata": {"name": "server-1"}})];
        let mut director = Director::new(11);
        let edits: Vec<DriftEdit> = (0..200)
            .map(|_| director.drift_edit(&vpcs, &servers).unwrap())
            .collect();
        assert!(edits.iter().any(|e| e.kind == "Server"));
        for edit in edits.iter().filter(|e| e.kind == "VPC") {
            let subnets = edit.patch["spec"]["subnets"].as_object().unwrap();
            let (subnet, body) = subnets.iter().next().unwrap();
            let vlan = body["vlan"].as_i64().unwrap();
            let old = if subnet == "frontend" { 1001 } else { 1002 };
            assert_ne!(vlan, old, "{edit:?}");
            assert!((1000..3000).contains(&vlan));
        }
        assert_eq!(Director::new(1).drift_edit(&[], &[]), None);
    }
}
