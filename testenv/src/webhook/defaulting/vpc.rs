//! VPC defaulting: namespaces, and per subnet the gateway, the DHCP range and options and
//! the static MACs in Go's notation (see the module doc of `defaulting`).

use std::net::Ipv4Addr;

use serde_json::{Map, Value, json};

use super::{
    bool_at, default_string, is_nil, label, number_is_zero, object_entry, sort_strings, str_at,
};

/// An IPv4 prefix as Go's `iputil.ParseCIDR` sees it: the network, its length and the last
/// address.
struct Cidr {
    network: u32,
    bits: u8,
    last: u32,
}

fn parse_cidr(text: &str) -> Option<Cidr> {
    let (addr, bits) = text.split_once('/')?;
    let addr: Ipv4Addr = addr.parse().ok()?;
    let bits: u8 = bits.parse().ok().filter(|b| *b <= 32)?;
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    let network = u32::from(addr) & mask;
    Some(Cidr {
        network,
        bits,
        last: network | !mask,
    })
}

fn ip(addr: u32) -> Value {
    json!(Ipv4Addr::from(addr).to_string())
}

pub(super) fn vpc(spec: &mut Map<String, Value>, labels: &mut Map<String, Value>) -> bool {
    default_string(spec, "ipv4Namespace", "default");
    default_string(spec, "vlanNamespace", "default");
    labels.insert(label("ipv4ns"), str_at(spec, "ipv4Namespace").into());
    labels.insert(label("vlanns"), str_at(spec, "vlanNamespace").into());
    if let Some(Value::Object(subnets)) = spec.get_mut("subnets") {
        for subnet in subnets.values_mut().filter_map(Value::as_object_mut) {
            object_entry(subnet, "dhcp");
            vpc_subnet(subnet);
        }
    }
    true
}

fn vpc_subnet(subnet: &mut Map<String, Value>) {
    let Some(cidr) = parse_cidr(str_at(subnet, "subnet")) else {
        return;
    };
    if str_at(subnet, "gateway").is_empty() && !bool_at(subnet, "hostBGP") {
        subnet.insert("gateway".into(), ip(cidr.network.wrapping_add(1)));
    }
    if cidr.bits > 30 {
        return;
    }
    let dhcp = object_entry(subnet, "dhcp");
    if !bool_at(dhcp, "enable") {
        dhcp.remove("range");
        dhcp.remove("options");
        return;
    }
    let range = object_entry(dhcp, "range");
    default_string(
        range,
        "start",
        &Ipv4Addr::from(cidr.network + 2).to_string(),
    );
    default_string(range, "end", &Ipv4Addr::from(cidr.last).to_string());
    if let Some(options) = dhcp.get_mut("options").and_then(Value::as_object_mut) {
        let sets_nothing = str_at(options, "pxeURL").is_empty()
            && is_nil(options, "dnsServers")
            && is_nil(options, "timeServers")
            && number_is_zero(options, "interfaceMTU")
            && number_is_zero(options, "leaseTimeSeconds")
            && !bool_at(options, "disableDefaultRoute")
            && is_nil(options, "advertisedRoutes");
        if sets_nothing {
            dhcp.remove("options");
            // The real code `continue`s here, past the MAC normalisation.
            return;
        }
        if number_is_zero(options, "interfaceMTU") {
            options.insert("interfaceMTU".into(), json!(9036));
        }
        if number_is_zero(options, "leaseTimeSeconds") {
            options.insert("leaseTimeSeconds".into(), json!(3600));
        }
        for list in ["dnsServers", "timeServers"] {
            let entry = options.entry(list).or_insert_with(|| json!([]));
            if !entry.is_array() {
                *entry = json!([]);
            }
            sort_strings(entry.as_array_mut().expect("just made a list"));
        }
        match options.get_mut("advertisedRoutes") {
            Some(Value::Array(routes)) if !routes.is_empty() => routes.sort_by(|a, b| {
                let key = |r: &Value| {
                    (
                        r["destination"].as_str().unwrap_or("").to_string(),
                        r["gateway"].as_str().unwrap_or("").to_string(),
                    )
                };
                key(a).cmp(&key(b))
            }),
            _ => {
                options.remove("advertisedRoutes");
            }
        }
    }
    if let Some(Value::Object(statics)) = dhcp.get_mut("static") {
        let renamed: Vec<(String, String)> = statics
            .keys()
            .filter_map(|mac| {
                normalise_mac(mac)
                    .filter(|n| n != mac)
                    .map(|n| (mac.clone(), n))
            })
            .collect();
        for (from, to) in renamed {
            if let Some(value) = statics.remove(&from) {
                statics.insert(to, value);
            }
        }
    }
}

/// A 48-bit MAC in any of Go's `net.ParseMAC` notations (`aa:bb:…`, `aa-bb-…`,
/// `aabb.ccdd.eeff`), written as Go prints it: lowercase, colon-separated.
pub(crate) fn normalise_mac(text: &str) -> Option<String> {
    let hex_pairs = |parts: Vec<&str>, width: usize| -> Option<Vec<u8>> {
        let mut bytes = Vec::new();
        for part in parts {
            if part.len() != width || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            for i in (0..width).step_by(2) {
                bytes.push(u8::from_str_radix(&part[i..i + 2], 16).ok()?);
            }
        }
        Some(bytes)
    };
    let bytes = if text.len() == 17 && text.contains(':') {
        hex_pairs(text.split(':').collect(), 2)?
    } else if text.len() == 17 && text.contains('-') {
        hex_pairs(text.split('-').collect(), 2)?
    } else if text.len() == 14 && text.contains('.') {
        hex_pairs(text.split('.').collect(), 4)?
    } else {
        return None;
    };
    (bytes.len() == 6).then(|| {
        bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    })
}

#[cfg(test)]
mod tests {
    use super::super::defaulted;
    use super::*;

    #[test]
    fn vpc_gets_namespaces_gateway_dhcp_range_and_its_labels_only() {
        let vpc = defaulted(
            "VPC",
            json!({"metadata": {"name": "v", "namespace": "default", "labels": {
                "fabric.githedgehog.com/ipv4ns": "other", "team": "a",
                "x.fabric.githedgehog.com/y": "true"}},
              "spec": {"subnets": {
                "a": {"subnet": "10.10.1.0/24", "vlan": 1001, "dhcp": {"enable": true}},
                "b": {"subnet": "10.10.2.0/24", "vlan": 1002,
                      "dhcp": {"range": {"start": "10.10.2.10"}, "options": {"dnsServers": ["9.9.9.9"]}}},
                "c": {"subnet": "10.10.3.0/24", "vlan": 1003, "hostBGP": true},
                "d": {"subnet": "10.10.4.0/24", "vlan": 1004, "gateway": "10.10.4.254",
                      "dhcp": {"enable": true, "range": {"end": "10.10.4.99"},
                               "options": {"dnsServers": ["9.9.9.9", "1.1.1.1"], "leaseTimeSeconds": 60}}}}}}),
        );
        assert_eq!(
            vpc["metadata"]["labels"],
            json!({"team": "a", "fabric.githedgehog.com/ipv4ns": "default",
                   "fabric.githedgehog.com/vlanns": "default"})
        );
        let spec = &vpc["spec"];
        assert_eq!(spec["ipv4Namespace"], "default");
        assert_eq!(spec["vlanNamespace"], "default");
        let a = &spec["subnets"]["a"];
        assert_eq!(a["gateway"], "10.10.1.1");
        assert_eq!(
            a["dhcp"],
            json!({"enable": true, "range": {"start": "10.10.1.2", "end": "10.10.1.255"}})
        );
        // DHCP off: range and options go.
        assert_eq!(spec["subnets"]["b"]["dhcp"], json!({}));
        // hostBGP: no gateway; DHCP materialised as {}.
        assert_eq!(spec["subnets"]["c"].get("gateway"), None);
        assert_eq!(spec["subnets"]["c"]["dhcp"], json!({}));
        let d = &spec["subnets"]["d"];
        assert_eq!(d["gateway"], "10.10.4.254");
        assert_eq!(
            d["dhcp"],
            json!({"enable": true, "range": {"start": "10.10.4.2", "end": "10.10.4.99"},
                   "options": {"dnsServers": ["1.1.1.1", "9.9.9.9"], "timeServers": [],
                               "interfaceMTU": 9036, "leaseTimeSeconds": 60}})
        );
    }

    #[test]
    fn vpc_options_that_set_nothing_are_removed_and_macs_normalised() {
        let vpc = defaulted(
            "VPC",
            json!({"metadata": {"name": "v"}, "spec": {"subnets": {
                "a": {"subnet": "10.0.0.0/24", "dhcp": {"enable": true, "options": {},
                      "static": {"AA:BB:CC:DD:EE:FF": {"ip": "10.0.0.9"}}}},
                "b": {"subnet": "10.0.1.0/24", "dhcp": {"enable": true, "options": {"pxeURL": "tftp://x"},
                      "static": {"AA-BB-CC-DD-EE-01": {"ip": "10.0.1.9"}, "aabb.ccdd.ee02": {"ip": "10.0.1.8"}}}},
                "c": {"subnet": "10.0.2.8/31", "dhcp": {"enable": false, "range": {"start": "x"}}}}}}),
        );
        assert_eq!(vpc["metadata"]["namespace"], "default");
        let a = &vpc["spec"]["subnets"]["a"]["dhcp"];
        assert_eq!(a.get("options"), None);
        // The real code skips the normalisation after removing empty options.
        assert_eq!(
            a["static"],
            json!({"AA:BB:CC:DD:EE:FF": {"ip": "10.0.0.9"}})
        );
        let b = &vpc["spec"]["subnets"]["b"]["dhcp"];
        assert_eq!(
            b["static"],
            json!({"aa:bb:cc:dd:ee:01": {"ip": "10.0.1.9"}, "aa:bb:cc:dd:ee:02": {"ip": "10.0.1.8"}})
        );
        assert_eq!(b["options"]["interfaceMTU"], 9036);
        assert_eq!(b["options"]["dnsServers"], json!([]));
        // Longer than /30: gateway only, DHCP left alone.
        let c = &vpc["spec"]["subnets"]["c"];
        assert_eq!(c["gateway"], "10.0.2.9");
        assert_eq!(c["dhcp"]["range"]["start"], "x");
    }

    #[test]
    fn macs_in_go_notations() {
        assert_eq!(
            normalise_mac("0C:20:12:FF:02:00").as_deref(),
            Some("0c:20:12:ff:02:00")
        );
        assert_eq!(
            normalise_mac("0c20.12ff.0200").as_deref(),
            Some("0c:20:12:ff:02:00")
        );
        assert_eq!(normalise_mac("not-a-mac"), None);
    }
}
