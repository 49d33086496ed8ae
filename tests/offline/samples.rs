//! Syncs every real sample manifest from ../shared/hedgehog/samples through a real Git repo and
//! a real redb store, and checks the per-kind counts against the tables in
//! ../shared/hedgehog/README.md (the reference counts, made with an independent parser): the
//! first table's rows, and each `docs-gateway/` file (one fabric directory each, as the
//! README says: several reuse a name) against the gateway table.

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

/// The gateway kinds hhdash manages as desired objects. The README's first table predates them
/// and lists them under "other"; they are objects now, counted per row in the README's
/// sentence "Gateway kinds per row of the first table".
const GATEWAY_KINDS: [&str; 3] = ["Gateway", "GatewayGroup", "GatewayPeering"];
const GATEWAY_API_VERSION: &str = "gateway.githedgehog.com/v1alpha1";

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
        let mut kinds: BTreeMap<String, usize> = COLUMNS
            .iter()
            .map(|(column_name, kind)| (kind.to_string(), count(column(column_name))))
            .chain(GATEWAY_KINDS.iter().map(|kind| (kind.to_string(), 0)))
            .collect();
        let mut others = BTreeMap::new();
        let other = column("other (not v1beta1 12 kinds)");
        for entry in other.split(", ").filter(|e| e.contains('×')) {
            // "20× Connection(wiring.githedgehog.com/v1alpha2)"
            let (n, rest) = entry.split_once("× ").unwrap();
            let (kind, api) = rest.trim_end_matches(')').split_once('(').unwrap();
            let n: usize = n.parse().unwrap();
            if api == GATEWAY_API_VERSION && GATEWAY_KINDS.contains(&kind) {
                kinds.insert(kind.to_string(), n);
            } else {
                others.insert((kind.to_string(), api.to_string()), n);
            }
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

/// The README's sentence "Gateway kinds per row of the first table …:
/// `samples/<path>` = 2 Gateway + 1 GatewayGroup (plus …)": path → kind → count.
fn gateway_kinds_per_row(readme: &str) -> BTreeMap<String, BTreeMap<String, usize>> {
    let start = readme
        .find("Gateway kinds per row of the first table")
        .expect("the README's gateway-kinds-per-row sentence");
    let paragraph = readme[start..]
        .split("\n\n")
        .next()
        .unwrap()
        .replace('\n', " ");
    let mut rows = BTreeMap::new();
    for statement in paragraph.split("`samples/").skip(1) {
        let (path, rest) = statement
            .split_once("` = ")
            .expect("`samples/<path>` = <counts>");
        let counts = rest.split(" (").next().unwrap().trim_end_matches('.');
        let kinds = counts
            .split(" + ")
            .map(|item| {
                let (n, kind) = item.trim().split_once(' ').expect("<count> <kind>");
                (kind.to_string(), n.parse().expect("a count"))
            })
            .collect();
        rows.insert(path.to_string(), kinds);
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
    // The gateway kinds the first table lists as "other" are exactly what the README's
    // per-row sentence counts (wiring-gateway.yaml: 2 Gateway + 1 GatewayGroup).
    let per_row = gateway_kinds_per_row(&readme);
    assert!(!per_row.is_empty(), "no row in the gateway-kinds sentence");
    for row in &expected {
        let moved: BTreeMap<String, usize> = row
            .kinds
            .iter()
            .filter(|(kind, n)| GATEWAY_KINDS.contains(&kind.as_str()) && **n > 0)
            .map(|(kind, n)| (kind.clone(), *n))
            .collect();
        let stated: BTreeMap<String, usize> = per_row
            .get(&row.path)
            .map(|kinds| {
                kinds
                    .iter()
                    .filter(|(kind, _)| GATEWAY_KINDS.contains(&kind.as_str()))
                    .map(|(kind, n)| (kind.clone(), *n))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(moved, stated, "{}: gateway kinds", row.path);
    }
    assert_eq!(
        per_row["lab-ci/env-ci-1.l/wiring-gateway.yaml"],
        BTreeMap::from([("Gateway".to_string(), 2), ("GatewayGroup".to_string(), 1)]),
        "the README's gateway counts changed"
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

    // wiring-gateway.yaml's Gateways and GatewayGroup are desired objects now: nothing of that
    // file is skipped.
    let gateway_skips: Vec<String> = report
        .skipped
        .iter()
        .filter(|s| s.file.starts_with("gateway/"))
        .map(|s| s.to_string())
        .collect();
    assert_eq!(gateway_skips, Vec::<String>::new());
    let stored = store.desired_counts("mixed").unwrap();
    assert_eq!(
        (stored.get("Gateway"), stored.get("GatewayGroup")),
        (Some(&2), Some(&1))
    );
    // A foreign kind names its file and the line of the object, after the comment header.
    let foreign: Vec<String> = report
        .skipped
        .iter()
        .filter(
            |s| matches!(&s.reason, SkipReason::UnknownKind { kind, .. } if kind == "ConfigMap"),
        )
        .map(|s| s.to_string())
        .collect();
    assert_eq!(foreign.len(), 1, "{foreign:?}");
    assert!(
        foreign[0].starts_with("fabric-1/managed/tests/api-test-1754460358.yaml:5"),
        "{}",
        foreign[0]
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

/// Documents per kind, as a README table row lists them.
type KindCounts = &'static [(&'static str, usize)];

/// The README's `docs-gateway/` table: (file, documents, documents per kind). FabNode is not a
/// fabric kind (fabricator's); everything else is an object hhdash manages.
const DOCS_GATEWAY: [(&str, usize, KindCounts); 17] = [
    (
        "gateway-acls__gw-acl-bidir.yaml",
        1,
        &[("GatewayPeering", 1)],
    ),
    (
        "gateway-acls__gw-acl-egress.yaml",
        1,
        &[("GatewayPeering", 1)],
    ),
    (
        "gateway-acls__gw-acl-peer.yaml",
        1,
        &[("GatewayPeering", 1)],
    ),
    (
        "gateway-acls__gw-acl-port-fw-service.yaml",
        1,
        &[("GatewayPeering", 1)],
    ),
    (
        "gateway-acls__gw-acl-subranges.yaml",
        1,
        &[("GatewayPeering", 1)],
    ),
    ("gateway-add__gateway-add-L278.yaml", 1, &[("FabNode", 1)]),
    (
        "gateway-add__gateway-connections.yaml",
        2,
        &[("Connection", 2)],
    ),
    ("gateway-add__gateway.yaml", 1, &[("Gateway", 1)]),
    (
        "gateway-peering__gw-acl-peer.yaml",
        1,
        &[("GatewayPeering", 1)],
    ),
    (
        "gateway-peering__gw-masquerade-nat-peer.yaml",
        1,
        &[("GatewayPeering", 1)],
    ),
    (
        "gateway-peering__gw-peer-external.yaml",
        1,
        &[("GatewayPeering", 1)],
    ),
    ("gateway-peering__gw-peer.yaml", 1, &[("GatewayPeering", 1)]),
    (
        "gateway-peering__gw-peering.yaml",
        1,
        &[("GatewayPeering", 1)],
    ),
    (
        "gateway-peering__gw-pf-peer.yaml",
        1,
        &[("GatewayPeering", 1)],
    ),
    (
        "gateway-peering__gw-static-nat-peer.yaml",
        1,
        &[("GatewayPeering", 1)],
    ),
    (
        "gateway-peering__static-external.yaml",
        2,
        &[("External", 1), ("ExternalAttachment", 1)],
    ),
    (
        "gateway-peering__vpc-01.yaml",
        2,
        &[("VPC", 1), ("VPCAttachment", 1)],
    ),
];

/// The one kind in docs-gateway that is not a fabric kind, with its apiVersion.
const NOT_A_FABRIC_KIND: (&str, &str) = ("FabNode", "fabricator.githedgehog.com/v1beta1");

/// Parses the README's docs-gateway table: file → (documents, kind → count). A contents cell
/// reads `GatewayPeering`, `Connection ×2 (gateway variant)`, `External, ExternalAttachment`
/// or `FabNode (fabricator.githedgehog.com/v1beta1, ns fab): not a fabric kind`.
fn readme_docs_gateway(readme: &str) -> BTreeMap<String, (usize, BTreeMap<String, usize>)> {
    let mut rows = BTreeMap::new();
    let mut in_table = false;
    for line in readme.lines() {
        if line.starts_with("| file (samples/docs-gateway/)") {
            in_table = true;
            continue;
        }
        if !in_table || line.starts_with("|---") {
            continue;
        }
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [file, documents, contents] = cells[..] else {
            panic!("a docs-gateway row of three cells: {line}");
        };
        let mut without_notes = String::new();
        let mut depth = 0;
        for c in contents.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ if depth == 0 => without_notes.push(c),
                _ => {}
            }
        }
        let listed = without_notes.split(':').next().unwrap();
        let kinds = listed
            .split(',')
            .map(|item| match item.trim().split_once(" ×") {
                Some((kind, n)) => (kind.trim().to_string(), n.trim().parse().unwrap()),
                None => (item.trim().to_string(), 1),
            })
            .collect();
        rows.insert(file.to_string(), (documents.parse().unwrap(), kinds));
    }
    rows
}

/// `config_for`, with every fabric spanning `default` and `fab` (where the docs put the
/// Gateway and the FabNode).
fn config_with_namespaces(dir: &Path, repo: &Path, fabrics: &[(&str, &str)]) -> std::path::PathBuf {
    let path = common::config_for(dir, repo, fabrics);
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "\n[fabric.kubernetes]",
        "\nnamespaces = [\"default\", \"fab\"]\n[fabric.kubernetes]",
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn every_docs_gateway_file_syncs_to_the_readme_gateway_table() {
    let shared = common::shared_dir();
    let readme = std::fs::read_to_string(shared.join("hedgehog/README.md")).unwrap();
    let from_readme = readme_docs_gateway(&readme);
    let table: BTreeMap<String, (usize, BTreeMap<String, usize>)> = DOCS_GATEWAY
        .iter()
        .map(|(file, documents, kinds)| {
            let kinds = kinds.iter().map(|(k, n)| (k.to_string(), *n)).collect();
            (file.to_string(), (*documents, kinds))
        })
        .collect();
    assert_eq!(
        from_readme, table,
        "the README's docs-gateway table changed"
    );
    let dir = common::samples_dir().join("docs-gateway");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, table.keys().cloned().collect::<Vec<_>>());

    // Several files reuse a name (vpc-01--vpc-02 three times): one fabric directory each.
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path().join("repo");
    let names: Vec<String> = (0..DOCS_GATEWAY.len())
        .map(|i| format!("d{i:02}"))
        .collect();
    for ((file, _, _), name) in DOCS_GATEWAY.iter().zip(&names) {
        copy_tree(&dir.join(file), &repo.join(name));
    }
    common::git(&repo, &["init", "-q"]);
    common::git(&repo, &["add", "-A"]);
    common::git(&repo, &["commit", "-q", "-m", "docs-gateway"]);
    let fabrics: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), n.as_str())).collect();
    let config = Config::load(&config_with_namespaces(temp.path(), &repo, &fabrics)).unwrap();
    let store = Store::open(&temp.path().join("store.redb")).unwrap();

    let mut totals: BTreeMap<String, usize> = BTreeMap::new();
    for ((file, documents, kinds), fabric) in DOCS_GATEWAY.iter().zip(&config.fabrics) {
        let report = sync_fabric(fabric, &store, &temp.path().join("cache"), |_, _| Ok(None))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let stored = store.desired_counts(&fabric.name).unwrap();
        let want: BTreeMap<String, usize> = kinds
            .iter()
            .filter(|(kind, _)| *kind != NOT_A_FABRIC_KIND.0)
            .map(|(kind, n)| (kind.to_string(), *n))
            .collect();
        let got: BTreeMap<String, usize> = stored.into_iter().filter(|(_, n)| *n > 0).collect();
        assert_eq!(got, want, "{file}: objects per kind");
        let skipped: Vec<String> = report.skipped.iter().map(|s| s.to_string()).collect();
        let not_fabric: usize = kinds
            .iter()
            .filter(|(kind, _)| *kind == NOT_A_FABRIC_KIND.0)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(
            report.skipped.len(),
            not_fabric,
            "{file}: skipped {skipped:?}"
        );
        for skip in &report.skipped {
            assert_eq!(
                skip.reason,
                SkipReason::UnknownKind {
                    kind: NOT_A_FABRIC_KIND.0.into(),
                    api_version: NOT_A_FABRIC_KIND.1.into()
                },
                "{file}"
            );
        }
        assert_eq!(
            report.objects() + report.skipped.len(),
            *documents,
            "{file}: documents"
        );
        // Each object keeps the namespace its document names.
        for object in store.desired(&fabric.name).unwrap() {
            let value = object.object.value();
            let named = value["metadata"]["namespace"].as_str().unwrap_or("");
            assert_eq!(object.key.namespace, named, "{file}: {}", object.key.name);
        }
        for (kind, n) in kinds.iter() {
            *totals.entry(kind.to_string()).or_default() += n;
        }
    }
    // The README's totals: 20 documents in 17 files.
    assert_eq!(totals.values().sum::<usize>(), 20);
    assert_eq!(totals["GatewayPeering"], 12);
    let fab_gateway = store.desired("d07").unwrap();
    assert_eq!(
        fab_gateway
            .iter()
            .map(|o| (
                o.key.kind.as_str(),
                o.key.namespace.as_str(),
                o.key.name.as_str()
            ))
            .collect::<Vec<_>>(),
        [("Gateway", "fab", "gateway-1")],
        "the docs' Gateway stays in namespace fab"
    );
}
