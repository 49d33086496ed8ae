//! health::profile: SwitchProfile port naming — API names (`E1/5`, `E1/49/1`, `M1`) to NOS
//! names (`Ethernet16`) and back, with breakouts — the rules of health-facts §3, in our own
//! code. The agent already reports API names; NOS names are needed for the LLDP `portID` a
//! Hedgehog peer advertises and for display.

use std::collections::{BTreeMap, BTreeSet};

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
    pub breakout_capable: BTreeSet<String>,
}

/// The NOS name prefix of data ports; a breakout lane is `Ethernet<base + offset>`.
const ETHERNET: &str = "Ethernet";

impl PortMap {
    /// The map of a switch with profile `profile_spec` (a SwitchProfile's `spec`) and
    /// breakouts `port_breakouts` (API port → mode, e.g. `4x25G`). An error names the port and
    /// the mode the profile lacks.
    pub fn new(
        profile_spec: &Value,
        port_breakouts: &BTreeMap<String, String>,
    ) -> Result<PortMap, String> {
        let mut map = PortMap::default();
        let Some(ports) = profile_spec.get("ports").and_then(Value::as_object) else {
            return Ok(map);
        };
        let port_profiles = profile_spec.get("portProfiles");
        for (api, port) in ports {
            let nos = port.get("nos").and_then(Value::as_str).unwrap_or_default();
            let management = port
                .get("management")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let breakout = port
                .get("profile")
                .and_then(Value::as_str)
                .and_then(|profile| port_profiles?.get(profile)?.get("breakout"))
                .filter(|_| !management);
            let Some(breakout) = breakout else {
                map.api_to_nos.insert(api.clone(), nos.to_string());
                continue;
            };
            map.breakout_capable.insert(api.clone());
            let mode = port_breakouts
                .get(api)
                .map(String::as_str)
                .or_else(|| breakout.get("default").and_then(Value::as_str))
                .ok_or_else(|| format!("port {api}: no breakout mode and no default"))?;
            let offsets = breakout
                .pointer(&format!(
                    "/supported/{}",
                    mode.replace('~', "~0").replace('/', "~1")
                ))
                .map(|supported| supported.get("offsets").and_then(Value::as_array))
                .ok_or_else(|| format!("port {api}: breakout mode {mode} is not supported"))?
                .cloned()
                .unwrap_or_default();
            let base_name = port
                .get("baseNOSName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let base: u32 = base_name
                .strip_prefix(ETHERNET)
                .and_then(|number| number.parse().ok())
                .ok_or_else(|| {
                    format!("port {api}: baseNOSName {base_name:?} is not Ethernet<n>")
                })?;
            for (lane, offset) in offsets.iter().enumerate() {
                let offset: u32 = match offset {
                    Value::String(text) => text.parse().ok(),
                    Value::Number(number) => number.as_u64().map(|n| n as u32),
                    _ => None,
                }
                .ok_or_else(|| format!("port {api}: breakout offset {offset} is not a number"))?;
                let lane_nos = format!("{ETHERNET}{}", base + offset);
                if lane == 0 {
                    map.api_to_nos.insert(api.clone(), lane_nos.clone());
                }
                map.api_to_nos
                    .insert(format!("{api}/{}", lane + 1), lane_nos);
            }
        }
        for (api, nos) in &map.api_to_nos {
            // `E1/x` and `E1/x/1` share lane 0's name: the lane (more slashes) wins.
            let wins = map
                .nos_to_api
                .get(nos)
                .is_none_or(|known| api.matches('/').count() > known.matches('/').count());
            if wins {
                map.nos_to_api.insert(nos.clone(), api.clone());
            }
        }
        Ok(map)
    }

    /// How the agent keys a port Git names: a breakout-capable `E1/49` becomes `E1/49/1`;
    /// anything else is unchanged (`NormalizePortName`).
    pub fn normalize(&self, api: &str) -> String {
        if self.breakout_capable.contains(api) {
            format!("{api}/1")
        } else {
            api.to_string()
        }
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
    match api.strip_suffix("/1") {
        Some(port) if port.matches('/').count() == 1 => port,
        _ => api,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A few ports of `dell-s5248f-on` (health-facts §3d): management, plain SFP28 ports, and
    /// QSFP28 breakout-capable ports.
    fn dell_s5248f_on() -> Value {
        json!({
            "ports": {
                "M1": {"nos": "Management0", "management": true},
                "E1/1": {"nos": "Ethernet0", "group": "1", "label": "1"},
                "E1/5": {"nos": "Ethernet4", "group": "2", "label": "5"},
                "E1/48": {"nos": "Ethernet47", "group": "12", "label": "48"},
                "E1/49": {"nos": "1/49", "baseNOSName": "Ethernet48", "profile": "QSFP28-100G", "label": "49"},
                "E1/56": {"nos": "1/56", "baseNOSName": "Ethernet76", "profile": "QSFP28-100G", "label": "56"}
            },
            "portProfiles": {
                "SFP28-25G": {"speed": {"default": "25G", "supported": ["10G", "25G"]}},
                "QSFP28-100G": {"breakout": {"default": "1x100G", "supported": {
                    "1x100G": {"offsets": ["0"]},
                    "1x40G": {"offsets": ["0"]},
                    "2x50G": {"offsets": ["0", "2"]},
                    "4x25G": {"offsets": ["0", "1", "2", "3"]},
                    "4x10G": {"offsets": ["0", "1", "2", "3"]}
                }}}
            }
        })
    }

    /// A few ports of `dell-s5232f-on`: QSFP28 breakout ports and the two `-nb` SFP28 ports.
    fn dell_s5232f_on() -> Value {
        json!({
            "ports": {
                "M1": {"nos": "Management0", "management": true},
                "E1/1": {"nos": "1/1", "baseNOSName": "Ethernet0", "profile": "QSFP28-100G"},
                "E1/5": {"nos": "1/5", "baseNOSName": "Ethernet16", "profile": "QSFP28-100G"},
                "E1/32": {"nos": "Ethernet124", "profile": "SFP28-25G-nb"},
                "E1/33": {"nos": "Ethernet128", "profile": "SFP28-10G-nb"}
            },
            "portProfiles": {
                "SFP28-25G-nb": {"speed": {"default": "25G", "supported": ["10G", "25G"]}},
                "SFP28-10G-nb": {"speed": {"default": "10G", "supported": ["1G", "10G"]}},
                "QSFP28-100G": {"breakout": {"default": "1x100G", "supported": {
                    "1x100G": {"offsets": ["0"]},
                    "2x50G": {"offsets": ["0", "2"]},
                    "4x25G": {"offsets": ["0", "1", "2", "3"]}
                }}}
            }
        })
    }

    /// `vs`: the S5248F ports without the breakout-capable ones.
    fn vs() -> Value {
        let mut ports = serde_json::Map::new();
        ports.insert(
            "M1".into(),
            json!({"nos": "Management0", "management": true}),
        );
        for n in 1..=48 {
            ports.insert(
                format!("E1/{n}"),
                json!({"nos": format!("Ethernet{}", n - 1)}),
            );
        }
        json!({"ports": ports, "portProfiles": {"SFP28-25G": {"speed": {"default": "25G"}}}})
    }

    fn breakouts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(port, mode)| (port.to_string(), mode.to_string()))
            .collect()
    }

    #[test]
    fn s5248f_default_breakout_names_lane_one_and_the_port() {
        let map = PortMap::new(&dell_s5248f_on(), &BTreeMap::new()).unwrap();
        assert_eq!(map.nos_name("M1"), Some("Management0"));
        assert_eq!(map.nos_name("E1/5"), Some("Ethernet4"));
        assert_eq!(map.nos_name("E1/49"), Some("Ethernet48"));
        assert_eq!(map.nos_name("E1/49/1"), Some("Ethernet48"));
        assert_eq!(map.nos_name("E1/49/2"), None);
        assert_eq!(map.nos_name("E1/56/1"), Some("Ethernet76"));
        // The lane wins the way back, as the agent keys it.
        assert_eq!(map.api_name("Ethernet48"), Some("E1/49/1"));
        assert_eq!(map.api_name("Ethernet4"), Some("E1/5"));
        assert_eq!(map.api_name("Management0"), Some("M1"));
        assert_eq!(
            map.breakout_capable,
            BTreeSet::from(["E1/49".to_string(), "E1/56".to_string()])
        );
        assert_eq!(map.normalize("E1/49"), "E1/49/1");
        assert_eq!(map.normalize("E1/49/1"), "E1/49/1");
        assert_eq!(map.normalize("E1/5"), "E1/5");
        assert_eq!(map.normalize("M1"), "M1");
        assert_eq!(transceiver_port(&map.normalize("E1/49")), "E1/49");
    }

    #[test]
    fn s5248f_4x25g_gives_four_consecutive_lanes() {
        let map = PortMap::new(&dell_s5248f_on(), &breakouts(&[("E1/49", "4x25G")])).unwrap();
        for (lane, nos) in ["Ethernet48", "Ethernet49", "Ethernet50", "Ethernet51"]
            .iter()
            .enumerate()
        {
            let api = format!("E1/49/{}", lane + 1);
            assert_eq!(map.nos_name(&api), Some(*nos));
            assert_eq!(map.api_name(nos), Some(api.as_str()));
        }
        assert_eq!(map.nos_name("E1/49/5"), None);
        // The other breakout port keeps its default.
        assert_eq!(map.nos_name("E1/56/1"), Some("Ethernet76"));
        assert_eq!(map.nos_name("E1/56/2"), None);
    }

    #[test]
    fn s5232f_port_5_is_ethernet16_and_2x50g_uses_offsets_0_and_2() {
        let map = PortMap::new(&dell_s5232f_on(), &BTreeMap::new()).unwrap();
        assert_eq!(map.normalize("E1/5"), "E1/5/1");
        assert_eq!(map.nos_name("E1/5/1"), Some("Ethernet16"));
        assert_eq!(map.api_name("Ethernet16"), Some("E1/5/1"));
        assert_eq!(map.nos_name("E1/32"), Some("Ethernet124"));
        assert_eq!(map.nos_name("E1/33"), Some("Ethernet128"));
        assert_eq!(map.normalize("E1/33"), "E1/33");

        let split = PortMap::new(&dell_s5232f_on(), &breakouts(&[("E1/5", "2x50G")])).unwrap();
        assert_eq!(split.nos_name("E1/5/1"), Some("Ethernet16"));
        assert_eq!(split.nos_name("E1/5/2"), Some("Ethernet18"));
        assert_eq!(split.api_name("Ethernet18"), Some("E1/5/2"));
        assert_eq!(split.api_name("Ethernet17"), None);
    }

    #[test]
    fn an_unsupported_breakout_mode_is_an_error_naming_port_and_mode() {
        let error = PortMap::new(&dell_s5232f_on(), &breakouts(&[("E1/5", "8x10G")])).unwrap_err();
        assert!(error.contains("E1/5"), "{error}");
        assert!(error.contains("8x10G"), "{error}");
    }

    #[test]
    fn vs_has_no_breakout_ports() {
        let map = PortMap::new(&vs(), &BTreeMap::new()).unwrap();
        assert!(map.breakout_capable.is_empty());
        assert_eq!(map.normalize("E1/5"), "E1/5");
        assert_eq!(map.nos_name("E1/5"), Some("Ethernet4"));
        assert_eq!(map.api_name("Ethernet4"), Some("E1/5"));
        assert_eq!(map.api_name("Ethernet0"), Some("E1/1"));
        assert_eq!(map.api_name("Ethernet47"), Some("E1/48"));
        assert_eq!(map.api_name("Ethernet48"), None);
        assert_eq!(map.api_name("Management0"), Some("M1"));
    }

    #[test]
    fn transceiver_port_strips_only_a_third_segment_of_1() {
        assert_eq!(transceiver_port("E1/49/1"), "E1/49");
        assert_eq!(transceiver_port("E1/49/2"), "E1/49/2");
        assert_eq!(transceiver_port("E1/1"), "E1/1");
        assert_eq!(transceiver_port("E1/11"), "E1/11");
        assert_eq!(transceiver_port("M1"), "M1");
    }
}
