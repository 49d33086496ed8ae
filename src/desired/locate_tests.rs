use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;
use crate::config::Namespaces;
use crate::desired::{DesiredSet, parse_file};

/// The text of a 1-based line.
fn line_text(text: &str, line: usize) -> &str {
    text.lines().nth(line - 1).unwrap_or("")
}

const MANIFEST: &str = "\
# VPCs of the lab
--- # first
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-1
  labels:
    \"app.kubernetes.io/name\": web   # quoted key
    team: 'net'
spec:
  subnets:
    default: {subnet: 10.0.1.0/24, vlan: 1001}
    backend:
      subnet: 10.0.2.0/24
      vlan: 1002
  permit: [[vpc-1, vpc-2], [vpc-3]]
---
# only a comment
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-2
  annotations:
    note: |
      a block
      scalar
spec:
  defaults: &defaults
    vlan: 1010
    dhcp: {enable: true}
  subnets:
    a: *defaults
    b:
      vlan: 1020
  staticRoutes:
    - prefix: 10.9.0.0/16
      nextHops:
        - 10.0.0.1
        -
          10.0.0.2
    -
      prefix: 10.8.0.0/16
";

#[test]
fn map_entries_are_found_at_their_key_line() {
    let at = |document, path| line_of(MANIFEST, document, path);
    assert_eq!(at(0, "metadata.name"), Some(6));
    assert_eq!(at(0, "metadata.labels.\"app.kubernetes.io/name\""), Some(8));
    assert_eq!(at(0, "metadata.labels.team"), Some(9));
    assert_eq!(at(0, "spec.subnets.default.vlan"), Some(12), "flow map");
    assert_eq!(at(0, "spec.subnets.backend.vlan"), Some(15));
    assert_eq!(at(0, "spec.permit[1][0]"), Some(16), "flow list");
    // The comment-only document between the two is not counted, as in Source::document.
    assert_eq!(at(1, "metadata.name"), Some(23));
    assert_eq!(at(1, "metadata.annotations.note"), Some(25), "block scalar");
    assert_eq!(
        at(1, "spec.subnets.b.vlan"),
        Some(35),
        "after a block scalar"
    );
}

#[test]
fn list_items_are_found_at_their_dash_and_aliases_at_their_anchor() {
    let at = |path| line_of(MANIFEST, 1, path);
    assert_eq!(at("spec.staticRoutes[0]"), Some(37));
    assert_eq!(
        at("spec.staticRoutes[0].nextHops[1]"),
        Some(40),
        "lone dash"
    );
    assert_eq!(
        at("spec.staticRoutes[1]"),
        Some(42),
        "lone dash before a map"
    );
    assert_eq!(at("spec.staticRoutes[1].prefix"), Some(43));
    // `a: *defaults` is an alias: its fields are written where the anchor is.
    assert_eq!(at("spec.subnets.a.vlan"), Some(30));
    assert_eq!(at("spec.subnets.a"), Some(33));
}

#[test]
fn paths_git_does_not_set_are_none() {
    for (document, path) in [
        (0, "spec.subnets.default.dhcp"),
        (0, "spec.permit[5]"),
        (0, "metadata.name.inner"),
        (2, "metadata.name"),
        (0, ""),
        (0, "spec..x"),
        (0, "spec.permit[x]"),
    ] {
        assert_eq!(line_of(MANIFEST, document, path), None, "{path}");
    }
    assert_eq!(line_of("a: [unclosed\n", 0, "a"), None, "not YAML");
}

#[test]
fn document_numbers_agree_with_the_parser_even_past_null_and_broken_documents() {
    let text = "~\n---\nkind: VPC\n  bad: [indent\n---\napiVersion: vpc.githedgehog.com/v1beta1\n\
                kind: VPC\nmetadata:\n  name: c\n";
    let mut set = DesiredSet::default();
    parse_file(
        &mut set,
        "f.yaml",
        text.as_bytes(),
        &Namespaces::single("default"),
        "c",
    );
    let source = &set.objects[0].source;
    assert_eq!(line_of(text, source.document, "metadata.name"), Some(9));
}

/// Every path of a value, in the documented form, with its last segment.
fn paths(value: &Value, prefix: &str, out: &mut Vec<(String, Segment)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let bare = !key.is_empty()
                    && key
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/'));
                let rendered = if bare {
                    key.clone()
                } else {
                    Value::String(key.clone()).to_string()
                };
                let path = if prefix.is_empty() {
                    rendered
                } else {
                    format!("{prefix}.{rendered}")
                };
                out.push((path.clone(), Segment::Key(key.clone())));
                paths(child, &path, out);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                let path = format!("{prefix}[{index}]");
                out.push((path.clone(), Segment::Index(index)));
                paths(child, &path, out);
            }
        }
        _ => {}
    }
}

/// Checks that every path of `value` is found in `text` on a line that shows it: the key for
/// a map entry, a `-` or `[` for a list item. Returns how many paths were checked.
fn check_every_path(text: &str, document: usize, value: &Value, what: &str) -> usize {
    let mut all = Vec::new();
    paths(value, "", &mut all);
    for (path, last) in &all {
        let found = line_of(text, document, path);
        // The sync adds the fabric's namespace to documents that do not name one.
        if path == "metadata.namespace" && found.is_none() {
            continue;
        }
        let line =
            found.unwrap_or_else(|| panic!("{what}: {path} not found in document {document}"));
        let shown = line_text(text, line);
        let ok = match last {
            Segment::Key(key) => shown.contains(key.as_str()),
            Segment::Index(_) => shown.contains('-') || shown.contains('['),
        };
        assert!(ok, "{what}: {path} at line {line}: {shown:?}");
    }
    all.len()
}

fn sample_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("samples are readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sample_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

fn samples() -> Vec<(String, String, DesiredSet)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/hedgehog/samples");
    let mut files = Vec::new();
    sample_files(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).expect("sample is text");
            let mut set = DesiredSet::default();
            let name = file.display().to_string();
            parse_file(
                &mut set,
                &name,
                text.as_bytes(),
                &Namespaces::single("default"),
                "c",
            );
            (name, text, set)
        })
        .collect()
}

#[test]
fn every_path_of_every_real_sample_is_found_on_its_own_line() {
    let mut checked = 0;
    let mut objects = 0;
    for (name, text, set) in samples() {
        for object in &set.objects {
            checked +=
                check_every_path(&text, object.source.document, &object.object.value(), &name);
            objects += 1;
        }
    }
    assert!(
        objects > 100 && checked > 1000,
        "{objects} objects, {checked} paths"
    );
}

#[test]
fn every_path_is_found_in_yaml_rendered_from_json() {
    let mut checked = 0;
    for (name, _, set) in samples() {
        for object in &set.objects {
            let rendered = serde_yaml::to_string(&object.object).expect("renders");
            checked += check_every_path(&rendered, 0, &object.object.value(), &name);
        }
    }
    assert!(checked > 1000, "{checked} paths");
}

#[test]
fn value_at_follows_the_same_paths() {
    let value = serde_json::json!({"metadata": {"labels": {"a.b/c": "x"}},
        "spec": {"ranges": [{"from": 1}, {"from": 2}]}});
    assert_eq!(
        value_at(&value, "metadata.labels.\"a.b/c\""),
        Some(&Value::from("x"))
    );
    assert_eq!(
        value_at(&value, "spec.ranges[1].from"),
        Some(&Value::from(2))
    );
    assert_eq!(value_at(&value, "spec.ranges[2]"), None);
    assert_eq!(value_at(&value, "spec.ranges.from"), None);
}
