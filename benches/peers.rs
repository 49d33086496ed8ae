//! hhdash beside its peer: time to a full table and steady RSS, the real `hhdash` binary and
//! k9s, each in its own tmux terminal (160×45, the e2e harness's `testenv::support::Tmux`),
//! against one real control plane (testenv: kube-apiserver + etcd on 127.0.0.1) holding N
//! Connections (realistic shapes: the Connections of the largest sample, renamed per copy as
//! `testenv::fixtures::generated_fabric` does) in one namespace. Prints Markdown tables.
//!
//! Per size, run after run, interleaved so every tool sees the same plane in the same minute:
//! * hhdash, cold store: a new store file. `hhdash --config … --store …` starts; as soon as its
//!   tab bar is drawn the bench types `:connection⏎` (k9s gets its view on the command line).
//!   Full table: the Connection table's title says `· peers · N rows`, the status line
//!   `live N` and `watch ● Active` (with Git: `desired N live N drifted 0 missing 0 orphan 0`).
//! * hhdash, warm store: the same store again (the cold run's, quit with `q`). Also timed: the N
//!   rows first shown (from the store, before the watch is live).
//! * k9s: `k9s -n peers -c connections`, its config, data and caches in temp dirs of the bench
//!   (one set per size: its discovery cache is warm after the first run, as a user's is). Full
//!   table: its title shows `connections(peers)[N]` (N as `10,000`).
//!
//! The clock starts before tmux starts the session and stops at the first capture of the pane
//! that shows the full table (polled every 50 ms). Then RSS: VmRSS of the tool's process (and
//! any children) from /proc, sampled for HHDASH_BENCH_PEERS_SETTLE_SECS; steady = the last
//! sample, peak = VmHWM.
//!
//! Run: `scripts/bench-peers` (builds a release `hhdash` and runs this with it), or
//! `cargo bench --bench peers`. Knobs: HHDASH_BENCH_PEERS_OBJECTS ("10000,50000"),
//! HHDASH_BENCH_PEERS_RUNS (3), HHDASH_BENCH_PEERS_SETTLE_SECS (5),
//! HHDASH_BENCH_PEERS_DEADLINE_SECS (300, per run), HHDASH_BENCH_PEERS_GIT (0: no Git, the
//! rows are the live objects; 1: a local Git repository holding the same objects, synced),
//! HHDASH_BENCH_BIN (the hhdash under test; default: the one cargo built beside this bench),
//! HHDASH_BENCH_K9S (k9s; default: `k9s` on PATH, then ~/.cache/hhdash/peers/bin/k9s,
//! then ~/go/bin/k9s). Numbers: docs/benchmarks.md.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use testenv::support::{Tmux, repo_with};
use testenv::{ControlPlane, Identity};

#[path = "shared/mod.rs"]
mod shared;

const NAMESPACE: &str = "peers";
const FABRIC: &str = "peers";
const TERMINAL: (u16, u16) = (160, 45);
const POLL: Duration = Duration::from_millis(50);
const K9S_INSTALL: &str = "GOBIN=~/.cache/hhdash/peers/bin go install github.com/derailed/k9s@v0.50.16   (about 4 minutes; or set HHDASH_BENCH_K9S)";

use shared::{env_usize, ms};

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

struct Knobs {
    sizes: Vec<usize>,
    runs: usize,
    settle: Duration,
    deadline: Duration,
    git: bool,
}

/// What the bench runs: the hhdash under test and k9s (or why there is none).
struct Tools {
    hhdash: PathBuf,
    k9s: Result<PathBuf, String>,
}

/// One measured run of one tool.
struct Sample {
    /// hhdash: the N rows first shown (from the store when warm, before the watch is live).
    rows: Option<Duration>,
    full: Duration,
    rss_kib: u64,
    peak_kib: u64,
}

#[derive(Clone, Copy, PartialEq)]
enum Case {
    HhdashCold,
    HhdashWarm,
    K9s,
}

impl Case {
    fn tool(self) -> &'static str {
        match self {
            Case::K9s => "k9s",
            _ => "hhdash",
        }
    }
    fn store(self) -> &'static str {
        match self {
            Case::HhdashCold => "cold",
            Case::HhdashWarm => "warm",
            Case::K9s => "—",
        }
    }
}

fn main() {
    let knobs = Knobs {
        sizes: std::env::var("HHDASH_BENCH_PEERS_OBJECTS")
            .unwrap_or_else(|_| "10000,50000".into())
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect(),
        runs: env_usize("HHDASH_BENCH_PEERS_RUNS", 3).max(1),
        settle: Duration::from_secs(env_usize("HHDASH_BENCH_PEERS_SETTLE_SECS", 5) as u64),
        deadline: Duration::from_secs(env_usize("HHDASH_BENCH_PEERS_DEADLINE_SECS", 300) as u64),
        git: std::env::var("HHDASH_BENCH_PEERS_GIT").is_ok_and(|v| v == "1"),
    };
    let tools = Tools {
        hhdash: std::env::var_os("HHDASH_BENCH_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_hhdash"))),
        k9s: find_k9s(),
    };
    assert!(
        tools.hhdash.is_file(),
        "no hhdash at {} (HHDASH_BENCH_BIN)",
        tools.hhdash.display()
    );
    print_conditions(&tools, &knobs);

    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let _inside = runtime.enter();
    let t = Instant::now();
    let plane = runtime.block_on(shared::start_plane(vec![NAMESPACE.into()]));
    println!(
        "Control plane {} up in {} (Kubernetes {}, watch cache on, no webhooks).",
        plane.server_url(),
        ms(t.elapsed()),
        testenv::KUBERNETES_VERSION
    );
    let temp = tempfile::tempdir().expect("a temp dir");
    let admin = plane.client(Identity::Admin);
    let mut tables = Vec::new();
    for &size in &knobs.sizes {
        let objects = connections(size);
        let t = Instant::now();
        runtime.block_on(shared::create_all(&admin, NAMESPACE, &objects));
        println!(
            "\n{size} Connections in {NAMESPACE} (created in {})",
            ms(t.elapsed())
        );
        let dir = temp.path().join(format!("n{size}"));
        std::fs::create_dir_all(&dir).expect("a directory");
        let config = write_config(&plane, &dir, knobs.git.then_some(&objects[..]));
        drop(objects);
        let load_before = load_average();
        let mut samples: Vec<(Case, Result<Sample, String>)> = Vec::new();
        for run in 0..knobs.runs {
            let store = dir.join(format!("store-{run}.redb"));
            for case in [Case::HhdashCold, Case::HhdashWarm, Case::K9s] {
                let sample = match case {
                    Case::K9s => match &tools.k9s {
                        Ok(k9s) => measure_k9s(k9s, &plane, &dir, size, &knobs),
                        Err(_) => continue,
                    },
                    _ => measure_hhdash(&tools.hhdash, &config, &store, &dir, size, &knobs),
                };
                match &sample {
                    Ok(s) => println!(
                        "  run {run}: {} {}: full table {}{}, RSS {} (peak {})",
                        case.tool(),
                        case.store(),
                        ms(s.full),
                        s.rows
                            .map(|r| format!(", rows shown {}", ms(r)))
                            .unwrap_or_default(),
                        mib(s.rss_kib),
                        mib(s.peak_kib)
                    ),
                    Err(e) => {
                        println!("  run {run}: {} {}: FAILED: {e}", case.tool(), case.store())
                    }
                }
                samples.push((case, sample));
            }
        }
        tables.push((size, samples, load_before, load_average()));
    }

    println!(
        "\n| tool | objects | store | time to full table: median (min–max) | N rows shown (from the store) | steady RSS: median (min–max) | peak RSS (VmHWM) max | k9s's time ÷ this |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (size, samples, _, _) in &tables {
        let of = |case: Case| -> (Vec<&Sample>, usize) {
            let all: Vec<_> = samples.iter().filter(|(c, _)| *c == case).collect();
            let ok: Vec<&Sample> = all.iter().filter_map(|(_, s)| s.as_ref().ok()).collect();
            let failed = all.len() - ok.len();
            (ok, failed)
        };
        let k9s_median = median(&of(Case::K9s).0.iter().map(|s| s.full).collect::<Vec<_>>());
        for case in [Case::HhdashCold, Case::HhdashWarm, Case::K9s] {
            let (ok, failed) = of(case);
            if case == Case::K9s && tools.k9s.is_err() {
                println!("| k9s | {size} | — | **not installed**: {K9S_INSTALL} | | | | |");
                continue;
            }
            let failed = if failed > 0 {
                format!(
                    " ({failed} run(s) without a full table in {} s)",
                    knobs.deadline.as_secs()
                )
            } else {
                String::new()
            };
            let full: Vec<Duration> = ok.iter().map(|s| s.full).collect();
            let rows: Vec<Duration> = ok.iter().filter_map(|s| s.rows).collect();
            let rss: Vec<u64> = ok.iter().map(|s| s.rss_kib).collect();
            let peak = ok.iter().map(|s| s.peak_kib).max();
            let ratio = match (case, k9s_median, median(&full)) {
                (Case::K9s, _, _) => "—".to_string(),
                (_, Some(k9s), Some(this)) => {
                    format!("**{:.1}×**", k9s.as_secs_f64() / this.as_secs_f64())
                }
                _ => "?".to_string(),
            };
            println!(
                "| {} | {size} | {} | {}{failed} | {} | {} | {} | {ratio} |",
                case.tool(),
                case.store(),
                spread(&full, ms),
                if case == Case::HhdashWarm {
                    spread(&rows, ms)
                } else {
                    "—".into()
                },
                spread(&rss, mib),
                peak.map(mib).unwrap_or_else(|| "?".into()),
            );
        }
    }
    for (size, _, before, after) in &tables {
        println!("\nLoad average (1, 5, 15 min) for {size}: {before} before, {after} after.");
    }
    if let Err(why) = &tools.k9s {
        println!("\n**k9s was not measured: {why}.** Install it: {K9S_INSTALL}");
    }
    drop(plane);
}

fn median<T: Copy + Ord>(values: &[T]) -> Option<T> {
    let mut v = values.to_vec();
    v.sort();
    v.get(v.len() / 2).copied()
}

/// `median (min–max)`, or `?` without values.
fn spread<T: Copy + Ord>(values: &[T], show: fn(T) -> String) -> String {
    let Some(m) = median(values) else {
        return "?".into();
    };
    let (min, max) = (values.iter().min().unwrap(), values.iter().max().unwrap());
    if values.len() == 1 {
        show(m)
    } else {
        format!("{} ({}–{})", show(m), show(*min), show(*max))
    }
}

// ---------------------------------------------------------------------------------------------
// The tools and the conditions.

fn find_k9s() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("HHDASH_BENCH_K9S") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("HHDASH_BENCH_K9S={} is no file", path.display()))
        };
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([home.join(".cache/hhdash/peers/bin"), home.join("go/bin")])
        .map(|dir| dir.join("k9s"))
        .find(|k9s| k9s.is_file())
        .ok_or_else(|| {
            "no k9s on PATH, in ~/.cache/hhdash/peers/bin or in ~/go/bin (HHDASH_BENCH_K9S)".into()
        })
}

/// The first line `program args…` prints, or why not.
fn first_line(program: &Path, args: &[&str]) -> String {
    match Command::new(program).args(args).output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("?")
            .to_string(),
        Err(e) => format!("cannot run: {e}"),
    }
}

/// k9s's module version: `go install` builds print `dev` for `k9s version`, so it is read from
/// the build info (`go version -m`) when Go is there.
fn k9s_version(k9s: &Path) -> String {
    let module = Command::new("go")
        .args(["version", "-m"])
        .arg(k9s)
        .output()
        .ok()
        .and_then(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .find_map(|l| l.trim().strip_prefix("mod\tgithub.com/derailed/k9s\t"))
                .and_then(|rest| rest.split_whitespace().next())
                .map(|v| format!("{v}, {}", first_line(&PathBuf::from("go"), &["version"])))
        });
    module.unwrap_or_else(|| first_line(k9s, &["version", "--short"]))
}

fn print_conditions(tools: &Tools, knobs: &Knobs) {
    let profile = if tools
        .hhdash
        .components()
        .any(|c| c.as_os_str() == "release")
    {
        "release"
    } else if tools.hhdash.components().any(|c| c.as_os_str() == "debug") {
        "debug (a first look only: set HHDASH_BENCH_BIN to a release build for real numbers)"
    } else {
        "unknown profile"
    };
    println!("# hhdash vs k9s: time to a full table, steady RSS\n");
    println!(
        "hhdash under test: {} ({}; {profile})",
        tools.hhdash.display(),
        first_line(&tools.hhdash, &["--version"])
    );
    match &tools.k9s {
        Ok(k9s) => println!("k9s: {} ({})", k9s.display(), k9s_version(k9s)),
        Err(why) => {
            let banner = "!".repeat(100);
            for line in [
                banner.as_str(),
                &format!("!!! k9s NOT FOUND: {why}."),
                "!!! The hhdash rows are measured, the k9s rows and the ratio are not. Install k9s:",
                &format!("!!!   {K9S_INSTALL}"),
                banner.as_str(),
            ] {
                println!("{line}");
                eprintln!("{line}");
            }
        }
    }
    println!(
        "Terminal {}x{}, pane polled every {} ms; {} run(s) per size; RSS settles {} s; Git: {}.",
        TERMINAL.0,
        TERMINAL.1,
        POLL.as_millis(),
        knobs.runs,
        knobs.settle.as_secs(),
        if knobs.git {
            "a local repository holding the same objects (hhdash syncs it and judges drift)"
        } else {
            "not configured (hhdash's rows are the live objects only, verdict Unknown)"
        }
    );
    println!("Load average (1, 5, 15 min) at start: {}", load_average());
}

// ---------------------------------------------------------------------------------------------
// The objects, the config.

/// `count` Connections: the sample's, then copies renamed `<name>-g<copy>` (the scheme of
/// `generated_fabric`, so a larger set contains a smaller one), all in [`NAMESPACE`].
fn connections(count: usize) -> Vec<Value> {
    let templates: Vec<Value> = testenv::fixtures::generated_objects(166, NAMESPACE)
        .into_iter()
        .filter(|o| o["kind"] == "Connection")
        .collect();
    assert!(!templates.is_empty(), "the sample has Connections");
    (0..count)
        .map(|i| {
            let (copy, template) = (i / templates.len(), &templates[i % templates.len()]);
            let mut object = template.clone();
            if copy > 0 {
                let name = format!("{}-g{copy}", template["metadata"]["name"].as_str().unwrap());
                object["metadata"]["name"] = Value::String(name);
            }
            object
        })
        .collect()
}

/// The fabric `peers` on `plane` (the admin token, as k9s gets), its Git either a directory
/// that is no repository or (`git`) a repository of those objects, 1,000 to a file.
fn write_config(plane: &ControlPlane, dir: &Path, git: Option<&[Value]>) -> PathBuf {
    let repo = dir.join("repo");
    match git {
        None => std::fs::create_dir_all(&repo).expect("a directory"),
        Some(objects) => {
            let files: Vec<(String, Vec<u8>)> = objects
                .chunks(1000)
                .enumerate()
                .map(|(i, chunk)| {
                    let text: String = chunk
                        .iter()
                        .map(|o| format!("---\n{}", serde_yaml::to_string(o).expect("YAML")))
                        .collect();
                    (format!("fabric/part-{i:04}.yaml"), text.into_bytes())
                })
                .collect();
            let refs: Vec<(&str, &[u8])> = files
                .iter()
                .map(|(p, t)| (p.as_str(), t.as_slice()))
                .collect();
            repo_with(&repo, &refs);
        }
    }
    let text = format!(
        "[[fabric]]\nname = {FABRIC:?}\nnamespace = {NAMESPACE:?}\n[fabric.kubernetes]\nserver = {:?}\ntoken_file = {:?}\nca_cert_file = {:?}\n[fabric.git]\nurl = {:?}\nbranch = \"main\"\ndirectory = \"fabric\"\n",
        plane.server_url(),
        plane.token_file(Identity::Admin).display().to_string(),
        plane.ca_file().display().to_string(),
        repo.display().to_string(),
    );
    let path = dir.join("hhdash.toml");
    std::fs::write(&path, text).expect("writing the config");
    path
}

// ---------------------------------------------------------------------------------------------
// Driving the tools.

/// Home, XDG and runtime directories of their own under `dir/name`, so nothing of the user's
/// is read or written; `NAME=value` for tmux.
fn private_env(dir: &Path, name: &str) -> Vec<String> {
    let root = dir.join(name);
    let mut env = vec!["TERM=xterm-256color".to_string()];
    for (var, sub) in [
        ("HOME", "home"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_RUNTIME_DIR", "run"),
    ] {
        let path = root.join(sub);
        std::fs::create_dir_all(&path).expect("a directory");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700));
        }
        env.push(format!("{var}={}", path.display()));
    }
    env
}

/// Polls the pane every [`POLL`] until `done` holds for its text; the time since `start`, or
/// the last screen on the deadline or once the tool has exited (the pane's shell prints
/// `<tool> exited`). `each` sees every screen first (to type into it).
fn poll(
    tmux: &Tmux,
    start: Instant,
    deadline: Duration,
    mut each: impl FnMut(&str),
    done: impl Fn(&str) -> bool,
) -> Result<Duration, String> {
    loop {
        let screen = tmux.screen();
        let at = start.elapsed();
        each(&screen);
        if done(&screen) {
            return Ok(at);
        }
        if screen.contains(" exited ") {
            let all = tmux.screen_and_scrollback();
            return Err(format!("the tool exited before its table was full:\n{all}"));
        }
        if at > deadline {
            return Err(format!(
                "no full table within {deadline:?}; screen:\n{screen}"
            ));
        }
        std::thread::sleep(POLL);
    }
}

/// The tool's process: the child of the pane's shell (which runs `tool; echo …; sleep`).
fn tool_pid(tmux: &Tmux) -> u32 {
    let shell = tmux.pane_pid();
    children(shell)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("the pane's shell {shell} has no child"))
}

fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// (VmRSS, VmHWM) in KiB of `pid` and its descendants.
fn rss_tree(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let (mut rss, mut hwm) = (field("VmRSS:"), field("VmHWM:"));
    for child in children(pid) {
        let (r, h) = rss_tree(child);
        rss += r;
        hwm += h;
    }
    (rss, hwm)
}

/// Samples the tool's RSS every 250 ms for `settle`; the last sample and the peak.
fn steady_rss(pid: u32, settle: Duration) -> (u64, u64) {
    let end = Instant::now() + settle;
    let mut last = rss_tree(pid);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(250));
        last = rss_tree(pid);
    }
    last
}

fn measure_hhdash(
    bin: &Path,
    config: &Path,
    store: &Path,
    dir: &Path,
    size: usize,
    knobs: &Knobs,
) -> Result<Sample, String> {
    let command = format!(
        "{} --config {} --store {} --log-file {}; echo \"hhdash exited $?\"; sleep 600",
        bin.display(),
        config.display(),
        store.display(),
        dir.join("hhdash.log").display()
    );
    let env = private_env(dir, "hhdash-env");
    let start = Instant::now();
    let tmux = Tmux::start("peers-hhdash", TERMINAL, &env, &command);
    let title = format!("· {FABRIC} · {size} rows");
    let live = format!("live {size} ");
    let in_sync = format!("desired {size} live {size} drifted 0 missing 0 orphan 0");
    let mut typed = false;
    let mut rows = None;
    let full = poll(
        &tmux,
        start,
        knobs.deadline,
        |screen| {
            // The tab bar is drawn: the dashboard reads keys now.
            if !typed && screen.contains("Drift") {
                tmux.run(&["send-keys", "-t", tmux.target(), ":connection", "Enter"]);
                typed = true;
            }
            if rows.is_none() && screen.contains(&format!(" Connection {title}")) {
                rows = Some(start.elapsed());
            }
        },
        |screen| {
            screen.contains(&format!(" Connection {title}"))
                && screen.contains(&live)
                && screen.contains("watch ● Active")
                && (!knobs.git || screen.contains(&in_sync))
        },
    )?;
    let (rss_kib, peak_kib) = steady_rss(tool_pid(&tmux), knobs.settle);
    tmux.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !tmux.screen_and_scrollback().contains("hhdash exited") {
        assert!(
            Instant::now() < deadline,
            "hhdash did not quit on q within 60 s"
        );
        std::thread::sleep(POLL);
    }
    Ok(Sample {
        rows,
        full,
        rss_kib,
        peak_kib,
    })
}

/// `50000` as `50,000`.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn measure_k9s(
    k9s: &Path,
    plane: &ControlPlane,
    dir: &Path,
    size: usize,
    knobs: &Knobs,
) -> Result<Sample, String> {
    let root = dir.join("k9s-env");
    let mut env = private_env(dir, "k9s-env");
    env.push(format!(
        "K9S_CONFIG_DIR={}",
        root.join("config/k9s").display()
    ));
    env.push(format!(
        "KUBECONFIG={}",
        plane.kubeconfig_file(Identity::Admin).display()
    ));
    env.push(format!(
        "KUBECACHEDIR={}",
        root.join("cache/kube").display()
    ));
    let command = format!(
        "{} --namespace {NAMESPACE} --command connections --logoless --crumbsless --headless --splashless; echo \"k9s exited $?\"; sleep 600",
        k9s.display()
    );
    let start = Instant::now();
    let tmux = Tmux::start("peers-k9s", TERMINAL, &env, &command);
    // k9s groups the digits (`[10,000]`).
    let title = format!("connections({NAMESPACE})[{}]", grouped(size));
    let full = poll(
        &tmux,
        start,
        knobs.deadline,
        |_| {},
        |screen| screen.to_lowercase().contains(&title),
    )?;
    let (rss_kib, peak_kib) = steady_rss(tool_pid(&tmux), knobs.settle);
    // Dropping the Tmux kills its server and so k9s.
    Ok(Sample {
        rows: None,
        full,
        rss_kib,
        peak_kib,
    })
}
