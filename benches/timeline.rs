//! The fabric timeline on a real redb file at its default bound (64 MiB per fabric): appending
//! bursts of lines once it is full (every append also evicts), and reading a one-minute window
//! and the newest 500 lines (what the dashboard's snapshot reads) out of the full timeline.
//! Run: `cargo bench --bench timeline` (elem/s = lines/s).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hhdash::kinds::ObjectKey;
use hhdash::store::{LogEntry, LogKind, Store, TimelineQuery};

const FABRIC: &str = "bench";
const BURST: usize = 100;

fn line(time: i64, i: usize) -> LogEntry {
    // Every other line is kept (drift), so both budgets fill within a bearable setup.
    let what = if i.is_multiple_of(2) {
        LogKind::Drift
    } else {
        LogKind::Modified
    };
    let name = format!("vpc-{i:06}");
    LogEntry {
        time,
        what,
        object: Some(format!("VPC/{name}")),
        message: format!(
            "spec.subnets.default.vlan: 1001 → {} · modified in the cluster",
            i % 4000
        ),
        key: Some(ObjectKey {
            kind: "VPC".into(),
            namespace: "default".into(),
            name,
        }),
    }
}

/// Fills the timeline over the last six days, a burst of 1,000 lines every 1,000 s, until both
/// budgets have evicted (the kept budget is 48 MiB: ~230,000 lines of ~220 bytes).
fn full_store(dir: &std::path::Path) -> (Store, i64) {
    let store = Store::open(&dir.join("timeline.redb")).unwrap();
    let now = hhdash::status::now();
    let start = now - 6 * 86_400;
    let mut i = 0;
    let bursts = 600;
    for burst in 0..bursts {
        let time = start + burst as i64 * 1000;
        let lines: Vec<LogEntry> = (0..1000)
            .map(|_| {
                i += 1;
                line(time, i)
            })
            .collect();
        store.append_log(FABRIC, &lines).unwrap();
    }
    (store, start)
}

/// Benches one timeline query, after checking it finds lines (a bench of an empty answer
/// measures nothing).
fn bench_query(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    store: &Store,
    name: &str,
    what: &str,
    query: &TimelineQuery,
) {
    let found = store.timeline(FABRIC, query).unwrap().len();
    eprintln!("{what} holds {found} lines");
    assert!(
        found > 0,
        "{what} must hold lines, or the bench measures nothing"
    );
    group.bench_function(name, |b| {
        b.iter(|| black_box(store.timeline(FABRIC, query).unwrap().len()))
    });
}

fn bench_timeline(c: &mut Criterion) {
    let temp = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let (store, start) = full_store(temp.path());
    let all = store.log(FABRIC, usize::MAX).unwrap();
    let size = std::fs::metadata(temp.path().join("timeline.redb"))
        .unwrap()
        .len();
    println!(
        "full timeline: {} lines ({} kept), file {} MiB, filled in {:.1?}",
        all.len(),
        all.iter().filter(|e| e.what == LogKind::Drift).count(),
        size >> 20,
        started.elapsed()
    );
    drop(all);

    let mut group = c.benchmark_group("timeline_full_64MiB");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1));
    // A one-minute window in the kept range holding one burst (its 500 kept lines).
    let middle = start + 400 * 1000;
    let window = TimelineQuery {
        since: Some(middle),
        until: Some(middle + 59),
        ..TimelineQuery::default()
    };
    bench_query(
        &mut group,
        &store,
        "window_query_1_minute",
        "the one-minute window",
        &window,
    );
    group.bench_function("newest_500", |b| {
        b.iter(|| black_box(store.log(FABRIC, 500).unwrap().len()))
    });
    let one_object = TimelineQuery {
        since: Some(hhdash::status::now() - 86_400),
        // Burst 500: inside the last day (the bursts run from six days ago to a day ahead).
        object: Some("VPC/vpc-500002".into()),
        kinds: vec![LogKind::Drift],
        ..TimelineQuery::default()
    };
    bench_query(
        &mut group,
        &store,
        "drift_of_one_object_last_day",
        "the object's drift over the last day",
        &one_object,
    );
    // Last: appending evicts the oldest lines, which the reads above must still find.
    group.throughput(Throughput::Elements(BURST as u64));
    let mut i = 10_000_000;
    group.bench_function("append_burst_of_100_evicting", |b| {
        b.iter(|| {
            let now = hhdash::status::now();
            let lines: Vec<LogEntry> = (0..BURST)
                .map(|_| {
                    i += 1;
                    line(now, i)
                })
                .collect();
            store.append_log(FABRIC, &lines).unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, bench_timeline);
criterion_main!(benches);
