//! How the simulator behaves: namespace, seed, timers and fault rates.

use std::time::Duration;

/// How the simulator behaves. [`Default`] suits a demo; tests shorten the intervals.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub namespace: String,
    pub seed: u64,
    /// How often the simulator reads the namespace and acts; the resolution of every timer.
    pub tick: Duration,
    /// Each agent's heartbeat period: every heartbeat writes the whole status (counters move).
    /// Agents pick new generations up at a heartbeat. The real agent's is 15 s; the default
    /// 5 s makes a demo livelier.
    pub heartbeat: Duration,
    /// From attempting a generation to applying it.
    pub apply_delay: Duration,
    /// A switch goes silent this often (zero: never).
    pub stale_every: Duration,
    /// How long a silent switch stays silent. Longer than hhdash's 60 s bound to show as Stale.
    pub stale_for: Duration,
    /// The chance that a switch lags on a new generation (attempts, does not apply).
    pub lag_probability: f64,
    /// How long a lagging switch holds a generation unapplied.
    pub lag_for: Duration,
    /// An out-of-band edit this often (zero: never).
    pub drift_every: Duration,
    /// A random health fault ([`HealthFault`](super::HealthFault)) on a random switch this
    /// often (zero: never; the demo turns it on).
    pub fault_every: Duration,
    /// How long a scheduled health fault lasts before it clears itself.
    pub fault_for: Duration,
    /// Stop after this long (zero: run until the shutdown future completes).
    pub duration: Duration,
    /// What the agents report as `status.version` (and the controller as `spec.version`).
    pub agent_version: String,
    /// Log every heartbeat; otherwise a status line once a minute stands for them.
    pub verbose: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            namespace: "default".into(),
            seed: 1,
            tick: Duration::from_secs(1),
            heartbeat: Duration::from_secs(5),
            apply_delay: Duration::from_secs(3),
            stale_every: Duration::from_secs(120),
            stale_for: Duration::from_secs(100),
            lag_probability: 0.2,
            lag_for: Duration::from_secs(40),
            drift_every: Duration::ZERO,
            fault_every: Duration::ZERO,
            fault_for: Duration::from_secs(90),
            duration: Duration::ZERO,
            agent_version: "v0.87.4-sim".into(),
            verbose: false,
        }
    }
}
