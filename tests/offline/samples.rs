//! Syncs every real sample manifest from ../shared/hedgehog/samples through a real Git repo and
//! a real redb store, and checks the per-kind counts against the table in
//! ../shared/hedgehog/README.md (the reference counts, made with an independent parser).

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use hhdash::config::Config;
use hhdash::desired::SkipReason;
use hhdash::store::Store;
use hhdash::sync::sync_fabric;

/// README column headers → registry kind names.
const COLUMNS: [(&str, &str); 12] = [
    ("VPC", "VPC"),
    ("Ext", "External"),
    ("ExtAtt", "ExternalAttachment"),
    ("ExtPeer", "ExternalPeering"),
    ("IPv4NS", "IPv4Namespace"),
    ("VPCAtt", "VPCAttachment"),
    ("VPCPeer", "VPCPeering"),
    ("Conn", "Connection"),
    ("Srv", "Server"),
    ("Sw", "Switch"),
    ("SwGrp", "SwitchGroup"),
    ("VLANNS", "VLANNamespace"),
];

struct Expected {
    /// Path under samples/ (a file, or a directory for the `/**` row).
    path: String,
    documents: usize,
    kinds: BTreeMap<String, usize>,
    /// (kind, apiVersion) → count of documents the README lists as "other".
    others: BTreeMap<(String, String), usize>,
}

/// Parses the "document counts per kind" table of the README.
fn expected_counts(readme: &str) -> Vec<Expected> {
    let mut header: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for line in readme.lines() {
        let cells: Vec<String> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect();
        if cells.first().map(String::as_str) == Some("file") && cells.contains(&"docs".into()) {
            header = cells;
            continue;
        }
        if header.is_empty() || !line.starts_with("| samples/") {
            continue;
        }
        let column = |name: &str| {
            let index = header
                .iter()
                .position(|h| h == name)
                .expect("README column");
            cells[index].clone()
        };
        let count = |text: String| {
            if text == "·" {
                0
            } else {
                text.parse().expect("a count")
            }
        };
        let file = column("file");
        let path = file
            .trim_start_matches("samples/")
            .split(" (")
            .next()
            .unwrap()
            .trim_end_matches("/**")
            .to_string();
        let kinds = COLUMNS
            .iter()
            .map(|(column_name, kind)| (kind.to_string(), count(column(column_name))))
            .collect();
        let mut others = BTreeMap::new();
        let other = column("other (not v1beta1 12 kinds)");
        for entry in other.split(", ").filter(|e| e.contains('×')) {
            // "20× Connection(wiring.githedgehog.com/v1alpha2)"
            let (n, rest) = entry.split_once("× ").unwrap();
            let (kind, api) = rest.trim_end_matches(')').split_once('(').unwrap();
            others.insert((kind.to_string(), api.to_string()), n.parse().unwrap());
        }
        rows.push(Expected {
            path,
            documents: column("docs").parse().unwrap(),
            kinds,
            others,
        });
    }
    rows
}

/// YAML files below a hidden directory of `dir` (each sample file there holds one document).
fn hidden_yaml_files(dir: &Path) -> usize {
    fn walk(dir: &Path, hidden: bool) -> usize {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .map(|e| e.unwrap())
            .map(|entry| {
                let is_hidden = hidden || entry.file_name().to_string_lossy().starts_with('.');
                if entry.file_type().unwrap().is_dir() {
                    walk(&entry.path(), is_hidden)
                } else {
                    usize::from(
                        is_hidden
                            && entry
                                .path()
                                .extension()
                                .is_some_and(|e| e == "yaml" || e == "yml"),
                    )
                }
            })
            .sum()
    }
    walk(dir, false)
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_file() {
        std::fs::create_dir_all(to).unwrap();
        std::fs::copy(from, to.join(from.file_name().unwrap())).unwrap();
        return;
    }
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::create_dir_all(to).unwrap();
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn every_sample_syncs_to_the_reference_counts() {
    let shared = common::shared_dir();
    let readme = std::fs::read_to_string(shared.join("hedgehog/README.md")).unwrap();
    let expected = expected_counts(&readme);
    assert!(
        expected.len() >= 14,
        "the README table should list every sample; parsed {} rows",
        expected.len()
    );

    // One directory per sample row in one real repository, one fabric per directory.
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let mut fabrics = Vec::new();
    for (index, row) in expected.iter().enumerate() {
        let source = common::samples_dir().join(&row.path);
        assert!(
            source.exists(),
            "sample {} listed in the README is missing",
            source.display()
        );
        copy_tree(&source, &repo.join(format!("s{index:02}")));
        fabrics.push((format!("s{index:02}"), format!("s{index:02}")));
    }
    common::git(&repo, &["init", "-q"]);
    common::git(&repo, &["add", "-A"]);
    common::git(&repo, &["commit", "-q", "-m", "samples"]);
    let fabric_refs: Vec<(&str, &str)> = fabrics
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let config = Config::load(&common::config_for(temp.path(), &repo, &fabric_refs)).unwrap();
    let store = Store::open(&temp.path().join("store.redb")).unwrap();

    for (row, fabric) in expected.iter().zip(&config.fabrics) {
        let report = sync_fabric(fabric, &store, &temp.path().join("cache"), |_, _| Ok(None))
            .unwrap_or_else(|e| panic!("{}: {e}", row.path));
        // Counts come from the store, as the dashboard reads them.
        let stored = store.desired_counts(&fabric.name).unwrap();
        for (kind, want) in &row.kinds {
            let got = stored.get(kind).copied().unwrap_or(0);
            assert_eq!(got, *want, "{}: {kind}", row.path);
        }
        // Files under hidden directories (`.hnp/`, `.github/`) are not read, as Argo CD does;
        // the README counts them, so they are counted here from the sample itself.
        let hidden = hidden_yaml_files(&common::samples_dir().join(&row.path));
        let documents = report.objects() + report.skipped.len();
        assert_eq!(documents + hidden, row.documents, "{}: documents", row.path);

        let mut others: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut not_objects = 0;
        for skipped in &report.skipped {
            match &skipped.reason {
                SkipReason::UnservedVersion {
                    kind, api_version, ..
                }
                | SkipReason::UnknownKind { kind, api_version } => {
                    *others
                        .entry((kind.clone(), api_version.clone()))
                        .or_default() += 1;
                }
                SkipReason::NotAnObject => not_objects += 1,
                other => panic!("{}: unexpected skip {other}", row.path),
            }
        }
        assert_eq!(
            others, row.others,
            "{}: documents reported as not managed",
            row.path
        );
        // The README counts the JSON bodies under .hnp/ as documents but lists no kind for them.
        let unlisted =
            row.documents - row.kinds.values().sum::<usize>() - row.others.values().sum::<usize>();
        assert_eq!(
            not_objects + hidden,
            unlisted,
            "{}: documents that are not objects",
            row.path
        );
    }
}

#[test]
fn unserved_and_foreign_documents_name_file_and_line() {
    let samples = common::samples_dir();
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path().join("repo");
    copy_tree(&samples.join("gitops-test-1/head-tree"), &repo);
    copy_tree(
        &samples.join("lab-ci/env-ci-1.l/wiring-gateway.yaml"),
        &repo.join("gateway"),
    );
    common::git(&repo, &["init", "-q"]);
    common::git(&repo, &["add", "-A"]);
    common::git(&repo, &["commit", "-q", "-m", "x"]);
    let config = Config::load(&common::config_for(temp.path(), &repo, &[("mixed", "")])).unwrap();
    let store = Store::open(&temp.path().join("s.redb")).unwrap();
    let report = sync_fabric(&config.fabrics[0], &store, temp.path(), |_, _| Ok(None)).unwrap();

    let gateway: Vec<String> = report
        .skipped
        .iter()
        .filter(|s| matches!(&s.reason, SkipReason::UnknownKind { kind, .. } if kind == "Gateway"))
        .map(|s| s.to_string())
        .collect();
    assert_eq!(gateway.len(), 2, "{gateway:?}");
    assert!(
        gateway[0].starts_with("gateway/wiring-gateway.yaml:"),
        "{}",
        gateway[0]
    );

    let unserved = report
        .skipped
        .iter()
        .find(|s| matches!(s.reason, SkipReason::UnservedVersion { .. }))
        .unwrap();
    let text = unserved.to_string();
    assert!(
        text.contains("v1alpha2") && text.contains("v1beta1"),
        "{text}"
    );
    // Each head-tree object file starts with comment lines and `---`; the line points at the object.
    let file = std::fs::read_to_string(repo.join(&unserved.file)).unwrap();
    let line = file.lines().nth(unserved.line - 1).unwrap();
    assert!(
        line.starts_with("apiVersion") || line.starts_with("kind"),
        "{text}: line is {line:?}"
    );
}
