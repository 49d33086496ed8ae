//! Kills the real `hhdash sync` process at many points of a large sync and proves the store
//! always holds one whole desired set — the previous one or the new one, never a mix — and
//! reopens cleanly.

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use hhdash::store::Store;

#[test]
fn a_sync_killed_at_any_point_leaves_a_whole_desired_set() {
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path().join("repo");
    // Commit 1: a small fabric. Commit 2 (the branch tip): 10,000 documents.
    let small = testenv::fixtures::generated_fabric(40, 40);
    let small_files: Vec<(&str, &[u8])> = small
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_bytes()))
        .collect();
    common::repo_with(&repo, &small_files);
    common::git(&repo, &["branch", "small"]);
    let large = testenv::fixtures::generated_fabric(10_000, 100);
    let large_files: Vec<(&str, &[u8])> = large
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_bytes()))
        .collect();
    common::commit_files(&repo, &large_files, "large");

    let config = common::config_for(temp.path(), &repo, &[("big", "fabric")]);
    let small_config = temp.path().join("small.toml");
    std::fs::write(
        &small_config,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("branch = \"main\"", "branch = \"small\""),
    )
    .unwrap();
    let store_path = temp.path().join("store.redb");
    let hhdash = |config: &std::path::Path| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hhdash"));
        command
            .arg("--config")
            .arg(config)
            .arg("--store")
            .arg(&store_path)
            .arg("--log-file")
            .arg(temp.path().join("log"))
            .arg("sync")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        command
    };

    let succeeds = |mut command: Command| {
        let out = common::run_with_deadline(&mut command, common::COMMAND_DEADLINE);
        assert!(out.status.success(), "{}", common::output_text(&out));
    };
    // How long an uninterrupted large sync takes here, to spread the kills over it.
    succeeds(hhdash(&small_config));
    let started = Instant::now();
    succeeds(hhdash(&config));
    let full = started.elapsed();

    let mut outcomes = (0, 0);
    for attempt in 0..12u32 {
        // Back to the small set, then interrupt the large sync at a point in its run.
        succeeds(hhdash(&small_config));
        let mut child = hhdash(&config).spawn().unwrap();
        std::thread::sleep(full.mul_f64(f64::from(attempt) / 10.0) + Duration::from_millis(5));
        let _ = child.kill();
        common::wait_with_deadline(child, common::COMMAND_DEADLINE, "a killed sync");

        let store = Store::open(&store_path).expect("the store reopens after a kill");
        let count = store.desired("big").unwrap().len();
        assert!(
            count == 40 || count == 10_000,
            "attempt {attempt}: a killed sync left {count} objects — a partial set"
        );
        let status = store.fabric_status("big").unwrap();
        let commit_matches = status.sync.commit.as_deref().map(|c| c.len()) == Some(40);
        assert!(commit_matches, "the sync status names a whole commit");
        if count == 40 {
            outcomes.0 += 1;
        } else {
            outcomes.1 += 1;
        }
    }
    // At least the early kills landed before the commit point (later ones may or may not,
    // depending on machine load); an uninterrupted sync after all of this still completes.
    assert!(
        outcomes.0 > 0,
        "no kill landed before the commit: {outcomes:?}"
    );
    succeeds(hhdash(&config));
    let store = Store::open(&store_path).unwrap();
    assert_eq!(store.desired("big").unwrap().len(), 10_000);
}
