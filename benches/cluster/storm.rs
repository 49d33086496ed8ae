//! The watch storm's writer (merge-patches at a target rate) and its report: what became
//! visible when, and the Markdown table.

use super::*;

/// Merge-patches `SEQ_ANNOTATION` on round-robin targets at `rate` per second for `secs`.
pub async fn storm(
    plane: &ControlPlane,
    targets: &Arc<Vec<Target>>,
    seen: &Arc<Mutex<Seen>>,
    rate: f64,
    secs: f64,
    first_seq: u64,
) -> Storm {
    let cpu_start = CpuSample::take(plane);
    let engine_start = seen.lock().expect("seen lock").counters();
    let planned = (rate * secs).round() as u64;
    let semaphore = Arc::new(Semaphore::new(STORM_CONCURRENCY));
    let mut tasks = JoinSet::new();
    let mut writes = Vec::with_capacity(planned as usize);
    let mut failures = Vec::new();
    let mut collect = |done: Result<Result<Write, String>, tokio::task::JoinError>| match done {
        Ok(Ok(write)) => writes.push(write),
        Ok(Err(error)) => failures.push(error),
        Err(error) => failures.push(format!("a patch task failed: {error}")),
    };
    let start = Instant::now() + Duration::from_millis(20);
    let end = start + Duration::from_secs_f64(secs);
    let mut issued = 0;
    let mut max_behind = Duration::ZERO;
    while issued < planned {
        let due = start + Duration::from_secs_f64(issued as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let permit = semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore stays open");
        let now = Instant::now();
        if now >= end {
            break; // what did not go out within the window was not sustained
        }
        max_behind = max_behind.max(now - due);
        let seq = first_seq + issued;
        let target = (seq % targets.len() as u64) as usize;
        let targets = targets.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let t = &targets[target];
            let patch = json!({"metadata": {"annotations": {SEQ_ANNOTATION: seq.to_string()}}});
            let sent = Instant::now();
            let answer = tokio::time::timeout(
                PATCH_TIMEOUT,
                t.api
                    .patch(&t.key.name, &PatchParams::default(), &Patch::Merge(&patch)),
            )
            .await;
            let ack = Instant::now();
            match answer {
                Ok(Ok(object)) => Ok(Write {
                    seq,
                    target,
                    sent,
                    ack,
                    rv: object
                        .metadata
                        .resource_version
                        .as_deref()
                        .and_then(|rv| rv.parse().ok())
                        .ok_or_else(|| format!("patching {}: no numeric resourceVersion", t.key))?,
                }),
                Ok(Err(error)) => Err(format!("patching {}: {error}", t.key)),
                Err(_) => Err(format!(
                    "patching {}: no answer in {PATCH_TIMEOUT:?}",
                    t.key
                )),
            }
        });
        issued += 1;
        while let Some(done) = tasks.try_join_next() {
            collect(done);
        }
    }
    let deadline = tokio::time::Instant::now() + PATCH_TIMEOUT + Duration::from_secs(5);
    while let Some(done) = tokio::time::timeout_at(deadline, tasks.join_next())
        .await
        .expect("patches still unanswered long after the storm")
    {
        collect(done);
    }
    writes.sort_by_key(|w| w.seq);
    let engine_end = seen.lock().expect("seen lock").counters();
    let mut engine = [0; 4];
    for (i, slot) in engine.iter_mut().enumerate() {
        *slot = engine_end[i] - engine_start[i];
    }
    Storm {
        rate,
        secs,
        start,
        planned,
        issued,
        writes,
        failures,
        max_behind,
        cpu: CpuSample::take(plane).since(&cpu_start),
        engine,
    }
}

/// The `SEQ_ANNOTATION` of every target as the server has it now.
pub async fn server_seqs(targets: &[Target]) -> Vec<Option<u64>> {
    let mut by_kind: BTreeMap<&str, &Api<DynamicObject>> = BTreeMap::new();
    for t in targets {
        by_kind.entry(t.key.kind.as_str()).or_insert(&t.api);
    }
    let mut seqs: HashMap<(String, String), Option<u64>> = HashMap::new();
    for (kind, api) in by_kind {
        let list = tokio::time::timeout(LIST_TIMEOUT, api.list(&ListParams::default()))
            .await
            .unwrap_or_else(|_| panic!("listing {kind} took over {LIST_TIMEOUT:?}"))
            .unwrap_or_else(|e| panic!("listing {kind} as admin: {e}"));
        for object in list.items {
            let seq = object
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(SEQ_ANNOTATION))
                .and_then(|s| s.parse().ok());
            let name = object.metadata.name.unwrap_or_default();
            seqs.insert((kind.to_string(), name), seq);
        }
    }
    targets
        .iter()
        .map(|t| {
            *seqs
                .get(&(t.key.kind.clone(), t.key.name.clone()))
                .unwrap_or_else(|| panic!("{} is gone from the server", t.key))
        })
        .collect()
}

/// When each write became visible: the first `Rows` event carrying that write or a later one
/// (in the server's order) of the same object.
pub fn visible_at(
    writes: &[Write],
    observed: &[Vec<(u64, Instant)>],
    rv_of: &HashMap<u64, u64>,
) -> Vec<Option<Instant>> {
    writes
        .iter()
        .map(|w| {
            observed[w.target]
                .iter()
                .find(|(seq, _)| rv_of.get(seq).is_some_and(|rv| *rv >= w.rv))
                .map(|(_, at)| *at)
        })
        .collect()
}

pub fn print_storm(
    n: usize,
    storm: &Storm,
    seen: &Seen,
    rv_of: &HashMap<u64, u64>,
    problems: &mut Vec<String>,
) {
    let writes = &storm.writes;
    let visible = visible_at(writes, &seen.observed, rv_of);
    let observed_seqs: std::collections::HashSet<u64> = seen
        .observed
        .iter()
        .flat_map(|o| o.iter().map(|(seq, _)| *seq))
        .collect();
    let exact = writes
        .iter()
        .filter(|w| observed_seqs.contains(&w.seq))
        .count();
    let reflected = visible.iter().filter(|v| v.is_some()).count();
    let mut early = 0;
    let mut lags: Vec<Duration> = writes
        .iter()
        .zip(&visible)
        .filter_map(|(w, v)| {
            let v = (*v)?;
            if v < w.ack {
                early += 1;
            }
            Some(v.saturating_duration_since(w.ack))
        })
        .collect();
    lags.sort();
    let raw_visible = visible_at(writes, &seen.raw, rv_of);
    let mut raw_lags: Vec<Duration> = writes
        .iter()
        .zip(&raw_visible)
        .filter_map(|(w, v)| Some(v.as_ref()?.saturating_duration_since(w.ack)))
        .collect();
    raw_lags.sort();
    let mut engine_delay: Vec<Duration> = raw_visible
        .iter()
        .zip(&visible)
        .filter_map(|(raw, rows)| Some(rows.as_ref()?.saturating_duration_since(*raw.as_ref()?)))
        .collect();
    engine_delay.sort();
    let mut upper: Vec<Duration> = writes
        .iter()
        .zip(&visible)
        .filter_map(|(w, v)| Some(v.as_ref()?.saturating_duration_since(w.sent)))
        .collect();
    upper.sort();
    let four = |d: &[Duration]| {
        format!(
            "{} / {} / {} / {}",
            fmt_dur(pct(d, 50.0)),
            fmt_dur(pct(d, 90.0)),
            fmt_dur(pct(d, 99.0)),
            fmt_dur(pct(d, 100.0))
        )
    };
    let mut latencies: Vec<Duration> = writes.iter().map(|w| w.ack - w.sent).collect();
    latencies.sort();
    let last_ack = writes.iter().map(|w| w.ack).max().unwrap_or(storm.start);
    let span = last_ack
        .saturating_duration_since(storm.start)
        .as_secs_f64();
    let achieved = writes.len() as f64 / span.max(f64::EPSILON);
    // Objects patched again while an earlier patch of theirs was still in flight.
    let reordered = {
        let mut by_target: HashMap<usize, Vec<&Write>> = HashMap::new();
        for w in writes {
            by_target.entry(w.target).or_default().push(w);
        }
        by_target
            .values()
            .map(|ws| ws.windows(2).filter(|p| p[1].rv < p[0].rv).count())
            .sum::<usize>()
    };
    let [rows, upserts, logs, _] = storm.engine;
    println!(
        "### storm {n}: target {:.0} changes/s for {:.0} s{}\n",
        storm.rate,
        storm.secs,
        if n > 1 {
            " (the rate the first storm showed this machine sustains, with margin)"
        } else {
            ""
        }
    );
    println!("| metric | value |");
    println!("|---|---|");
    println!(
        "| writes planned / issued / acknowledged / failed | {} / {} / {} / {} |",
        storm.planned,
        storm.issued,
        writes.len(),
        storm.failures.len()
    );
    println!(
        "| **achieved write rate** | **{achieved:.0}/s** ({} acknowledged in {span:.1} s; writer at most {} behind schedule, {STORM_CONCURRENCY} in flight max) |",
        writes.len(),
        fmt_dur(storm.max_behind)
    );
    println!(
        "| patch latency, send → ack, p50 / p99 / max | {} / {} / {} |",
        fmt_dur(pct(&latencies, 50.0)),
        fmt_dur(pct(&latencies, 99.0)),
        fmt_dur(pct(&latencies, 100.0))
    );
    println!(
        "| **changes reflected** in Rows events (the write or a later one of its object) | **{reflected} / {}** |",
        writes.len()
    );
    println!(
        "| seqs observed exactly (the rest coalesced into a later value in the same burst) | {exact} ({:.1}%) |",
        100.0 * exact as f64 / writes.len().max(1) as f64
    );
    println!(
        "| **lag, ack → visible in Rows, p50 / p90 / p99 / max** | **{} / {} / {} / {}** |",
        fmt_dur(pct(&lags, 50.0)),
        fmt_dur(pct(&lags, 90.0)),
        fmt_dur(pct(&lags, 99.0)),
        fmt_dur(pct(&lags, 100.0))
    );
    println!("| visible before the writer had the ack (counted as 0) | {early} |");
    println!(
        "| of which API server: ack → reference kube watcher event, p50 / p90 / p99 / max | {} ({} of {} seen) |",
        four(&raw_lags),
        raw_lags.len(),
        writes.len()
    );
    println!(
        "| of which engine: reference watcher event → Rows event, p50 / p90 / p99 / max | {} |",
        four(&engine_delay)
    );
    println!(
        "| send → visible in Rows (upper bound: includes the patch round trip), p50 / p90 / p99 / max | {} |",
        four(&upper)
    );
    println!(
        "| engine during the storm: Rows events / upserts / Log events | {rows} / {upserts} / {logs} (mean {:.1} upserts per Rows event) |",
        upserts as f64 / rows.max(1) as f64
    );
    // Gaps between Rows events while changes kept coming: the engine's stalls.
    let during: Vec<(Instant, usize)> = seen
        .rows_at
        .iter()
        .copied()
        .filter(|(at, _)| *at >= storm.start && *at <= last_ack)
        .collect();
    let gaps: Vec<Duration> = during.windows(2).map(|p| p[1].0 - p[0].0).collect();
    let max_gap = gaps.iter().max().copied().unwrap_or_default();
    let long_gaps = gaps
        .iter()
        .filter(|g| **g >= Duration::from_millis(100))
        .count();
    let max_burst = during.iter().map(|(_, n)| *n).max().unwrap_or(0);
    println!(
        "| engine stalls: longest gap between Rows events / gaps ≥ 100 ms / largest Rows event | {} / {long_gaps} / {max_burst} upserts |",
        fmt_dur(max_gap)
    );
    println!("| same object patched out of order (concurrent patches) | {reordered} |");
    println!("| CPU during the storm | {} |", storm.cpu.describe_short());
    let p99 = pct(&lags, 99.0);
    println!(
        "\nTarget p99 < 1 s: {} (p99 {}). Rate {:.0}/s {}.\n",
        if p99 < Duration::from_secs(1) {
            "met"
        } else {
            "NOT met"
        },
        fmt_dur(p99),
        storm.rate,
        if achieved >= SUSTAINED_SHARE * storm.rate {
            "sustained"
        } else {
            "NOT sustained"
        }
    );
    // Lag over time: does it grow?
    println!(
        "| window (by ack time) | acked | rate | lag p50 | lag p99 | lag max | API server p99 | engine p99 |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let window = 5.0;
    let windows = (storm.secs / window).ceil() as usize + 1;
    for i in 0..windows {
        let (from, to) = (i as f64 * window, (i + 1) as f64 * window);
        let in_window: Vec<usize> = (0..writes.len())
            .filter(|&i| {
                let at = writes[i]
                    .ack
                    .saturating_duration_since(storm.start)
                    .as_secs_f64();
                at >= from && at < to
            })
            .collect();
        if in_window.is_empty() {
            continue;
        }
        let sorted = |f: &dyn Fn(usize) -> Option<Duration>| {
            let mut d: Vec<Duration> = in_window.iter().filter_map(|&i| f(i)).collect();
            d.sort();
            d
        };
        let lags = sorted(&|i| Some(visible[i]?.saturating_duration_since(writes[i].ack)));
        let raw = sorted(&|i| Some(raw_visible[i]?.saturating_duration_since(writes[i].ack)));
        let engine = sorted(&|i| Some(visible[i]?.saturating_duration_since(raw_visible[i]?)));
        println!(
            "| {from:.0}–{to:.0} s | {} | {:.0}/s | {} | {} | {} | {} | {} |",
            in_window.len(),
            in_window.len() as f64 / window,
            fmt_dur(pct(&lags, 50.0)),
            fmt_dur(pct(&lags, 99.0)),
            fmt_dur(pct(&lags, 100.0)),
            fmt_dur(pct(&raw, 99.0)),
            fmt_dur(pct(&engine, 99.0))
        );
    }
    if !storm.failures.is_empty() {
        println!(
            "\nFailed patches ({}), first: {}",
            storm.failures.len(),
            storm.failures[0]
        );
    }
    println!();
    if reflected != writes.len() {
        problems.push(format!(
            "storm {n}: {} acknowledged changes never became visible",
            writes.len() - reflected
        ));
    }
}
