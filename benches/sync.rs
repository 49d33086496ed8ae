//! Sync throughput on a generated 10,000-document fabric, beside raw serde_yaml parsing of the
//! same bytes. Run: `cargo bench --bench sync` (criterion prints documents/s as elem/s).

#[path = "fixture.rs"]
mod fixture;

use std::hint::black_box;
use std::process::Command;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hhdash::config::Config;
use hhdash::desired;
use hhdash::store::Store;

const DOCUMENTS: usize = 10_000;
const PER_FILE: usize = 100;

fn git(repo: &std::path::Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "user.name=b",
            "-c",
            "user.email=b@b",
        ])
        .args(args)
        .current_dir(repo)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .status()
        .unwrap();
    assert!(status.success());
}

fn bench_sync(c: &mut Criterion) {
    let files = fixture::generated_fabric(DOCUMENTS, PER_FILE);
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
                "default",
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
                "default",
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

criterion_group!(benches, bench_sync);
criterion_main!(benches);
