//! Scenario `apply`: new objects (testenv::fixtures::generated_fabric, the shapes `list` uses)
//! applied by the real `hhdash apply` (this build's binary: review, server-side applies, the
//! store) beside `kubectl apply --server-side -f` of the same files, each run into a fresh
//! namespace of one control plane, interleaved. Before that, the choice of
//! `hhdash::apply::CONCURRENCY`: the apply core alone (`apply::Run`, in process, no store) at
//! several bounds. Peak RSS and CPU of each child come from wait4's rusage; the API server's
//! and etcd's CPU from /proc, as the ceiling (they share the machine with the contender).

use super::*;
use hhdash::apply;
use hhdash::desired;

/// One child process's run: wall time, peak RSS and its own CPU (user + system).
struct ChildRun {
    wall: Duration,
    peak_rss_kib: u64,
    cpu: Duration,
    server: CpuDelta,
}

pub async fn apply_scenario(s: &Settings) {
    let count = s.apply_objects;
    println!(
        "\n## `apply`: {count} new objects, `hhdash apply` vs `kubectl apply --server-side`\n"
    );
    let first = "bench-apply-sweep-1";
    let plane = start_plane(first).await;
    let temp = tempfile::tempdir().expect("creating a temp dir");

    // (1) The concurrency bound, with the apply core alone.
    let mut sweep = Vec::new();
    for &bound in &s.apply_sweep {
        let ns = format!("bench-apply-sweep-{bound}");
        if ns != first {
            plane
                .grant(&ns)
                .await
                .unwrap_or_else(|e| panic!("granting {ns}: {e}"));
        }
        settle().await;
        sweep.push((
            bound,
            sweep_run(&plane, &ns, temp.path(), s.apply_sweep_objects, bound).await,
        ));
    }

    // (2) The binaries, interleaved so a load spike from elsewhere hits both alike.
    let files = temp.path().join("files");
    let mut hhdash_runs = Vec::new();
    let mut kubectl_runs = Vec::new();
    let mut sync_runs = Vec::new();
    for run in 0..s.apply_runs {
        let ns = format!("bench-apply-hhdash-{run}");
        plane
            .grant(&ns)
            .await
            .unwrap_or_else(|e| panic!("granting {ns}: {e}"));
        let dir = temp.path().join(&ns);
        std::fs::create_dir_all(&dir).expect("creating the run's directory");
        let repo = git_repo(&dir, count, &ns);
        let config = write_config(&plane, &ns, &dir, &repo);
        let t = Instant::now();
        let out = hhdash_cli(&dir, &config, &["sync"], &dir.join("sync.out"));
        assert!(
            out.success(),
            "hhdash sync failed: {}",
            read(&dir.join("sync.out"))
        );
        sync_runs.push(t.elapsed());
        settle().await;
        let printed = dir.join("apply.out");
        let (status, measured) = measure_child(
            &plane,
            hhdash_command(&dir, &config, &["apply", FABRIC]),
            &printed,
        )
        .await;
        let text = read(&printed);
        assert!(
            status.success() && text.contains(&format!("{count} object(s) applied, 0 failed")),
            "hhdash apply failed ({status}): {}",
            tail(&text)
        );
        hhdash_runs.push(measured);

        let ns = format!("bench-apply-kubectl-{run}");
        plane
            .grant(&ns)
            .await
            .unwrap_or_else(|e| panic!("granting {ns}: {e}"));
        let dir = files.join(&ns);
        let repo = git_repo(&dir, count, &ns);
        settle().await;
        let printed = dir.join("kubectl.out");
        let mut cmd = plane.kubectl(Identity::Operator);
        cmd.args([
            "apply",
            "--server-side",
            "--field-manager=bench-kubectl",
            "-R",
            "-f",
        ])
        .arg(repo.join("fabric"))
        .args(["-n", &ns, "--request-timeout=60s"]);
        let (status, measured) = measure_child(&plane, cmd, &printed).await;
        let text = read(&printed);
        let applied = text.matches("serverside-applied").count();
        assert!(
            status.success() && applied == count,
            "kubectl apply failed ({status}, {applied} of {count} applied): {}",
            tail(&text)
        );
        kubectl_runs.push(measured);
    }

    println!(
        "Reproduce: `scripts/bench-cluster apply` (knobs: HHDASH_BENCH_APPLY_OBJECTS, HHDASH_BENCH_APPLY_RUNS, HHDASH_BENCH_APPLY_SWEEP, HHDASH_BENCH_APPLY_SWEEP_OBJECTS).\n"
    );
    let objects = fixture_objects(count, "x");
    let kinds_line = count_kinds(
        objects
            .iter()
            .map(|o| o["kind"].as_str().unwrap_or_default()),
    )
    .iter()
    .map(|(k, n)| format!("{k} {n}"))
    .collect::<Vec<_>>()
    .join(", ");
    drop(objects);
    println!(
        "Objects: {kinds_line}; every run into a fresh namespace of the same control plane (all runs' objects stay, so the later runs meet a fuller etcd).\n"
    );
    if !sweep.is_empty() {
        println!(
            "### The bound: `apply::Run` alone, {} objects, one run per bound (no store, no review)\n",
            s.apply_sweep_objects
        );
        println!(
            "| in flight per rank | wall | objects/s | kube-apiserver CPU s (cores) | etcd CPU s | bench process CPU s (Run + webhook) |"
        );
        println!("|---:|---:|---:|---:|---:|---:|");
        for (bound, cpu) in &sweep {
            let wall = cpu.wall.as_secs_f64();
            println!(
                "| {bound}{} | {} | {:.0}/s | {:.1} ({:.2}) | {:.1} | {:.1} |",
                if *bound == apply::CONCURRENCY {
                    " (chosen)"
                } else {
                    ""
                },
                fmt_dur(cpu.wall),
                s.apply_sweep_objects as f64 / wall,
                cpu.apiserver,
                cpu.apiserver / wall,
                cpu.etcd,
                cpu.bench,
            );
        }
        println!();
    }
    println!(
        "### `hhdash apply` (in flight per rank: {}) vs `kubectl apply --server-side -R -f fabric/ -n NS`, {} runs each, interleaved\n",
        apply::CONCURRENCY,
        s.apply_runs
    );
    println!(
        "| contender | median | min–max | objects/s (median) | peak RSS median (max) | own CPU s (median) | kube-apiserver CPU s (median; cores) | etcd CPU s (median) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, runs) in [
        ("**`hhdash apply`**", &hhdash_runs),
        ("`kubectl apply --server-side`", &kubectl_runs),
    ] {
        print_row(name, count, runs);
    }
    let (ours, theirs) = (
        median(&hhdash_runs.iter().map(|r| r.wall).collect::<Vec<_>>()),
        median(&kubectl_runs.iter().map(|r| r.wall).collect::<Vec<_>>()),
    );
    let speedup = theirs.as_secs_f64() / ours.as_secs_f64().max(f64::EPSILON);
    println!(
        "\n`hhdash sync` before each apply (not timed above): median {}.",
        fmt_dur(median(&sync_runs))
    );
    println!(
        "Target hhdash at least 1.5× faster than kubectl: {} vs {} → {speedup:.2}× ({}).",
        fmt_dur(ours),
        fmt_dur(theirs),
        if speedup >= 1.5 { "met" } else { "NOT met" }
    );
    println!(
        "During the hhdash runs: {} (the admission webhook runs in the bench process).",
        hhdash_runs
            .last()
            .map(|r| r.server.describe_short())
            .unwrap_or_default()
    );
}

/// The apply core alone, `bound` applies in flight per rank, `count` new objects into `ns`.
async fn sweep_run(
    plane: &ControlPlane,
    ns: &str,
    dir: &Path,
    count: usize,
    bound: usize,
) -> CpuDelta {
    let files: Vec<(String, String)> = testenv::fixtures::generated_fabric(count, 100)
        .into_iter()
        .map(|(path, text)| {
            let text = text.replace(
                "\n  namespace: default\n",
                &format!("\n  namespace: {ns}\n"),
            );
            (path, text)
        })
        .collect();
    let fabric = fabric_config(plane, ns, dir, None);
    let mut set = desired::parse_files(
        files.iter().map(|(p, t)| (p.as_str(), t.as_bytes())),
        &fabric.namespaces,
        "bench",
    );
    assert!(
        set.skipped.is_empty() && set.objects.len() == count,
        "the fixture parses into {count} objects: {:?}",
        set.skipped.first()
    );
    apply::sort(&mut set.objects, |o| &o.key);
    let token = Secret::new(
        std::fs::read_to_string(plane.token_file(Identity::Operator))
            .expect("reading the operator token file"),
    );
    let client =
        FabricClient::new(&fabric, &token).unwrap_or_else(|e| panic!("hhdash's client: {e}"));
    let before = CpuSample::take(plane);
    let mut run = apply::Run::new(
        &client,
        set.objects.iter().collect(),
        apply::Options::default(),
    )
    .with_concurrency(bound);
    let mut failures = Vec::new();
    tokio::time::timeout(Duration::from_secs(600), async {
        while let Some(step) = run.next().await {
            if let Err(error) = step.result {
                failures.push(format!("{}: {error}", step.key));
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!("applying {count} objects at {bound} in flight took over 10 minutes")
    });
    let cpu = CpuSample::take(plane).since(&before);
    assert!(
        failures.is_empty(),
        "{} of {count} applies failed at {bound} in flight; first: {}",
        failures.len(),
        failures[0]
    );
    cpu
}

fn print_row(name: &str, count: usize, runs: &[ChildRun]) {
    let walls: Vec<Duration> = runs.iter().map(|r| r.wall).collect();
    let cpus: Vec<Duration> = runs.iter().map(|r| r.cpu).collect();
    let secs = Duration::from_secs_f64;
    let apiserver: Vec<Duration> = runs.iter().map(|r| secs(r.server.apiserver)).collect();
    let etcd: Vec<Duration> = runs.iter().map(|r| secs(r.server.etcd)).collect();
    let mut rss: Vec<u64> = runs.iter().map(|r| r.peak_rss_kib).collect();
    rss.sort();
    let rss_median = rss.get(rss.len() / 2).copied().unwrap_or(0);
    let rss_max = rss.last().copied().unwrap_or(0);
    let wall = median(&walls);
    println!(
        "| {name} | {} | {}–{} | {:.0}/s | {:.0} MiB ({:.0}) | {:.1} | {:.1} ({:.2}) | {:.1} |",
        fmt_dur(wall),
        fmt_dur(min(&walls)),
        fmt_dur(walls.iter().max().copied().unwrap_or_default()),
        count as f64 / wall.as_secs_f64(),
        rss_median as f64 / 1024.0,
        rss_max as f64 / 1024.0,
        median(&cpus).as_secs_f64(),
        median(&apiserver).as_secs_f64(),
        median(&apiserver).as_secs_f64() / wall.as_secs_f64(),
        median(&etcd).as_secs_f64(),
    );
}

/// The fabric config `hhdash` reads, written to a file.
fn write_config(plane: &ControlPlane, ns: &str, dir: &Path, repo: &Path) -> std::path::PathBuf {
    let text = format!(
        "[[fabric]]\nname = {FABRIC:?}\nnamespace = {ns:?}\n[fabric.kubernetes]\nserver = {:?}\ntoken_file = {:?}\nca_cert_file = {:?}\n[fabric.git]\nurl = {:?}\nbranch = \"main\"\ndirectory = \"fabric\"\n",
        plane.server_url(),
        plane.token_file(Identity::Operator).display().to_string(),
        plane.ca_file().display().to_string(),
        repo.display().to_string(),
    );
    let path = dir.join("hhdash.toml");
    std::fs::write(&path, text).expect("writing the config");
    path
}

/// This build's `hhdash` with its own HOME, store and config.
fn hhdash_command(dir: &Path, config: &Path, args: &[&str]) -> std::process::Command {
    let home = dir.join("home");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hhdash"));
    command
        .arg("--config")
        .arg(config)
        .arg("--store")
        .arg(dir.join("store.redb"))
        .args(args)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env_remove("KUBECONFIG");
    command
}

fn hhdash_cli(
    dir: &Path,
    config: &Path,
    args: &[&str],
    printed: &Path,
) -> std::process::ExitStatus {
    let out = std::fs::File::create(printed).expect("creating the output file");
    hhdash_command(dir, config, args)
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("cloning a file handle"))
        .stderr(out)
        .status()
        .expect("running hhdash")
}

/// Runs `cmd` (stdout and stderr to `printed`) and measures it: wall time, and from wait4 its
/// peak RSS and CPU; the control plane's CPU over the same span.
async fn measure_child(
    plane: &ControlPlane,
    mut cmd: std::process::Command,
    printed: &Path,
) -> (std::process::ExitStatus, ChildRun) {
    let out = std::fs::File::create(printed).expect("creating the output file");
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone().expect("cloning a file handle"))
        .stderr(out);
    let before = CpuSample::take(plane);
    let t = Instant::now();
    let child = cmd.spawn().expect("starting the contender");
    let pid = child.id() as libc::pid_t;
    let (status, usage) = tokio::task::spawn_blocking(move || super::shared::wait_with_usage(pid))
        .await
        .expect("the waiting thread");
    let wall = t.elapsed();
    let server = CpuSample::take(plane).since(&before);
    drop(child);
    let tv = |tv: libc::timeval| {
        Duration::from_secs(tv.tv_sec as u64) + Duration::from_micros(tv.tv_usec as u64)
    };
    (
        status,
        ChildRun {
            wall,
            peak_rss_kib: usage.ru_maxrss as u64,
            cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
            server,
        },
    )
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}
