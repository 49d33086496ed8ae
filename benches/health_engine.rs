//! The engine's health work at fabric scale: 100 switches (10 spines, 90 leaves) with 64 ports
//! each, every agent rewriting its whole status every 15 s like a real one — traffic and error
//! counters, LLDP, BGP and BFD, a transceiver per port, platform sensors, critical resources.
//! Run: `cargo bench --bench health_engine`.
//!
//! Measured: (i) one heartbeat round — each full status cut down (`keep_live_fields`), folded
//! into the live state (the no-churn comparison included), fed to the flap history, and the
//! fabric judged once — reported as the share of one core at one round per 15 s, and with the
//! engine's worst case (reports arriving all the time, the fabric judged once a second; goal
//! < 5 %);
//! (ii) the bytes the no-churn rule lets through to the store per minute (4 rounds), beside
//! what storing every report would cost.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use hhdash::config::Namespaces;
use hhdash::drift::DriftIndex;
use hhdash::engine::live::{Burst, LiveState};
use hhdash::health::Thresholds;
use hhdash::health::intent::{self, FabricIntent};
use hhdash::health::judge::{self, FlapHistory, Observed};
use hhdash::kinds::{self, ObjectKey};
use hhdash::store::LiveChange;
use kube::runtime::watcher::Event as WatchEvent;
use serde_json::{Map, Value, json};

const SPINES: usize = 10;
const LEAVES: usize = 90;
const PORTS: usize = 64;
const HEARTBEAT_SECS: i64 = 15;
const START: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn switch_name(i: usize) -> String {
    if i < SPINES {
        format!("spine-{}", i + 1)
    } else {
        format!("leaf-{}", i - SPINES + 1)
    }
}

/// The wiring in Git: each leaf uplinks to two spines (E1/63, E1/64) and serves 60 servers.
fn desired() -> Vec<Value> {
    let mut objects = Vec::new();
    for i in 0..SPINES + LEAVES {
        objects.push(
            json!({"apiVersion": "wiring.githedgehog.com/v1beta1", "kind": "Switch",
            "metadata": {"name": switch_name(i), "namespace": "default"},
            "spec": {"role": if i < SPINES { "spine" } else { "server-leaf" }, "profile": "p64",
                     "asn": 65100 + i, "protocolIP": format!("172.30.8.{i}/32")}}),
        );
    }
    let mut spine_ports = [0usize; SPINES];
    for leaf in 0..LEAVES {
        let name = switch_name(SPINES + leaf);
        for (uplink, spine) in [(63, leaf % SPINES), (64, (leaf + 1) % SPINES)] {
            spine_ports[spine] += 1;
            let subnet = leaf * 2 + (uplink - 63);
            objects.push(json!({"apiVersion": "wiring.githedgehog.com/v1beta1",
                "kind": "Connection",
                "metadata": {"name": format!("{}--fabric--{name}-{uplink}", switch_name(spine)),
                             "namespace": "default"},
                "spec": {"fabric": {"links": [{
                    "spine": {"port": format!("{}/E1/{}", switch_name(spine), spine_ports[spine]),
                              "ip": format!("172.30.{}.{}/31", 128 + subnet / 128, (subnet % 128) * 2)},
                    "leaf": {"port": format!("{name}/E1/{uplink}"),
                             "ip": format!("172.30.{}.{}/31", 128 + subnet / 128, (subnet % 128) * 2 + 1)}}]}}}));
        }
        for port in 1..=60 {
            objects.push(json!({"apiVersion": "wiring.githedgehog.com/v1beta1",
                "kind": "Connection",
                "metadata": {"name": format!("server-{leaf}-{port}--unbundled--{name}"),
                             "namespace": "default"},
                "spec": {"unbundled": {"link": {
                    "server": {"port": format!("server-{leaf}-{port}/enp2s1")},
                    "switch": {"port": format!("{name}/E1/{port}")}}}}}));
        }
    }
    objects
}

fn profile() -> Value {
    let mut ports = Map::new();
    for n in 1..=PORTS {
        ports.insert(
            format!("E1/{n}"),
            json!({"nos": format!("Ethernet{}", n - 1), "profile": "SFP28-25G"}),
        );
    }
    json!({"apiVersion": "wiring.githedgehog.com/v1beta1", "kind": "SwitchProfile",
           "metadata": {"name": "p64", "namespace": "default"},
           "spec": {"ports": ports, "portProfiles": {"SFP28-25G": {}}}})
}

fn rfc3339(secs: i64) -> String {
    hhdash::time::format_rfc3339(secs)
}

/// A full Agent as a real agent writes it at `now` (round `round`): every port with its
/// counters, LLDP where cabled, a transceiver per port, BGP and BFD per expected session,
/// platform and critical resources — and the spec's users.
fn full_agent(name: &str, intent: &FabricIntent, round: i64, now: i64) -> Value {
    let node = &intent.switches[name];
    let mut interfaces = Map::new();
    let mut transceivers = Map::new();
    for n in 1..=PORTS {
        let port = format!("E1/{n}");
        let link = node.ports.get(&port);
        let moving = round as u64 * 1_000_003 + n as u64;
        let neighbors = match link {
            Some(link) if !link.remote.device.is_empty() => vec![json!({
                "sysName": link.remote.device, "sysDescr": "Hedgehog Fabric",
                "portID": link.remote.port, "portDescr": "", "chassisID": "0c:20:12:fe:00:01",
                "mgmtIP": "172.30.0.8", "autoNeg": {"enabled": true, "supported": true}})],
            _ => Vec::new(),
        };
        interfaces.insert(port.clone(), json!({
            "enabled": true, "admin": "up", "oper": if link.is_some() { "up" } else { "down" },
            "mtu": 9100, "speed": "25G", "autoNegotiate": false, "change": rfc3339(START - 86_400),
            "counters": {"inb": moving * 1500, "inbps": (moving % 977) as f64 * 1.5,
                "ind": moving % 7, "ine": moving % 3, "inpkts": moving, "inpps": (moving % 101) as f64,
                "outb": moving * 1400, "outbps": (moving % 991) as f64 * 1.25, "outd": 0, "oute": 0,
                "outpkts": moving, "outpps": (moving % 97) as f64, "lastClear": rfc3339(START - 86_400),
                "inucast": moving, "inmcast": moving / 10, "inbcast": moving / 100,
                "outucast": moving, "outmcast": moving / 10, "outbcast": moving / 100},
            "lldpNeighbors": neighbors}));
        let wobble = (round % 5) as f64 * 0.03;
        let channels: Map<String, Value> = (0..4)
            .map(|lane| {
                (
                    lane.to_string(),
                    json!({"in": -2.5 - wobble, "out": -1.9 + wobble,
                                                   "bias": 6.4 + wobble}),
                )
            })
            .collect();
        transceivers.insert(
            port,
            json!({"descr": "SFP28 25GBASE-SR", "type": "SFP28",
            "formFactor": "SFP28", "connectorType": "LC", "oper": "up", "present": "PRESENT",
            "cableClass": "FIBER", "mfgDate": "2023-04-01", "vendor": "ACME", "vendorPart": "SR-25",
            "vendorOUI": "00:90:65", "vendorRev": "A", "serial": format!("SN{n:06}"),
            "temp": 38.5 + wobble, "voltage": 3.29, "channels": channels}),
        );
    }
    let mut bgp = Map::new();
    let mut bfd = Map::new();
    for ((vrf, ip), session) in &node.bgp {
        let sessions = bgp.entry(vrf.clone()).or_insert_with(|| json!({}));
        sessions[ip] = json!({"state": "established", "enabled": true,
            "peerAS": session.remote_as.unwrap_or(0), "localAS": node.asn.unwrap_or(0),
            "peerType": "external", "remoteRouterID": ip, "keepalive": 3, "holdTime": 9,
            "lastEstab": rfc3339(START - 86_400 + round % 2), "estabTrans": 1,
            "lastRead": rfc3339(now - 1), "lastWrite": rfc3339(now - 2),
            "messages": {"received": {"keepalive": round * 5, "update": 40, "open": 1},
                         "sent": {"keepalive": round * 5, "update": 38, "open": 1}},
            "ipv4Unicast": {"enabled": true, "received": 120 + round % 3, "sent": 118,
                            "prefixes": 120}});
        if session.bfd {
            let peers = bfd.entry(vrf.clone()).or_insert_with(|| json!({}));
            peers[ip] = json!({"state": "up", "lastUpTime": rfc3339(START - 86_400),
                               "fails": 0, "localDiscr": 1, "remoteDiscr": 2});
        }
    }
    let fans: Map<String, Value> = (1..=6)
        .map(|f| {
            (
                format!("Fantray{f}_1"),
                json!({"dir": "EXHAUST", "speed": 9_800.0 + (round % 7) as f64 * 40.0,
                                                   "presence": true, "status": true}),
            )
        })
        .collect();
    let temps: Map<String, Value> = (1..=10)
        .map(|t| {
            (
                format!("Temp {t}"),
                json!({"temp": 41.0 + (round % 4) as f64 * 0.5,
                                               "highThreshold": 80.0, "criticalHighThreshold": 90.0,
                                               "alarms": ""}),
            )
        })
        .collect();
    let stats: Map<String, Value> = [
        "ipv4Routes",
        "ipv6Routes",
        "ipv4Nexthops",
        "fdbEntries",
        "ipv4Neighbors",
        "nexthopGroupMembers",
        "aclTable",
        "aclGroup",
    ]
    .iter()
    .flat_map(|r| {
        [
            (format!("{r}Used"), json!(1_000 + round % 5)),
            (format!("{r}Available"), json!(31_000)),
        ]
    })
    .collect();
    json!({
        "apiVersion": "agent.githedgehog.com/v1beta1", "kind": "Agent",
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"),
                     "resourceVersion": format!("{}", 1_000 + round), "generation": 3,
                     "creationTimestamp": rfc3339(START - 864_000)},
        "spec": {"role": "server-leaf", "users": [{"name": "admin", "password": "$5$hash",
                                                   "sshKeys": ["ssh-ed25519 AAAA"]}]},
        "status": {"lastHeartbeat": rfc3339(now), "lastAppliedGen": 3, "lastAttemptGen": 3,
            "lastAppliedTime": rfc3339(START - 3_600), "lastAttemptTime": rfc3339(START - 3_600),
            "version": "v0.96.2", "runID": "abc",
            "state": {"nos": {"softwareVersion": "4.5.0", "platformName": "x86_64-vs",
                              "serialNumber": "VS0001", "uptime": rfc3339(now - 864_000)},
                      "interfaces": interfaces, "transceivers": transceivers,
                      "bgpNeighbors": bgp, "bfdPeers": bfd,
                      "platform": {"fans": fans, "psus": {
                          "PSU 1": {"presence": true, "status": true, "inPower": 180.0 + wobble(round), "outPower": 160.0},
                          "PSU 2": {"presence": true, "status": true, "inPower": 176.0, "outPower": 158.0}},
                          "temps": temps},
                      "criticalResources": {"stats": stats}}}})
}

fn wobble(round: i64) -> f64 {
    (round % 3) as f64 * 2.0
}

/// Everything one fabric engine keeps for health.
struct Engine {
    live: LiveState,
    index: DriftIndex,
    flaps: FlapHistory,
    intent: FabricIntent,
    profiles: Vec<Value>,
    thresholds: Thresholds,
    port_maps: judge::PortMaps,
    cache: judge::JudgeCache,
}

impl Engine {
    fn new(intent: FabricIntent) -> Engine {
        Engine {
            live: LiveState::new(&Namespaces::single("default")),
            index: DriftIndex::new(None),
            flaps: FlapHistory::default(),
            intent,
            profiles: vec![
                kinds::by_kind("SwitchProfile")
                    .unwrap()
                    .keep_live_fields(profile()),
            ],
            thresholds: Thresholds::default(),
            port_maps: judge::PortMaps::default(),
            cache: judge::JudgeCache::default(),
        }
        .with_port_maps()
    }

    fn with_port_maps(mut self) -> Engine {
        let profiles: Vec<&Value> = self.profiles.iter().collect();
        self.port_maps = judge::PortMaps::build(&self.intent, &profiles);
        self
    }

    /// One heartbeat round: each full report cut down, folded, observed; then one judgement.
    /// Returns the round's burst (what the store would be sent) and every compact report.
    fn round(&mut self, reports: Vec<Value>, now: i64) -> (Burst, Vec<Arc<Value>>) {
        let folded = self.fold(reports, now);
        black_box(self.judge(now));
        folded
    }

    /// Each full report cut down, folded into the live state, observed by the flap history.
    fn fold(&mut self, reports: Vec<Value>, now: i64) -> (Burst, Vec<Arc<Value>>) {
        let info = kinds::by_kind("Agent").unwrap();
        let namespace: Arc<str> = Arc::from("default");
        let mut burst = Burst::default();
        let mut compacts = Vec::new();
        for full in reports {
            let compact = Arc::new(info.keep_live_fields(full));
            compacts.push(compact.clone());
            let key = ObjectKey {
                kind: "Agent".into(),
                namespace: "default".into(),
                name: compact["metadata"]["name"].as_str().unwrap().into(),
            };
            self.live.fold(
                &mut self.index,
                info,
                &namespace,
                WatchEvent::Apply((key, hhdash::object::Object::new(&compact))),
                now,
                &mut burst,
            );
        }
        for report in &burst.agent_reports {
            self.flaps
                .observe(report, now, self.thresholds.flap_window_secs);
        }
        (burst, compacts)
    }

    /// One judgement of the whole fabric, as the engine makes it: through its cache, so only
    /// the switches with a new report are judged again.
    fn judge(&mut self, now: i64) -> Vec<hhdash::health::SwitchHealth> {
        let agents: Vec<&Value> = self.live.read_only.values().map(|v| v.as_ref()).collect();
        let profiles: Vec<&Value> = self.profiles.iter().collect();
        judge::judge_fabric_cached(
            &self.intent,
            Observed {
                agents: &agents,
                gateway_agents: &[],
                switch_profiles: &profiles,
            },
            &self.port_maps,
            &self.flaps,
            &self.thresholds,
            now,
            1,
            &mut self.cache,
        )
    }
}

/// Bytes of the objects a burst sends to the store, and of every report of the round.
fn bytes((burst, compacts): &(Burst, Vec<Arc<Value>>)) -> (usize, usize) {
    let size = |object: &Value| serde_json::to_vec(object).unwrap().len();
    let written = burst
        .changes
        .iter()
        .map(|change| match change {
            LiveChange::Upsert { object, .. } => object.len(),
            LiveChange::Delete { .. } => 0,
        })
        .sum();
    (written, compacts.iter().map(|c| size(c)).sum())
}

fn reports(intent: &FabricIntent, round: i64) -> Vec<Value> {
    let now = START + round * HEARTBEAT_SECS;
    (0..SPINES + LEAVES)
        .map(|i| full_agent(&switch_name(i), intent, round, now))
        .collect()
}

fn bench(c: &mut Criterion) {
    let desired = desired();
    let intent = intent::derive(desired.iter());
    // The switch names the reports use must be the intent's: with an empty intent (no Git),
    // the reports still carry every port, only without LLDP and BGP.
    let intent = if intent.switches.is_empty() {
        let mut fallback = FabricIntent::default();
        for i in 0..SPINES + LEAVES {
            fallback.switches.insert(switch_name(i), Default::default());
        }
        fallback
    } else {
        intent
    };
    let sample = serde_json::to_vec(&full_agent("leaf-1", &intent, 0, START)).unwrap();
    let compact = serde_json::to_vec(
        &kinds::by_kind("Agent")
            .unwrap()
            .keep_live_fields(full_agent("leaf-1", &intent, 0, START)),
    )
    .unwrap();

    // (ii) Store bytes per minute: a first round (stored whole), then a minute of rounds.
    let mut engine = Engine::new(intent.clone());
    engine.round(reports(&intent, 0), START);
    let (mut written, mut offered) = (0, 0);
    let mut writes = Vec::new();
    for round in 1..=4 {
        let result = engine.round(reports(&intent, round), START + round * HEARTBEAT_SECS);
        writes.push(result.0.changes.len());
        let (w, all) = bytes(&result);
        written += w;
        offered += all;
    }

    // (i) One round's engine work, timed directly (the reports built outside the timing).
    let mut engine = Engine::new(intent.clone());
    engine.round(reports(&intent, 0), START);
    let mut spent = Duration::ZERO;
    let rounds = 20;
    for round in 1..=rounds {
        let batch = reports(&intent, round);
        let started = Instant::now();
        engine.round(batch, START + round * HEARTBEAT_SECS);
        spent += started.elapsed();
    }
    let per_round = spent / rounds as u32;
    let cpu = per_round.as_secs_f64() / HEARTBEAT_SECS as f64 * 100.0;
    // The engine judges at most once a second, and only the switches with a new report:
    // with 100 agents reporting every 15 s, about 7 a second. Timed: 7 new reports folded,
    // then that second's judgement.
    let switches = SPINES + LEAVES;
    let per_second = switches.div_ceil(HEARTBEAT_SECS as usize);
    let mut judging = Duration::ZERO;
    let mut full = Duration::ZERO;
    let base = START + (rounds + 1) * HEARTBEAT_SECS;
    let seconds = 2 * HEARTBEAT_SECS;
    for second in 0..seconds {
        let now = base + second;
        let round = rounds + 1 + second / HEARTBEAT_SECS;
        let batch: Vec<Value> = (0..switches)
            .filter(|i| (*i as i64) % HEARTBEAT_SECS == second % HEARTBEAT_SECS)
            .map(|i| full_agent(&switch_name(i), &intent, round, now))
            .collect();
        engine.fold(batch, now);
        let started = Instant::now();
        black_box(engine.judge(now));
        judging += started.elapsed();
    }
    let rounds_timed = seconds;
    let per_judgement = judging / rounds_timed as u32;
    // A whole fabric judged afresh (a sync changed the intent): every switch again.
    for _ in 0..3 {
        engine.cache = judge::JudgeCache::default();
        let started = Instant::now();
        black_box(engine.judge(base + seconds));
        full += started.elapsed();
    }
    let per_full = full / 3;
    let folding = per_round.saturating_sub(per_full);
    let worst =
        (folding.as_secs_f64() / HEARTBEAT_SECS as f64 + per_judgement.as_secs_f64()) * 100.0;
    println!();
    println!(
        "health engine, {} switches x {PORTS} ports, a round every {HEARTBEAT_SECS}s",
        SPINES + LEAVES
    );
    println!(
        "  full Agent status (as written)      {:>10} bytes",
        sample.len()
    );
    println!(
        "  compact (kept, stored)              {:>10} bytes",
        compact.len()
    );
    println!(
        "  engine work per round               {:>10.2} ms",
        per_round.as_secs_f64() * 1e3
    );
    println!(
        "  judge all 100 afresh                {:>10.2} ms",
        per_full.as_secs_f64() * 1e3
    );
    println!(
        "  judge a second's {per_second} new reports     {:>10.2} ms",
        per_judgement.as_secs_f64() * 1e3
    );
    println!("  CPU, one core, one judgement/round  {:>10.3} %", cpu);
    println!(
        "  CPU, one core, as the engine runs   {:>10.3} %   (folding + a judgement a second; goal < 5 %)",
        worst
    );
    println!(
        "  store bytes per minute, no-churn    {:>10} bytes (objects written per round: {writes:?})",
        written
    );
    println!(
        "  store bytes per minute, every report{:>10} bytes",
        offered
    );
    println!();

    let mut group = c.benchmark_group("health_engine");
    group.sample_size(10);
    let mut round = 100;
    group.bench_function("heartbeat_round_100x64", |b| {
        b.iter_batched(
            || {
                round += 1;
                (reports(&intent, round), START + round * HEARTBEAT_SECS)
            },
            |(batch, now)| engine.round(batch, now),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
