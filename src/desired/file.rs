//! One file of a fabric's Git directory: cut into documents at `---`, each parsed (within
//! the YAML bounds) and checked against the registry and the fabric; what passes joins the
//! desired set, the rest is reported as skipped with its file line.

use serde_json::Value;

use super::{DesiredObject, DesiredSet, SkipReason, Skipped, Source};
use crate::bounded_yaml::{self, YamlError};
use crate::config::Namespaces;
use crate::kinds::{self, KindInfo, ObjectKey};
use crate::object::Object;

/// One YAML document cut out of a file, with the file line it starts on.
pub(super) struct RawDocument<'a> {
    pub(super) text: &'a str,
    /// 0-based line in the file where `text` begins.
    pub(super) first_line: usize,
}

/// Whether a line separates YAML documents (`---`, optionally followed by content or comment).
fn is_separator(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
}

/// Cuts a file into documents at `---` lines, so that a syntax error in one document does not
/// cost the others (serde_yaml's own multi-document reader stops at the first error).
pub(super) fn split_documents(text: &str) -> Vec<RawDocument<'_>> {
    let mut documents = Vec::new();
    let mut start_offset = 0;
    let mut start_line = 0;
    let mut offset = 0;
    for (line_number, line) in text.split_inclusive('\n').enumerate() {
        let content = line.trim_end_matches(['\n', '\r']);
        if is_separator(content) || content == "..." {
            documents.push(RawDocument {
                text: &text[start_offset..offset],
                first_line: start_line,
            });
            // Content after `--- ` on the same line belongs to the next document.
            let rest = content[3..].trim_start();
            if content != "..." && !rest.is_empty() && !rest.starts_with('#') {
                let rest_offset = offset + line.find(rest).unwrap_or(3);
                start_offset = rest_offset;
                start_line = line_number;
            } else {
                start_offset = offset + line.len();
                start_line = line_number + 1;
            }
        }
        offset += line.len();
    }
    documents.push(RawDocument {
        text: &text[start_offset..],
        first_line: start_line,
    });
    documents
}

/// The 1-based file line of the first line that is neither blank nor a comment.
pub(super) fn first_content_line(document: &RawDocument) -> Option<usize> {
    document
        .text
        .lines()
        .position(|line| {
            let trimmed = line.trim();
            !trimmed.is_empty() && !trimmed.starts_with('#')
        })
        .map(|index| document.first_line + index + 1)
}

/// RFC 1123 DNS subdomain, as Kubernetes requires for object names.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Checks one parsed document against the registry and fabric; returns the object or why not.
fn validate(
    mut object: Value,
    namespaces: &Namespaces,
) -> Result<(ObjectKey, Value, &'static KindInfo), SkipReason> {
    let (Some(api_version), Some(kind)) = (
        object.get("apiVersion").and_then(Value::as_str),
        object.get("kind").and_then(Value::as_str),
    ) else {
        return Err(SkipReason::NotAnObject);
    };
    let (api_version, kind) = (api_version.to_string(), kind.to_string());
    if let Some(renamed) = kinds::renamed(&api_version, &kind) {
        return Err(SkipReason::RenamedKind {
            kind,
            api_version,
            now: renamed.now.to_string(),
            also: renamed.also.to_string(),
        });
    }
    let info = match kinds::by_kind(&kind) {
        Some(info) if info.api_version() == api_version => info,
        Some(info) if kinds::is_hedgehog_group(&api_version) => {
            return Err(SkipReason::UnservedVersion {
                kind,
                api_version,
                served: info.api_version(),
            });
        }
        _ => return Err(SkipReason::UnknownKind { kind, api_version }),
    };
    if !info.writable() {
        return Err(SkipReason::ReadOnlyKind { kind });
    }
    let metadata = object
        .as_object_mut()
        .map(|map| {
            map.entry("metadata")
                .or_insert_with(|| Value::Object(Default::default()))
        })
        .and_then(Value::as_object_mut)
        .ok_or_else(|| SkipReason::MissingName { kind: kind.clone() })?;
    let name = match metadata.get("name").and_then(Value::as_str) {
        Some(name) if is_valid_name(name) => name.to_string(),
        Some(name) => {
            return Err(SkipReason::InvalidName {
                kind,
                name: name.to_string(),
            });
        }
        None => return Err(SkipReason::MissingName { kind }),
    };
    let namespace = match metadata.get("namespace").and_then(Value::as_str) {
        None | Some("") => {
            let namespace = namespaces.for_kind(info.kind).to_string();
            metadata.insert("namespace".into(), Value::from(namespace.as_str()));
            namespace
        }
        Some(namespace) if !namespaces.manages(namespace) => {
            return Err(SkipReason::ForeignNamespace {
                kind,
                name,
                namespace: namespace.to_string(),
                fabric_namespace: namespaces.describe(),
            });
        }
        Some(namespace) => namespace.to_string(),
    };
    let key = ObjectKey {
        kind,
        namespace,
        name,
    };
    Ok((key, object, info))
}

/// Parses and validates one file's documents, appending to `set`. Empty and comment-only
/// documents are not documents and are not reported.
pub fn parse_file(
    set: &mut DesiredSet,
    file: &str,
    bytes: &[u8],
    namespaces: &Namespaces,
    commit: &str,
) {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let line = bytes[..error.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            set.skipped.push(Skipped {
                file: file.to_string(),
                line,
                reason: SkipReason::Syntax {
                    message: "the file is not UTF-8 text".into(),
                    line,
                    column: 1,
                },
                claims: None,
            });
            return;
        }
    };
    let mut document_index = 0;
    for raw in split_documents(text) {
        let Some(line) = first_content_line(&raw) else {
            continue;
        };
        let index = document_index;
        document_index += 1;
        let parsed: Value = match bounded_yaml::from_str(raw.text) {
            Ok(Value::Null) => {
                document_index -= 1;
                continue;
            }
            Ok(value) => value,
            Err(error) => {
                // serde_yaml places errors at the end of the stream one line past a document
                // without a final newline; the operator needs a line that exists.
                let last_line = raw.first_line + raw.text.lines().count().max(1);
                let (error_line, column) = error
                    .location()
                    .map(|(l, c)| ((raw.first_line + l).min(last_line), c))
                    .unwrap_or((line, 1));
                let reason = match error {
                    YamlError::DocumentTooLarge { bytes } => SkipReason::DocumentTooLarge { bytes },
                    YamlError::TooDeep { .. } => SkipReason::TooDeep {
                        line: error_line,
                        column,
                    },
                    YamlError::ExpandsTooFar { budget, .. } => SkipReason::ExpandsTooFar {
                        line: error_line,
                        column,
                        budget,
                    },
                    YamlError::Syntax(error) => SkipReason::Syntax {
                        message: syntax_message(&error),
                        line: error_line,
                        column,
                    },
                };
                set.skipped.push(Skipped {
                    file: file.to_string(),
                    line: error_line,
                    reason,
                    claims: None,
                });
                continue;
            }
        };
        let claims = claimed_identity(&parsed);
        match validate(parsed, namespaces) {
            Ok((key, object, _info)) => set.objects.push(DesiredObject {
                key,
                object: Object::new(&object),
                source: Source {
                    file: file.to_string(),
                    document: index,
                    line,
                    commit: commit.to_string(),
                },
            }),
            Err(reason) => set.skipped.push(Skipped {
                file: file.to_string(),
                line,
                reason,
                claims,
            }),
        }
    }
}

/// The kind and name a document states, valid or not.
fn claimed_identity(document: &Value) -> Option<(String, String)> {
    let kind = document.get("kind")?.as_str()?;
    let name = document.pointer("/metadata/name")?.as_str()?;
    Some((kind.to_string(), name.to_string()))
}

/// serde_yaml's message, made actionable where it is cryptic.
fn syntax_message(error: &serde_yaml::Error) -> String {
    let message = first_sentence(&error.to_string());
    if message.starts_with("repetition limit exceeded") {
        // serde_yaml follows at most 100 aliases per YAML event of the document.
        return "aliases (*name) are followed too many times (serde_yaml's repetition limit); \
                write the repeated parts out"
            .to_string();
    }
    message
}

/// serde_yaml appends " at line L column C" to messages; the location is reported on its own.
fn first_sentence(message: &str) -> String {
    match message.find(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_files;
    use super::*;

    fn parse(text: &str) -> DesiredSet {
        parse_files(
            [("f.yaml", text.as_bytes())],
            &Namespaces::single("default"),
            "abc",
        )
    }

    #[test]
    fn a_syntax_error_costs_only_its_own_document() {
        let set = parse(
            "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: a\n---\n\
             kind: VPC\n  bad: [indent\n---\n\
             apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: b\n",
        );
        let names: Vec<&str> = set.objects.iter().map(|o| o.key.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(set.skipped.len(), 1);
        let SkipReason::Syntax { line, .. } = &set.skipped[0].reason else {
            panic!("expected a syntax error, got {:?}", set.skipped[0]);
        };
        // `  bad: [indent` on line 7, not the document's first line (6).
        assert_eq!(*line, 7, "error line {line} is the line of the error");
        assert_eq!(set.objects[1].source.line, 9);
        assert_eq!(set.objects[1].source.document, 2);
    }

    #[test]
    fn comment_only_and_empty_documents_are_not_documents() {
        let set = parse("# nothing here\n---\n---\n# still nothing\n");
        assert!(set.objects.is_empty());
        assert!(set.skipped.is_empty());
    }

    #[test]
    fn namespace_defaults_to_the_fabric_and_foreign_ones_are_reported() {
        let set = parse_files(
            [(
                "f.yaml",
                "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata:\n  name: s1\n---\n\
                 apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata:\n  name: s2\n  namespace: other\n"
                    .as_bytes(),
            )],
            &Namespaces::single("fab-a"),
            "c1",
        );
        assert_eq!(set.objects.len(), 1);
        assert_eq!(
            set.objects[0].object.value()["metadata"]["namespace"],
            "fab-a"
        );
        assert!(matches!(
            set.skipped[0].reason,
            SkipReason::ForeignNamespace { .. }
        ));
    }

    #[test]
    fn a_fabric_spanning_namespaces_places_each_kind_and_refuses_the_rest() {
        let namespaces = Namespaces {
            default: "default".into(),
            managed: vec!["default".into(), "fab".into()],
            by_kind: [("Gateway", "fab".to_string())].into(),
        };
        let text = "apiVersion: gateway.githedgehog.com/v1alpha1\nkind: Gateway\nmetadata:\n  name: gw-1\n---\n\
             apiVersion: gateway.githedgehog.com/v1alpha1\nkind: GatewayPeering\nmetadata:\n  name: p1\n---\n\
             apiVersion: gateway.githedgehog.com/v1alpha1\nkind: GatewayPeering\nmetadata:\n  name: p2\n  namespace: fab\n---\n\
             apiVersion: gateway.githedgehog.com/v1alpha1\nkind: GatewayPeering\nmetadata:\n  name: p3\n  namespace: kube-system\n";
        let set = parse_files([("f.yaml", text.as_bytes())], &namespaces, "c1");
        let placed: Vec<String> = set.objects.iter().map(|o| o.key.to_string()).collect();
        assert_eq!(
            placed,
            [
                "Gateway/fab/gw-1",
                "GatewayPeering/default/p1",
                "GatewayPeering/fab/p2"
            ]
        );
        assert_eq!(
            set.objects[0].object.value()["metadata"]["namespace"],
            "fab"
        );
        assert_eq!(set.skipped.len(), 1);
        let message = set.skipped[0].reason.to_string();
        assert!(
            message.contains("\"kube-system\"") && message.contains("\"default\", \"fab\""),
            "{message}"
        );
    }

    #[test]
    fn the_old_peering_kind_is_an_error_that_names_gateway_peering() {
        let text = "apiVersion: gateway.githedgehog.com/v1alpha1\nkind: Peering\nmetadata:\n  name: vpc-1--vpc-2\n\
                    spec:\n  peering:\n    vpc-1: {}\n    vpc-2: {}\n";
        let set = parse_files(
            [("old.yaml", text.as_bytes())],
            &Namespaces::single("default"),
            "c1",
        );
        assert!(set.objects.is_empty());
        let skipped = &set.skipped[0];
        assert!(skipped.reason.is_error());
        assert_eq!((skipped.file.as_str(), skipped.line), ("old.yaml", 1));
        let message = skipped.reason.to_string();
        assert!(message.contains("kind: GatewayPeering"), "{message}");
        assert!(message.contains("nat.masquerade"), "{message}");
    }

    #[test]
    fn unserved_versions_and_foreign_kinds_are_told_apart() {
        let set = parse(
            "apiVersion: wiring.githedgehog.com/v1alpha2\nkind: Switch\nmetadata:\n  name: s\n---\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n---\n\
             apiVersion: agent.githedgehog.com/v1beta1\nkind: Agent\nmetadata:\n  name: a\n",
        );
        assert!(set.objects.is_empty());
        assert!(matches!(
            &set.skipped[0].reason,
            SkipReason::UnservedVersion { served, .. } if served == "wiring.githedgehog.com/v1beta1"
        ));
        assert!(matches!(
            set.skipped[1].reason,
            SkipReason::UnknownKind { .. }
        ));
        assert!(matches!(
            set.skipped[2].reason,
            SkipReason::ReadOnlyKind { .. }
        ));
        assert_eq!(set.skipped[1].line, 6);
    }

    #[test]
    fn names_must_be_present_and_valid() {
        let set = parse(
            "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nspec: {}\n---\n\
             apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: Bad_Name\n",
        );
        assert!(set.objects.is_empty());
        assert!(matches!(
            set.skipped[0].reason,
            SkipReason::MissingName { .. }
        ));
        assert!(matches!(
            set.skipped[1].reason,
            SkipReason::InvalidName { .. }
        ));
    }

    #[test]
    fn separator_with_inline_content_starts_the_next_document() {
        let set = parse(
            "--- # comment\napiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata: {name: x}\n",
        );
        assert_eq!(set.objects.len(), 1);
        assert_eq!(set.objects[0].source.line, 2);
    }
}
