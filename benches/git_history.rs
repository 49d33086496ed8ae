//! The Git side of drift attribution on a repository of 1,000 commits: the commit that set a
//! drifted value, found by walking the file's history. Run: `cargo bench --bench git_history`.
//!
//! * `origin_1000/file_changes_every_commit`: worst case — every commit rewrites the object's
//!   file (another VPC's vlan), and the drifted value was set by the first commit, so the walk
//!   reads and parses all 1,000 versions of the file. Cold: a fresh cache each time.
//! * `origin_1000/other_files_change`: the usual case — commits touch other files; the walk
//!   compares blob ids and parses only the file's versions that differ.
//! * `origin_1000/cached`: the same lookup asked again (the detail view reopened).
//! * `fetch_1000`: what `git.history_depth` costs a first sync of a `file://` remote: a fresh
//!   cache clone at depth 1 (the old behaviour), 300 (the default) and 1,000 (everything).

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use criterion::{Criterion, criterion_group, criterion_main};
use hhdash::config::Namespaces;
use hhdash::desired::Source;
use hhdash::git::{GitSource, HistoryCache, ReadLimits, fetch_snapshot};
use hhdash::kinds::ObjectKey;
use testenv::support::{git, git_command};

const COMMITS: usize = 1000;
const VPCS: usize = 50;

fn vpcs(vlans: &[usize]) -> String {
    vlans
        .iter()
        .enumerate()
        .map(|(i, vlan)| {
            format!(
                "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-{i}\n\
                 spec:\n  subnets:\n    default:\n      subnet: 10.{}.{}.0/24\n      vlan: {vlan}\n---\n",
                i / 250,
                i % 250
            )
        })
        .collect()
}

/// A repository of [`COMMITS`] commits made with `git fast-import`. `every_commit`: each
/// commit changes another VPC's vlan in `fabric/vpcs.yaml`; otherwise each commit changes
/// `fabric/other-N.yaml`. vpc-0's vlan never changes after the first commit. Returns the tip.
fn repository(dir: &Path, every_commit: bool) -> String {
    git(dir, &["init", "-q"]);
    let mut stream = String::new();
    let mut vlans: Vec<usize> = (0..VPCS).map(|i| 1000 + i).collect();
    for n in 0..COMMITS {
        let mut files = Vec::new();
        if n == 0 {
            files.push(("fabric/vpcs.yaml".to_string(), vpcs(&vlans)));
        } else if every_commit {
            vlans[1 + n % (VPCS - 1)] += 100;
            files.push(("fabric/vpcs.yaml".to_string(), vpcs(&vlans)));
        } else {
            files.push((
                format!("fabric/other-{}.yaml", n % 20),
                format!("# change {n}\n"),
            ));
        }
        let message = format!("change {n}");
        let time = 1_700_000_000 + n * 60;
        stream.push_str(&format!(
            "commit refs/heads/main\nauthor Dev{} <dev@example.invalid> {time} +0000\n\
             committer Dev <dev@example.invalid> {time} +0000\ndata {}\n{message}\n",
            n % 7,
            message.len()
        ));
        for (path, content) in files {
            stream.push_str(&format!(
                "M 100644 inline {path}\ndata {}\n{content}\n",
                content.len()
            ));
        }
    }
    let mut child = git_command(dir)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    git(dir, &["rev-parse", "refs/heads/main"])
}

fn lookup(repo: &Path, cache: &mut HistoryCache, tip: &str) {
    let url = repo.to_str().unwrap();
    let source = GitSource {
        fabric: "bench",
        url,
        branch: "main",
        directory: "fabric",
        token: None,
        limits: ReadLimits::default(),
    };
    let key = ObjectKey {
        kind: "VPC".into(),
        namespace: "default".into(),
        name: "vpc-0".into(),
    };
    let desired = Source {
        file: "fabric/vpcs.yaml".into(),
        document: 0,
        line: 1,
        commit: tip.into(),
    };
    let paths = ["spec.subnets.default.vlan".to_string()];
    let explained = cache.explain(
        &source,
        Path::new("/nonexistent"),
        &Namespaces::single("default"),
        &key,
        &desired,
        &paths,
    );
    let origin = explained.paths[0].git.as_ref().expect("an origin");
    assert!(!origin.at_or_before, "the first commit set it: {origin}");
    black_box(explained);
}

fn bench_origin(c: &mut Criterion) {
    let mut group = c.benchmark_group("origin_1000");
    group.sample_size(10);
    let every = tempfile::tempdir().unwrap();
    let every_tip = repository(every.path(), true);
    group.bench_function("file_changes_every_commit", |b| {
        b.iter(|| lookup(every.path(), &mut HistoryCache::default(), &every_tip))
    });
    let other = tempfile::tempdir().unwrap();
    let other_tip = repository(other.path(), false);
    group.bench_function("other_files_change", |b| {
        b.iter(|| lookup(other.path(), &mut HistoryCache::default(), &other_tip))
    });
    let mut cache = HistoryCache::default();
    lookup(every.path(), &mut cache, &every_tip);
    group.bench_function("cached", |b| {
        b.iter(|| lookup(every.path(), &mut cache, &every_tip))
    });
    group.finish();

    let mut group = c.benchmark_group("fetch_1000");
    group.sample_size(10);
    let url = format!("file://{}", every.path().display());
    for depth in [1, 300, 1000] {
        group.bench_function(format!("depth_{depth}"), |b| {
            b.iter(|| {
                let cache = tempfile::tempdir().unwrap();
                let source = GitSource {
                    fabric: "bench",
                    url: &url,
                    branch: "main",
                    directory: "fabric",
                    token: None,
                    limits: ReadLimits {
                        history_depth: depth,
                        ..Default::default()
                    },
                };
                black_box(fetch_snapshot(&source, cache.path()).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_origin);
criterion_main!(benches);
