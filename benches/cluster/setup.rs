//! What both scenarios set up: the control plane, the fixture objects created in dependency
//! order, the same objects in a Git repository, and the fabric config pointing at both.

use super::*;

pub async fn start_plane(ns: &str) -> ControlPlane {
    let t = Instant::now();
    let plane = tokio::time::timeout(
        Duration::from_secs(120),
        ControlPlane::start_with(Options {
            namespaces: vec![ns.to_string()],
            webhook: std::env::var_os("HHDASH_BENCH_BARE").is_none(),
            ..Default::default()
        }),
    )
    .await
    .expect("the control plane did not start within 120 s")
    .unwrap_or_else(|e| {
        panic!("starting the control plane (scripts/build-control-plane builds it): {e}")
    });
    plane
        .grant(ns)
        .await
        .unwrap_or_else(|e| panic!("granting {ns}: {e}"));
    println!(
        "Control plane {} up in {} (Kubernetes {}, watch cache on, {}).\n",
        plane.server_url(),
        fmt_dur(t.elapsed()),
        testenv::KUBERNETES_VERSION,
        if plane.has_webhook() {
            "Hedgehog admission webhooks imitated"
        } else {
            "bare: no admission webhooks"
        }
    );
    plane
}

/// `count` documents of the fixture (renamed copies of nvidia-air-demo), moved to `ns`; every
/// kind one hhdash knows.
pub fn fixture_objects(count: usize, ns: &str) -> Vec<Value> {
    let objects = testenv::fixtures::generated_objects(count, ns);
    for object in &objects {
        let kind = object["kind"].as_str().unwrap_or_default();
        assert!(
            kinds::by_kind(kind).is_some(),
            "fixture kind {kind:?} is not in hhdash's registry"
        );
    }
    objects
}

pub fn count_kinds<'a>(kinds: impl Iterator<Item = &'a str>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for kind in kinds {
        *counts.entry(kind.to_string()).or_insert(0) += 1;
    }
    counts
}

/// Creates `objects` with bounded concurrency, one apply rank after the other (the admission
/// webhook refuses an object before what it refers to); retries a create that failed for want
/// of an answer (a 409 on a retry means the first attempt got through). Returns the wall time.
pub async fn create_all(
    client: &kube::Client,
    ns: &str,
    objects: &[Value],
    concurrency: usize,
) -> Duration {
    let t = Instant::now();
    let mut ranks: BTreeMap<Option<u8>, Vec<&Value>> = BTreeMap::new();
    for object in objects {
        let rank =
            kinds::by_kind(object["kind"].as_str().unwrap_or_default()).and_then(|k| k.apply_rank);
        ranks.entry(rank).or_default().push(object);
    }
    let results: Vec<Result<(), String>> = tokio::time::timeout(
        Duration::from_secs(600),
        futures::stream::iter(ranks.into_values())
            .then(|group| create_group(client, ns, group, concurrency))
            .flat_map(futures::stream::iter)
            .collect(),
    )
    .await
    .expect("creating the objects took over 10 minutes");
    let errors: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(
        errors.is_empty(),
        "{} of {} creates failed; first: {}",
        errors.len(),
        objects.len(),
        errors[0]
    );
    t.elapsed()
}

/// Creates one rank's objects, `concurrency` at a time; one result per object.
pub async fn create_group(
    client: &kube::Client,
    ns: &str,
    objects: Vec<&Value>,
    concurrency: usize,
) -> Vec<Result<(), String>> {
    futures::stream::iter(objects)
        .map(|object| {
            let client = client.clone();
            async move {
                let kind = object["kind"].as_str().unwrap_or_default();
                let name = object["metadata"]["name"].as_str().unwrap_or_default();
                let info = kinds::by_kind(kind).expect("fixture kinds are registered");
                let api: Api<DynamicObject> =
                    Api::namespaced_with(client, ns, &cluster::api_resource(info));
                let object: DynamicObject = serde_json::from_value(object.clone())
                    .map_err(|e| format!("{kind}/{name} is not an object: {e}"))?;
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let answer = tokio::time::timeout(
                        Duration::from_secs(30),
                        api.create(&PostParams::default(), &object),
                    )
                    .await;
                    let error = match answer {
                        Ok(Ok(_)) => return Ok(()),
                        Ok(Err(kube::Error::Api(s))) if s.code == 409 && attempt > 1 => {
                            return Ok(());
                        }
                        Ok(Err(kube::Error::Api(s))) if s.code < 500 && s.code != 429 => {
                            return Err(format!(
                                "creating {kind}/{name}: {} {}: {}",
                                s.code, s.reason, s.message
                            ));
                        }
                        Ok(Err(e)) => e.to_string(),
                        Err(_) => "no answer within 30 s".to_string(),
                    };
                    if attempt == 3 {
                        return Err(format!("creating {kind}/{name}: {error} (3 attempts)"));
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

/// A Git repository whose `fabric/` holds the same `count` fixture objects, in `ns`.
pub fn git_repo(dir: &Path, count: usize, ns: &str) -> std::path::PathBuf {
    let repo = dir.join("repo");
    for (path, text) in testenv::fixtures::generated_fabric(count, 100) {
        let path = repo.join(path);
        std::fs::create_dir_all(path.parent().expect("fixture paths have a directory"))
            .expect("creating the repository's directories");
        let text = text.replace(
            "\n  namespace: default\n",
            &format!("\n  namespace: {ns}\n"),
        );
        std::fs::write(&path, text).expect("writing a fixture file");
    }
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &["commit", "-q", "-m", "fabric"],
    ] {
        testenv::support::git(&repo, args);
    }
    repo
}

/// A fabric as `hhdash` would read it from its config: the plane's URL, the operator's token
/// file and the CA file; Git is `git` (repository, directory) or a path that is not one.
pub fn fabric_config(
    plane: &ControlPlane,
    ns: &str,
    dir: &Path,
    git: Option<(&Path, &str)>,
) -> FabricConfig {
    let no_repo = dir.join("no-repo");
    let (repo, directory) = git.unwrap_or((&no_repo, ""));
    let text = format!(
        "[[fabric]]\nname = {FABRIC:?}\nnamespace = {ns:?}\n[fabric.kubernetes]\nserver = {:?}\ntoken_file = {:?}\nca_cert_file = {:?}\n[fabric.git]\nurl = {:?}\nbranch = \"main\"\ndirectory = {directory:?}\n",
        plane.server_url(),
        plane.token_file(Identity::Operator).display().to_string(),
        plane.ca_file().display().to_string(),
        repo.display().to_string(),
    );
    let mut config = Config::parse(&text, &dir.join("bench.toml"))
        .unwrap_or_else(|e| panic!("the bench's fabric config is invalid: {e}\n{text}"));
    config.fabrics.remove(0)
}
