//! The fabric simulator's health faults seen through hhdash, end to end on the real control
//! plane: the example fabric applied from Git by the engine, the simulator playing controller
//! and agents (statuses derived from the wiring in the cluster, SwitchProfile `vs`), and each
//! injected fault — a BGP session dropping, a miswire, a flapping port, a failed PSU, an optic
//! with low receive power, critical resources near full — producing its verdict and its event
//! line on exactly that switch, and clearing when the fault clears.

use crate::common;
use crate::health::{all_healthy, desired_intent, example_fabric, lines_about, node, until};

use std::time::Duration;

use hhdash::engine::EngineEvent;
use hhdash::health::{Level, Signal};
use hhdash::status::WatchState;
use testenv::Identity;
use testenv::sim::{HealthFault, SimConfig, Simulator};
use tokio::sync::oneshot;

/// The signal and level a fault must show as, and whether its reason stays put between
/// heartbeats (a flapping port is down at one heartbeat and up at the next).
fn expected(fault: HealthFault) -> (Signal, Level) {
    match fault {
        HealthFault::BgpDown => (Signal::Bgp, Level::Unhealthy),
        HealthFault::Miswire => (Signal::Lldp, Level::Unhealthy),
        HealthFault::Flap => (Signal::Port, Level::Warning),
        HealthFault::PsuFailed => (Signal::Platform, Level::Unhealthy),
        HealthFault::LowRxPower => (Signal::Optics, Level::Warning),
        HealthFault::ResourcesFull => (Signal::Resources, Level::Unhealthy),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_simulated_fault_shows_as_its_verdict_and_one_event_and_clears() {
    let ns = "health-sim";
    let plane = testenv::shared().await.expect("control plane");
    plane.grant(ns).await.unwrap();
    let (temp, config) = example_fabric(plane, ns);
    // A short flap window, so a port that stopped flapping is quiet again within the test
    // (the default is 5 minutes).
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[fabric.health]\nflap_window_secs = 8\n");
    std::fs::write(&config, text).unwrap();
    let mut engine = common::start_synced_engine(temp.path(), &config);
    let mut seen = Vec::new();
    until(&mut engine.events, 30, "watch Active", &mut seen, |e| {
        matches!(e, EngineEvent::Status { status, .. } if status.watch.state == WatchState::Active)
    })
    .await;
    common::apply_out_of_sync(&engine.commands).await;
    let applied = common::wait_for_apply_end(&mut engine.events, 120).await;
    assert!(
        matches!(
            &applied,
            EngineEvent::Job {
                phase: hhdash::engine::JobPhase::Succeeded { .. },
                ..
            }
        ),
        "the example fabric applies: {applied:?}"
    );
    let intent = desired_intent(&engine.store, ns);

    let sim_config = SimConfig {
        namespace: ns.into(),
        seed: 12,
        heartbeat: Duration::from_secs(1),
        apply_delay: Duration::from_secs(1),
        stale_every: Duration::ZERO,
        lag_probability: 0.0,
        drift_every: Duration::ZERO,
        fault_every: Duration::ZERO,
        ..SimConfig::default()
    };
    let mut sim = Simulator::new(plane.client(Identity::Admin), sim_config);
    let mut emit = |_: &testenv::sim::SimEvent| {};
    sim.start(&mut emit)
        .await
        .expect("the simulator's first tick");
    let faults = sim.fault_control();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut emit = |_: &testenv::sim::SimEvent| {};
        sim.run(&mut emit, async {
            let _ = stopped.await;
        })
        .await
    });

    // The simulator reports exactly what Git wires: every switch and the gateway Healthy.
    until(
        &mut engine.events,
        60,
        "all nodes Healthy",
        &mut seen,
        |e| all_healthy(e, &intent),
    )
    .await;

    let switch = "leaf-3";
    let object = format!("Agent/{switch}");
    for fault in HealthFault::ALL {
        let (signal, level) = expected(fault);
        let injected = faults
            .inject(fault, switch)
            .unwrap_or_else(|| panic!("{fault} has a target on {switch}"));
        let log_start = seen.len();
        let shows = |r: &&hhdash::health::Reason| r.signal == signal && r.level == level;
        let event = until(
            &mut engine.events,
            30,
            &format!("{fault} seen"),
            &mut seen,
            |e| node(e, switch).is_some_and(|n| n.reasons.iter().any(|r| shows(&r))),
        )
        .await;
        let health = node(&event, switch).unwrap();
        let reason = health.reasons.iter().find(shows).unwrap().clone();
        assert!(
            reason.subject.contains(&injected.target) || reason.message.contains(&injected.target),
            "{fault} names what it hit ({}): {reason:?}",
            injected.target
        );
        // Only this fault's signals on this switch (a BGP session down takes its BFD peer
        // along; a flapping port is also down at every other heartbeat).
        let allowed: &[Signal] = match fault {
            HealthFault::BgpDown => &[Signal::Bgp, Signal::Bfd],
            HealthFault::Flap => &[Signal::Port, Signal::Lldp, Signal::Optics],
            _ => &[signal],
        };
        for other in &health.reasons {
            assert!(
                allowed.contains(&other.signal),
                "{fault} shows as {other:?} too: {:#?}",
                health.reasons
            );
        }
        // Its event: the reason's line, once, however many heartbeats repeat it.
        let line_count = |seen: &[EngineEvent]| {
            lines_about(&seen[log_start..], &object)
                .iter()
                .filter(|line| line.message == reason.message)
                .count()
        };
        if fault != HealthFault::Flap {
            tokio::time::sleep(Duration::from_secs(3)).await;
            while let Ok(event) = engine.events.try_recv() {
                seen.push(event);
            }
            assert_eq!(line_count(&seen), 1, "{fault}: one line for its reason");
        } else {
            assert!(line_count(&seen) >= 1, "{fault}: a line for its reason");
        }

        faults.clear(switch, fault).expect("the fault was on");
        let cleared_from = seen.len();
        let event = until(
            &mut engine.events,
            30,
            &format!("{fault} cleared"),
            &mut seen,
            |e| node(e, switch).is_some_and(|n| n.level == Level::Healthy),
        )
        .await;
        assert!(node(&event, switch).unwrap().reasons.is_empty());
        let cleared = lines_about(&seen[cleared_from..], &object);
        assert!(
            cleared
                .iter()
                .any(|line| line.message.starts_with("cleared")),
            "{fault}: a cleared line: {cleared:#?}"
        );
    }
    let _ = stop.send(());
    task.await.expect("the simulator task");
}
