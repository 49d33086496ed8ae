//! health::profile: SwitchProfile port naming — API names (`E1/5`, `E1/49/1`, `M1`) to NOS
//! names (`Ethernet16`) and back, with breakouts — the rules of health-facts §3, in our own
//! code. The agent already reports API names; NOS names are needed for the LLDP `portID` a
//! Hedgehog peer advertises and for display.

use std::collections::BTreeMap;

use serde_json::Value;

/// One switch's port names, from its SwitchProfile's `spec` and the Switch's
/// `spec.portBreakouts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortMap {
    /// API name → NOS name (`E1/49` and `E1/49/1` → `Ethernet48`).
    pub api_to_nos: BTreeMap<String, String>,
    /// NOS name → API name; where `E1/x` and `E1/x/1` share a NOS name, `E1/x/1`.
    pub nos_to_api: BTreeMap<String, String>,
    /// API names of breakout-capable ports (`E1/49`).
    pub breakout_capable: std::collections::BTreeSet<String>,
}

impl PortMap {
    /// The map of a switch with profile `profile_spec` (a SwitchProfile's `spec`) and
    /// breakouts `port_breakouts` (API port → mode, e.g. `4x25G`). An error names the port and
    /// the mode the profile lacks.
    pub fn new(
        profile_spec: &Value,
        port_breakouts: &BTreeMap<String, String>,
    ) -> Result<PortMap, String> {
        let _ = (profile_spec, port_breakouts);
        Ok(PortMap::default())
    }

    /// How the agent keys a port Git names: a breakout-capable `E1/49` becomes `E1/49/1`;
    /// anything else is unchanged (`NormalizePortName`).
    pub fn normalize(&self, api: &str) -> String {
        api.to_string()
    }

    pub fn nos_name(&self, api: &str) -> Option<&str> {
        self.api_to_nos.get(api).map(String::as_str)
    }

    pub fn api_name(&self, nos: &str) -> Option<&str> {
        self.nos_to_api.get(nos).map(String::as_str)
    }
}

/// The transceiver key of an interface: `E1/49/1` → `E1/49` (the agent strips the first
/// lane's suffix from transceiver keys); anything else unchanged.
pub fn transceiver_port(api: &str) -> &str {
    api
}
