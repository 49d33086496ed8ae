//! Sync throughput on a generated 10,000-document fabric, beside raw serde_yaml parsing of the
//! same bytes. Run: `cargo bench --bench sync` (criterion prints documents/s as elem/s).
//!
//! Also the cost of the reproduced YAML alias bomb (150 KB, an anchor of 30,000 scalars
//! referenced 30,000 times): parsing it in-process, and a table of the real `hhdash sync` on a
//! repository with and without it — wall time and the child's peak RSS (its VmHWM).
//! Budget: the bomb costs < 1 s and < 64 MiB extra peak RSS.

use std::hint::black_box;
use std::process::Command;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hhdash::config::Config;
use hhdash::desired;
use hhdash::store::Store;
use testenv::fixtures::generated_fabric;
use testenv::support::git;

const DOCUMENTS: usize = 10_000;
const PER_FILE: usize = 100;

fn bench_sync(c: &mut Criterion) {
    let files = generated_fabric(DOCUMENTS, PER_FILE);
    let mut group = c.benchmark_group("sync_10k");
    group.throughput(Throughput::Elements(DOCUMENTS as u64));
    group.sample_size(10);

    group.bench_function("raw_serde_yaml_parse", |b| {
        b.iter(|| {
            let mut count = 0;
            for (_, text) in &files {
                for document in serde_yaml::Deserializer::from_str(text) {
                    let value: serde_json::Value =
                        serde::Deserialize::deserialize(document).unwrap();
                    count += usize::from(!value.is_null());
                }
            }
            assert_eq!(count, DOCUMENTS);
            black_box(count)
        })
    });

    group.bench_function("parse_and_validate", |b| {
        b.iter(|| {
            let set = desired::parse_files(
                files.iter().map(|(p, t)| (p.as_str(), t.as_bytes())),
                &hhdash::config::Namespaces::single("default"),
                "0000",
            );
            assert_eq!(set.objects.len(), DOCUMENTS);
            black_box(set)
        })
    });

    let temp = tempfile::tempdir().unwrap();
    let store = Store::open(&temp.path().join("bench.redb")).unwrap();
    group.bench_function("parse_validate_store", |b| {
        b.iter(|| {
            let set = desired::parse_files(
                files.iter().map(|(p, t)| (p.as_str(), t.as_bytes())),
                &hhdash::config::Namespaces::single("default"),
                "0000",
            );
            let written = store
                .replace_desired(
                    "bench",
                    set.objects
                        .into_iter()
                        .map(Ok::<_, std::convert::Infallible>),
                    |_| {},
                    &[],
                )
                .unwrap();
            assert_eq!(written, DOCUMENTS);
        })
    });

    // The whole `hhdash sync` path: read the tree from a real Git repository, parse, validate,
    // store in one transaction.
    let repo = temp.path().join("repo");
    std::fs::create_dir_all(repo.join("fabric")).unwrap();
    for (path, text) in &files {
        std::fs::write(repo.join(path), text).unwrap();
    }
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "fabric"]);
    let ca = temp.path().join("ca.crt");
    std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
    let config_text = format!(
        "[[fabric]]\nname = \"bench\"\n[fabric.kubernetes]\nserver = \"https://127.0.0.1:1\"\ntoken_env = \"UNUSED\"\nca_cert_file = \"{}\"\n[fabric.git]\nurl = \"{}\"\nbranch = \"main\"\ndirectory = \"fabric\"\n",
        ca.display(),
        repo.display()
    );
    let config = Config::parse(&config_text, &temp.path().join("c.toml")).unwrap();
    group.bench_function("full_sync_from_git", |b| {
        b.iter(|| {
            let report =
                hhdash::sync::sync_fabric(&config.fabrics[0], &store, temp.path(), |_, _| Ok(None))
                    .unwrap();
            assert_eq!(report.objects(), DOCUMENTS);
        })
    });
    group.finish();
}

/// Runs the real binary once: (wall time, peak RSS in bytes) of the child alone.
///
/// The peak is the child's `VmHWM`, polled until it exits: the high-water mark of its own
/// memory since exec. (wait4's `ru_maxrss` would not do: Linux carries the spawning process's
/// peak over exec into it, so it would report this bench's memory.)
fn run_hhdash(args: &[&std::ffi::OsStr], home: &std::path::Path) -> (std::time::Duration, u64) {
    let started = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hhdash"))
        .args(args)
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let deadline = started + std::time::Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "hhdash sync failed: {status}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "hhdash sync hangs");
        let high_water = std::fs::read_to_string(&status_file).ok().and_then(|text| {
            let line = text.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
            line.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        });
        peak = peak.max(high_water.unwrap_or(0) * 1024);
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    (started.elapsed(), peak)
}

fn bench_alias_bomb(c: &mut Criterion) {
    let bomb = testenv::fixtures::alias_bomb();
    let mut group = c.benchmark_group("alias_bomb");
    group.throughput(Throughput::Bytes(bomb.len() as u64));
    group.sample_size(10);
    group.bench_function("parse_150kb_bomb", |b| {
        b.iter(|| {
            let set = desired::parse_files(
                [("bomb.yaml", bomb.as_bytes())],
                &hhdash::config::Namespaces::single("default"),
                "0",
            );
            assert_eq!(set.skipped.len(), 1);
            black_box(set)
        })
    });
    group.finish();

    // The real binary, on a small fabric with and without the bomb file.
    let temp = tempfile::tempdir().unwrap();
    let files = generated_fabric(200, 100);
    let mut rows = Vec::new();
    for with_bomb in [false, true] {
        let repo = temp.path().join(format!("repo-{with_bomb}"));
        std::fs::create_dir_all(repo.join("fabric")).unwrap();
        for (path, text) in &files {
            std::fs::write(repo.join(path), text).unwrap();
        }
        if with_bomb {
            std::fs::write(repo.join("fabric/bomb.yaml"), &bomb).unwrap();
        }
        git(&repo, &["init", "-q"]);
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "fabric"]);
        let ca = temp.path().join("ca.crt");
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let config = temp.path().join(format!("config-{with_bomb}.toml"));
        std::fs::write(&config, format!(
            "[[fabric]]\nname = \"bench\"\n[fabric.kubernetes]\nserver = \"https://127.0.0.1:1\"\ntoken_env = \"UNUSED\"\nca_cert_file = \"{}\"\n[fabric.git]\nurl = \"{}\"\nbranch = \"main\"\ndirectory = \"fabric\"\n",
            ca.display(),
            repo.display()
        )).unwrap();
        let store = temp.path().join(format!("store-{with_bomb}.redb"));
        let args = [
            "--config".as_ref(),
            config.as_os_str(),
            "--store".as_ref(),
            store.as_os_str(),
            "sync".as_ref(),
        ];
        let mut runs: Vec<(std::time::Duration, u64)> =
            (0..5).map(|_| run_hhdash(&args, temp.path())).collect();
        runs.sort();
        let median_time = runs[runs.len() / 2].0;
        let peak_rss = runs.iter().map(|r| r.1).max().unwrap();
        rows.push((with_bomb, median_time, peak_rss));
    }
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    println!(
        "\n| `hhdash sync`, a 200-document fabric | wall time (median of 5) | peak RSS (max of 5) |"
    );
    println!("|---|---|---|");
    for (with_bomb, time, rss) in &rows {
        let what = if *with_bomb {
            "with the 150 KB alias bomb"
        } else {
            "without it"
        };
        println!(
            "| {what} | {:.0} ms | {:.1} MiB |",
            time.as_secs_f64() * 1000.0,
            mib(*rss)
        );
    }
    let extra_time = rows[1].1.saturating_sub(rows[0].1);
    let extra_rss = rows[1].2.saturating_sub(rows[0].2);
    let verdict = if extra_time.as_secs_f64() < 1.0 && mib(extra_rss) < 64.0 {
        "within budget (< 1 s, < 64 MiB)"
    } else {
        "OVER BUDGET (< 1 s, < 64 MiB)"
    };
    println!(
        "| the bomb's cost | +{:.0} ms | +{:.1} MiB |\n\n{verdict}\n",
        extra_time.as_secs_f64() * 1000.0,
        mib(extra_rss)
    );
}

criterion_group!(benches, bench_sync, bench_alias_bomb);
criterion_main!(benches);
