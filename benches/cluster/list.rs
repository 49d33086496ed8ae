//! Scenario 1: a live list of 10,000 objects into the store, beside the same list without the
//! store and `kubectl get`.

use super::*;

pub async fn list_scenario(s: &Settings) {
    let ns = "bench-list";
    println!(
        "\n## `list`: live list of {} objects into the store\n",
        s.list_objects
    );
    let plane = start_plane(ns).await;
    let cpu_start = CpuSample::take(&plane);
    let objects = fixture_objects(s.list_objects, ns);
    let expected = count_kinds(
        objects
            .iter()
            .map(|o| o["kind"].as_str().unwrap_or_default()),
    );
    let admin = plane.client(Identity::Admin);
    let created_in = create_all(&admin, ns, &objects, CREATE_CONCURRENCY).await;
    drop(objects);

    let temp = tempfile::tempdir().expect("creating a temp dir");
    let fabric = fabric_config(&plane, ns, temp.path(), None);
    let token = Secret::new(
        std::fs::read_to_string(plane.token_file(Identity::Operator))
            .expect("reading the operator token file"),
    );
    let client =
        FabricClient::new(&fabric, &token).unwrap_or_else(|e| panic!("hhdash's client: {e}"));
    tokio::time::timeout(Duration::from_secs(60), client.check(false))
        .await
        .expect("hhdash's connection check took over 60 s")
        .unwrap_or_else(|e| panic!("hhdash's connection check: {e}"));
    let store = Store::open(&temp.path().join("bench.redb"))
        .unwrap_or_else(|e| panic!("opening the store: {e}"));

    // Untimed warm-up, and the proof that hhdash lists exactly what was created.
    let warm = list_sequential(&client).await;
    let listed = count_kinds(warm.iter().map(|(k, _)| k.kind.as_str()));
    assert_eq!(listed, expected, "hhdash lists every created object");
    let bytes: usize = warm
        .iter()
        .map(|(_, v)| serde_json::to_vec(v).map(|b| b.len()).unwrap_or(0))
        .sum();
    drop(warm);
    let total = s.list_objects;

    let resources: Vec<&str> = kinds::KINDS.iter().map(|k| k.plural).collect();
    let resources = resources.join(",");
    // kubectl's first run fills its discovery cache (--cache-dir in the plane's temp dir).
    let (kubectl_cold, _) = kubectl_get(&plane, ns, &resources, false).await;

    let mut full = Vec::new();
    let mut full_list = Vec::new();
    let mut full_store = Vec::new();
    let mut list_only = Vec::new();
    let mut list_concurrent = Vec::new();
    let mut kubectl_warm = Vec::new();
    // Interleaved, so a load spike from elsewhere hits every contender alike.
    for _ in 0..s.list_runs {
        settle().await;
        let t = Instant::now();
        let entries = list_sequential(&client).await;
        let listed_in = t.elapsed();
        assert_eq!(entries.len(), total, "hhdash listed every object");
        let written = write_store(&store, entries);
        let took = t.elapsed();
        drop(written);
        full.push(took);
        full_list.push(listed_in);
        full_store.push(took - listed_in);

        settle().await;
        let t = Instant::now();
        let entries = list_sequential(&client).await;
        list_only.push(t.elapsed());
        assert_eq!(entries.len(), total, "hhdash listed every object");
        drop(entries);

        settle().await;
        let t = Instant::now();
        let entries = list_concurrent_all(&client).await;
        list_concurrent.push(t.elapsed());
        assert_eq!(entries.len(), total, "hhdash listed every object");
        drop(entries);

        settle().await;
        kubectl_warm.push(kubectl_get(&plane, ns, &resources, false).await.0);
    }

    // kubectl really returns all of them (checked outside the timed runs).
    let (_, output) = kubectl_get(&plane, ns, &resources, true).await;
    let output = output.unwrap_or_default();
    let kubectl_bytes = output.len();
    let output: Value = serde_json::from_slice(&output).expect("kubectl -o json prints JSON");
    let kubectl_items = output["items"].as_array().map_or(0, Vec::len);
    assert_eq!(kubectl_items, total, "kubectl lists every object");
    let stored = store
        .live(FABRIC)
        .unwrap_or_else(|e| panic!("reading the store: {e}"));
    assert_eq!(stored.len(), total, "the store holds every object");
    let cpu = CpuSample::take(&plane).since(&cpu_start);

    let rate = |d: Duration| format!("{:.0}/s", total as f64 / d.as_secs_f64());
    let kinds_line = expected
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    println!("Reproduce: `cargo bench --bench cluster -- list`\n");
    println!(
        "Objects: {kinds_line}; {} KiB as hhdash stores them (managedFields stripped), {} KiB as kubectl prints them.\n",
        bytes / 1024,
        kubectl_bytes / 1024
    );
    println!(
        "kubectl command (c): `kubectl --kubeconfig=<admin kubeconfig> --cache-dir=<plane dir> get {resources} -n {ns} -o json --request-timeout=60s >/dev/null`; runs are interleaved a, b, b', c with 1 s pauses.\n"
    );
    println!("| step | runs | median | min | objects/s (median) |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| create {total} objects (admin client, {CREATE_CONCURRENCY} in flight) | 1 | {} | | {} |",
        fmt_dur(created_in),
        rate(created_in)
    );
    let row = |what: &str, runs: &[Duration]| {
        println!(
            "| {what} | {} | {} | {} | {} |",
            runs.len(),
            fmt_dur(median(runs)),
            fmt_dur(min(runs)),
            rate(median(runs))
        );
    };
    row(
        "**(a) hhdash: `FabricClient::list` × 13 kinds + `Store::write_live` (one transaction)**",
        &full,
    );
    row("  (a) of which: list", &full_list);
    row("  (a) of which: store write", &full_store);
    row(
        "(b) hhdash: `FabricClient::list` × 13 kinds, sequential, no store",
        &list_only,
    );
    row(
        "(b') hhdash: the 13 lists concurrently (as the engine's watchers start), no store",
        &list_concurrent,
    );
    row(
        "(c) `kubectl get <13 plurals> -n NS -o json >/dev/null`, run 1 (cold discovery cache)",
        &[kubectl_cold],
    );
    row(
        "**(c) `kubectl get <13 plurals> -n NS -o json >/dev/null`, warm discovery cache**",
        &kubectl_warm,
    );
    let (ours, theirs) = (median(&full), median(&kubectl_warm));
    println!(
        "\nTarget hhdash (a) no slower than kubectl (c, warm): {} vs {} → {} ({:.2}×).",
        fmt_dur(ours),
        fmt_dur(theirs),
        if ours <= theirs { "met" } else { "NOT met" },
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
    println!("{}", cpu.describe());
    println!(
        "Bench process peak RSS (hhdash's lists + store, kubectl excluded): {}.",
        peak_rss()
    );
}

/// A pause between contenders, so one's aftermath (the API server's garbage collection after
/// a 10,000-object response) does not land on the next one's clock.
pub async fn settle() {
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Every registry kind, one after another (as `hhdash diff` does).
pub async fn list_sequential(client: &FabricClient) -> Vec<(ObjectKey, Value)> {
    let mut all = Vec::new();
    for info in kinds::KINDS {
        all.extend(list_kind(client, info).await);
    }
    all
}

pub async fn list_concurrent_all(client: &FabricClient) -> Vec<(ObjectKey, Value)> {
    futures::future::join_all(kinds::KINDS.iter().map(|info| list_kind(client, info)))
        .await
        .into_iter()
        .flatten()
        .collect()
}

pub async fn list_kind(client: &FabricClient, info: &KindInfo) -> Vec<(ObjectKey, Value)> {
    tokio::time::timeout(LIST_TIMEOUT, client.list(info))
        .await
        .unwrap_or_else(|_| panic!("listing {} took over {LIST_TIMEOUT:?}", info.plural))
        .unwrap_or_else(|e| panic!("listing {}: {e}", info.plural))
}

/// `kubectl get RESOURCES -n NS -o json`, one process, stdout to /dev/null unless `capture`.
pub async fn kubectl_get(
    plane: &ControlPlane,
    ns: &str,
    resources: &str,
    capture: bool,
) -> (Duration, Option<Vec<u8>>) {
    let mut cmd = plane.kubectl(Identity::Admin);
    cmd.args([
        "get",
        resources,
        "-n",
        ns,
        "-o",
        "json",
        "--request-timeout=60s",
    ])
    .stdin(Stdio::null())
    .stdout(if capture {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stderr(Stdio::piped());
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.kill_on_drop(true);
    let t = Instant::now();
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("starting kubectl: {e}"));
    let out = tokio::time::timeout(KUBECTL_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("kubectl get {resources} took over {KUBECTL_TIMEOUT:?}"))
        .expect("waiting for kubectl");
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "kubectl get {resources} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (took, capture.then_some(out.stdout))
}
