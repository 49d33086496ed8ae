//! Measurement helpers: medians and percentiles of durations, and CPU accounting from /proc
//! (ours, the control plane's, the whole machine's) so a run tells whether something else was
//! competing.

use super::*;

pub fn median(runs: &[Duration]) -> Duration {
    let mut sorted = runs.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

pub fn min(runs: &[Duration]) -> Duration {
    runs.iter().min().copied().unwrap_or_default()
}

/// Nearest-rank percentile of sorted durations.
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

pub fn fmt_dur(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc: ours (this process and the children it reaped, i.e. kubectl;
// the plane's kube-apiserver and etcd) against the whole machine, so a run tells whether
// something else was competing.

pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime (+ cutime + cstime with `children`) of a process, in ticks.
pub fn proc_ticks(pid: &str, children: bool) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0;
    };
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // After the comm field: state is 0, utime 11, stime 12, cutime 13, cstime 14.
    let own = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    let reaped = fields.get(13).copied().unwrap_or(0) + fields.get(14).copied().unwrap_or(0);
    own + if children { reaped } else { 0 }
}

/// Busy and total ticks of all CPUs.
pub fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else {
        return (0, 0);
    };
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

pub struct CpuSample {
    pub at: Instant,
    pub bench: u64,
    pub etcd: u64,
    pub apiserver: u64,
    pub machine_busy: u64,
    pub machine_total: u64,
}

pub struct CpuDelta {
    pub wall: Duration,
    pub bench: f64,
    pub etcd: f64,
    pub apiserver: f64,
    pub others: f64,
    pub capacity: f64,
}

impl CpuSample {
    pub fn take(plane: &ControlPlane) -> CpuSample {
        let pids = plane.pids();
        let pid = |i: usize| pids.get(i).map(u32::to_string).unwrap_or_default();
        let (machine_busy, machine_total) = machine_ticks();
        CpuSample {
            at: Instant::now(),
            bench: proc_ticks("self", true),
            etcd: proc_ticks(&pid(0), false),
            apiserver: proc_ticks(&pid(1), false),
            machine_busy,
            machine_total,
        }
    }

    pub fn since(&self, before: &CpuSample) -> CpuDelta {
        let tick = clock_ticks();
        let secs = |a: u64, b: u64| a.saturating_sub(b) as f64 / tick;
        let bench = secs(self.bench, before.bench);
        let etcd = secs(self.etcd, before.etcd);
        let apiserver = secs(self.apiserver, before.apiserver);
        let busy = secs(self.machine_busy, before.machine_busy);
        CpuDelta {
            wall: self.at - before.at,
            bench,
            etcd,
            apiserver,
            others: (busy - bench - etcd - apiserver).max(0.0),
            capacity: secs(self.machine_total, before.machine_total),
        }
    }
}

impl CpuDelta {
    pub fn describe_short(&self) -> String {
        let wall = self.wall.as_secs_f64().max(f64::EPSILON);
        format!(
            "kube-apiserver {:.2} cores, etcd {:.2}, bench process (engine + writer) {:.2}, everything else on the machine {:.2} (of {:.0})",
            self.apiserver / wall,
            self.etcd / wall,
            self.bench / wall,
            self.others / wall,
            self.capacity / wall
        )
    }

    pub fn describe(&self) -> String {
        format!(
            "CPU over the scenario ({}): {}.",
            fmt_dur(self.wall),
            self.describe_short().replace(
                "bench process (engine + writer)",
                "bench process (hhdash + kubectl)"
            )
        )
    }
}

/// This process's peak resident set (VmHWM).
pub fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_string();
            let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.0} MiB", kb / 1024.0))
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Cores, CPU model, memory, load and other busy compilers or control planes right now.
pub fn machine_note() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU".to_string(), |(_, m)| m.trim().to_string());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let mut busy: BTreeMap<String, usize> = BTreeMap::new();
    let me = std::process::id().to_string();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let pid = entry.file_name().to_string_lossy().to_string();
            if pid == me || !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            let comm = comm.trim();
            if [
                "rustc",
                "cc1",
                "ld",
                "cargo",
                "kube-apiserver",
                "etcd",
                "go",
            ]
            .contains(&comm)
            {
                *busy.entry(comm.to_string()).or_insert(0) += 1;
            }
        }
    }
    let busy = if busy.is_empty() {
        "none".to_string()
    } else {
        busy.iter()
            .map(|(name, n)| format!("{name} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "Machine: {cores} cores ({model}), {mem_gib:.0} GiB RAM; load average {} at start; other compilers / control planes running at start: {busy} (cargo ×1 is the one running this bench).",
        load.join(" ")
    )
}
