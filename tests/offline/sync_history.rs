//! Git sync against real repositories with history, into a real redb store: what leaves and
//! enters the desired set, and that a failed sync keeps the previous desired set.

use crate::common;

use hhdash::config::Config;
use hhdash::desired::DesiredObject;
use hhdash::status::SyncState;
use hhdash::store::Store;
use hhdash::sync::{SyncError, sync_fabric};

fn vpc(name: &str, vlan: u32) -> String {
    format!(
        "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: {name}\nspec:\n  subnets:\n    default:\n      subnet: 10.0.{vlan}.0/24\n      vlan: {vlan}\n"
    )
}

fn names(store: &Store, fabric: &str) -> Vec<String> {
    store
        .desired(fabric)
        .unwrap()
        .into_iter()
        .map(|o| format!("{}/{}", o.key.kind, o.key.name))
        .collect()
}

struct Fixture {
    temp: tempfile::TempDir,
    repo: std::path::PathBuf,
    config: Config,
    store: Store,
}

impl Fixture {
    fn new(branch: &str) -> Fixture {
        let temp = tempfile::tempdir().unwrap();
        let repo = temp.path().join("repo");
        common::repo_with(
            &repo,
            &[
                ("fabric/vpcs/a.yaml", vpc("vpc-a", 1001).as_bytes()),
                ("fabric/vpcs/b.yml", vpc("vpc-b", 1002).as_bytes()),
                ("fabric/README.md", b"not yaml"),
                ("other/c.yaml", vpc("vpc-c", 1003).as_bytes()),
            ],
        );
        let path = common::config_for(temp.path(), &repo, &[("f1", "fabric")]);
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("branch = \"main\"", &format!("branch = \"{branch}\""));
        std::fs::write(&path, text).unwrap();
        let config = Config::load(&path).unwrap();
        let store = Store::open(&temp.path().join("store.redb")).unwrap();
        Fixture {
            temp,
            repo,
            config,
            store,
        }
    }

    fn sync(&self) -> Result<hhdash::sync::SyncReport, SyncError> {
        sync_fabric(
            &self.config.fabrics[0],
            &self.store,
            &self.temp.path().join("cache"),
            |_, _| Ok(None),
        )
    }
}

#[test]
fn a_file_deleted_in_a_later_commit_leaves_the_desired_set() {
    let fx = Fixture::new("main");
    let first = fx.sync().unwrap();
    assert_eq!(names(&fx.store, "f1"), ["VPC/vpc-a", "VPC/vpc-b"]);

    common::git(&fx.repo, &["rm", "-q", "fabric/vpcs/a.yaml"]);
    let second_commit = common::commit_files(
        &fx.repo,
        &[("fabric/new.yaml", vpc("vpc-d", 1004).as_bytes())],
        "drop a, add d",
    );
    let second = fx.sync().unwrap();
    assert_ne!(first.commit, second.commit);
    assert_eq!(second.commit, second_commit);
    assert_eq!(names(&fx.store, "f1"), ["VPC/vpc-b", "VPC/vpc-d"]);
    let status = fx.store.fabric_status("f1").unwrap();
    assert_eq!(status.sync.state, SyncState::Synced);
    assert_eq!(status.sync.commit.as_deref(), Some(second_commit.as_str()));
    // Each object remembers the commit and file it came from.
    let d: DesiredObject = fx.store.desired("f1").unwrap().pop().unwrap();
    assert_eq!(d.source.file, "fabric/new.yaml");
    assert_eq!(d.source.commit, second_commit);
}

#[test]
fn a_branch_is_read_at_its_own_tip() {
    let fx = Fixture::new("feature");
    common::git(&fx.repo, &["checkout", "-q", "-b", "feature"]);
    common::commit_files(
        &fx.repo,
        &[("fabric/vpcs/a.yaml", vpc("vpc-a", 2001).as_bytes())],
        "change vlan on feature",
    );
    common::git(&fx.repo, &["checkout", "-q", "main"]);
    fx.sync().unwrap();
    let a = fx.store.desired("f1").unwrap().into_iter().next().unwrap();
    assert_eq!(a.object.value()["spec"]["subnets"]["default"]["vlan"], 2001);
}

#[test]
fn a_missing_branch_fails_clearly_and_keeps_the_previous_desired_set() {
    let fx = Fixture::new("main");
    fx.sync().unwrap();
    let before = fx.store.desired("f1").unwrap();

    // Point the same fabric at a branch that does not exist.
    let mut fabric = fx.config.fabrics[0].clone();
    fabric.git.branch = "no-such-branch".into();
    let error = sync_fabric(&fabric, &fx.store, &fx.temp.path().join("cache"), |_, _| {
        Ok(None)
    })
    .unwrap_err();
    let text = error.to_string();
    assert!(text.contains("no-such-branch"), "{text}");
    assert!(
        text.contains("main"),
        "names the branches that exist: {text}"
    );
    assert!(text.contains("f1"), "names the fabric: {text}");

    assert_eq!(fx.store.desired("f1").unwrap(), before);
    let status = fx.store.fabric_status("f1").unwrap();
    assert_eq!(status.sync.state, SyncState::Error);
    assert!(status.sync.error.unwrap().contains("no-such-branch"));
    assert!(
        status.sync.commit.is_some(),
        "the last good commit is still shown"
    );
    let events = fx.store.log("f1", 10).unwrap();
    assert!(events.last().unwrap().message.contains("sync failed"));
}

#[test]
fn duplicates_across_files_fail_the_sync_naming_both_places() {
    let fx = Fixture::new("main");
    fx.sync().unwrap();
    let before = fx.store.desired("f1").unwrap();
    common::commit_files(
        &fx.repo,
        &[("fabric/copy.yaml", vpc("vpc-a", 1001).as_bytes())],
        "duplicate",
    );
    let error = fx.sync().unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, SyncError::Duplicates { .. }));
    assert!(
        text.contains("fabric/copy.yaml:1") && text.contains("fabric/vpcs/a.yaml:1"),
        "{text}"
    );
    assert_eq!(fx.store.desired("f1").unwrap(), before);
}

#[test]
fn a_syntax_error_is_reported_with_file_and_line_and_the_rest_syncs() {
    let fx = Fixture::new("main");
    common::commit_files(
        &fx.repo,
        &[(
            "fabric/broken.yaml",
            format!(
                "{}---\nkind: VPC\nmetadata:\n  name: vpc-z\n  labels: a: b\n---\n{}",
                vpc("vpc-x", 7),
                vpc("vpc-y", 8)
            )
            .as_bytes(),
        )],
        "broken middle document",
    );
    let report = fx.sync().unwrap();
    assert_eq!(
        names(&fx.store, "f1"),
        ["VPC/vpc-a", "VPC/vpc-b", "VPC/vpc-x", "VPC/vpc-y"]
    );
    assert_eq!(report.skipped.len(), 1);
    let text = report.skipped[0].to_string();
    // The line of the error (`labels: a: b`), not the document's first line (11).
    assert!(
        text.starts_with("fabric/broken.yaml:14: YAML syntax error"),
        "{text}"
    );
    let status = fx.store.fabric_status("f1").unwrap();
    assert_eq!(status.sync.skipped_errors, 1);
}

#[test]
fn a_store_write_failing_half_way_keeps_the_previous_desired_set() {
    let fx = Fixture::new("main");
    fx.sync().unwrap();
    let before = fx.store.desired("f1").unwrap();
    let status_before = fx.store.fabric_status("f1").unwrap();

    // Feed a new set whose source fails after the first object has been written.
    let mut replacement = before.clone();
    replacement[0].key.name = "replaced".into();
    let source = replacement
        .into_iter()
        .map(Ok)
        .chain(std::iter::once(Err("the source failed half-way")));
    let error = fx
        .store
        .replace_desired("f1", source, |s| s.sync.commit = Some("new".into()), &[])
        .unwrap_err();
    assert!(error.to_string().contains("half-way"));
    assert_eq!(fx.store.desired("f1").unwrap(), before);
    assert_eq!(fx.store.fabric_status("f1").unwrap(), status_before);
}
