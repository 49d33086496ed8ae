//! cluster: talks to one fabric's Kubernetes API server. It builds the client from that fabric's
//! config alone (server, bearer token, CA — never a kubeconfig, never another fabric's
//! settings), checks the connection and the permissions hhdash needs, lists and applies
//! objects, and turns every failure into a `ClusterError` a human can act on. It keeps no
//! state between calls; the engine owns the loops.
//!
//! A server that accepts connections but never answers (frozen, behind a dropped VPN or a hung
//! load balancer) must cost a bounded wait, never a hang: every one-shot request (version,
//! list, apply, delete, access review) runs on a client whose connect (TCP and TLS) and reads
//! time out after a few seconds, and fails as `ClusterError::NoAnswer`. Watches cannot work
//! that way (a quiet watch reads nothing for minutes), so they run on a second client with a
//! long read timeout; the engine notices a silent server there with `probe`.

use std::time::Duration;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::Value;

use crate::config::{CaSource, FabricConfig};
use crate::kinds::{self, KindInfo, ObjectKey};
use crate::secret::Secret;

/// The field manager hhdash applies with, so ownership of fields is visible to everyone.
pub const FIELD_MANAGER: &str = "hhdash";

/// TCP connect plus TLS handshake; a frozen server completes the first, never the second.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a one-shot request may go without reading a byte of the answer. It is an idle
/// limit, not a total: a large list that keeps arriving is never cut off.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Watches read nothing while nothing changes; the server ends each after 290 s (kube's
/// watcher default), so a read idle for longer than this means the stream is dead.
const WATCH_READ_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "fabric {fabric}: cannot reach {server}: {detail}; check the address, the VPN and that the API server is up"
    )]
    Unreachable {
        fabric: String,
        server: String,
        detail: String,
    },
    #[error(
        "fabric {fabric}: TLS with {server} failed using {ca}: {detail}; check that kubernetes.ca_cert_file is this cluster's CA"
    )]
    Tls {
        fabric: String,
        server: String,
        ca: String,
        detail: String,
    },
    #[error(
        "fabric {fabric}: {server} rejected the token (401 Unauthorized); check the token from {token_source} — expired, revoked, or for another cluster?"
    )]
    Unauthorized {
        fabric: String,
        server: String,
        token_source: String,
    },
    #[error(
        "fabric {fabric}: RBAC forbids {verb} on {resource} in namespace {namespace} (403); grant it with a Role like examples/rbac.yaml{detail}"
    )]
    Forbidden {
        fabric: String,
        verb: String,
        resource: String,
        namespace: String,
        detail: String,
    },
    #[error(
        "fabric {fabric}: the Hedgehog CRDs are not installed on {server}: missing {}; install the fabric's CRDs first", kinds.join(", ")
    )]
    CrdsMissing {
        fabric: String,
        server: String,
        kinds: Vec<String>,
    },
    #[error(
        "fabric {fabric}: {object}: conflict with another field manager: {message}; apply again with force to take ownership"
    )]
    Conflict {
        fabric: String,
        object: String,
        message: String,
    },
    #[error("fabric {fabric}: {object}: the server refused it ({code} {reason}): {message}")]
    Rejected {
        fabric: String,
        object: String,
        code: u16,
        reason: String,
        message: String,
    },
    #[error(
        "fabric {fabric}: no answer from {server} ({what}: {detail}); the server may be hung, or a VPN or load balancer on the way dropped the connection: check them, then retry"
    )]
    NoAnswer {
        fabric: String,
        server: String,
        what: String,
        detail: String,
    },
    #[error("fabric {fabric}: {what}: {detail}")]
    Other {
        fabric: String,
        what: String,
        detail: String,
    },
    #[error("fabric {fabric}: kubernetes.ca_cert: {detail}")]
    BadCa { fabric: String, detail: String },
}

impl ClusterError {
    /// Whether retrying later may help (network trouble), as opposed to configuration problems.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ClusterError::Unreachable { .. }
                | ClusterError::NoAnswer { .. }
                | ClusterError::Other { .. }
        )
    }

    /// The server could not be talked to at all (refused, unroutable, or silent): the command
    /// could not do its job, as opposed to a server that answered with a problem.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            ClusterError::Unreachable { .. } | ClusterError::NoAnswer { .. }
        )
    }
}

/// A fabric's connection to its own API server.
#[derive(Clone)]
pub struct FabricClient {
    pub fabric: String,
    pub namespace: String,
    pub server: String,
    /// For one-shot requests: short connect and read timeouts.
    client: kube::Client,
    /// For watches (and their re-lists): a read timeout longer than a quiet watch.
    watch_client: kube::Client,
    ca_description: String,
    token_description: String,
}

/// What a successful connection check learned.
#[derive(Debug, Clone)]
pub struct ConnectionReport {
    pub server_version: String,
    /// Whether the token may patch the Hedgehog kinds (apply).
    pub can_write: bool,
    /// Warnings an operator should see (e.g. insecure TLS).
    pub warnings: Vec<String>,
}

fn describe_token(fabric: &FabricConfig) -> String {
    match &fabric.kubernetes.token {
        crate::config::TokenSource::Env(var) => format!("environment variable {var}"),
        crate::config::TokenSource::File(path) => format!("file {}", path.display()),
        crate::config::TokenSource::Store => {
            format!(
                "the store (hhdash secret set {} kubernetes-token)",
                fabric.name
            )
        }
    }
}

/// The ApiResource kube needs for a registry kind.
pub fn api_resource(info: &KindInfo) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(info.group, info.version, info.kind),
        info.plural,
    )
}

impl FabricClient {
    /// Builds the client from the fabric's own settings and token. No I/O happens here.
    pub fn new(fabric: &FabricConfig, token: &Secret) -> Result<FabricClient, ClusterError> {
        let url = fabric
            .kubernetes
            .server
            .parse()
            .map_err(|e| ClusterError::Other {
                fabric: fabric.name.clone(),
                what: format!("kubernetes.server {}", fabric.kubernetes.server),
                detail: format!("not a valid URL: {e}"),
            })?;
        let mut config = kube::Config::new(url);
        config.default_namespace = fabric.namespaces.default.clone();
        config.connect_timeout = Some(CONNECT_TIMEOUT);
        config.read_timeout = Some(REQUEST_TIMEOUT);
        // Count the read timeout from the request, not from when a pooled connection went idle.
        config.reset_reader_on_write = true;
        config.auth_info.token = Some(secrecy::SecretString::from(token.expose().to_string()));
        let bad_ca = |detail: String| ClusterError::BadCa {
            fabric: fabric.name.clone(),
            detail,
        };
        let ca_description = match &fabric.kubernetes.ca {
            CaSource::File(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| bad_ca(format!("cannot read {}: {e}", path.display())))?;
                config.root_cert =
                    Some(parse_pem(&pem).map_err(|e| bad_ca(format!("{}: {e}", path.display())))?);
                format!("CA file {}", path.display())
            }
            CaSource::Inline(pem) => {
                config.root_cert = Some(parse_pem(pem.as_bytes()).map_err(bad_ca)?);
                "the inline ca_cert".to_string()
            }
            CaSource::InsecureSkipVerify => {
                config.accept_invalid_certs = true;
                "no CA (insecure_skip_tls_verify)".to_string()
            }
        };
        let build = |config: kube::Config| {
            kube::Client::try_from(config).map_err(|e| ClusterError::Other {
                fabric: fabric.name.clone(),
                what: "building the Kubernetes client".into(),
                detail: e.to_string(),
            })
        };
        let mut watch_config = config.clone();
        watch_config.read_timeout = Some(WATCH_READ_TIMEOUT);
        watch_config.reset_reader_on_write = false;
        Ok(FabricClient {
            fabric: fabric.name.clone(),
            namespace: fabric.namespaces.default.clone(),
            server: fabric.kubernetes.server.clone(),
            client: build(config)?,
            watch_client: build(watch_config)?,
            ca_description,
            token_description: describe_token(fabric),
        })
    }

    /// For one-shot requests on a kind (short timeouts).
    pub fn api(&self, info: &KindInfo) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &self.namespace, &api_resource(info))
    }

    /// For watching a kind: the long read timeout a quiet watch needs.
    pub fn watch_api(&self, info: &KindInfo) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.watch_client.clone(),
            &self.namespace,
            &api_resource(info),
        )
    }

    /// One cheap request (GET /version, which every authenticated client may read) that must
    /// be answered `within` the given time: how the engine tells a silent server from a quiet
    /// one. A timeout is `NoAnswer`; other failures are classified as usual.
    pub async fn probe(&self, within: Duration) -> Result<(), ClusterError> {
        match tokio::time::timeout(within, self.client.apiserver_version()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(self.classify(error, "get", "/version")),
            Err(_) => Err(ClusterError::NoAnswer {
                fabric: self.fabric.clone(),
                server: self.server.clone(),
                what: "GET /version".into(),
                detail: format!("no reply within {} s", within.as_secs()),
            }),
        }
    }

    /// Turns a kube error into one that says what failed and what to do.
    pub fn classify(&self, error: kube::Error, verb: &str, resource: &str) -> ClusterError {
        classify(
            error,
            &Context {
                fabric: &self.fabric,
                server: &self.server,
                namespace: &self.namespace,
                ca: &self.ca_description,
                token: &self.token_description,
                verb,
                resource,
            },
        )
    }

    /// Server version, then the permissions hhdash needs in its namespace (not cluster-wide),
    /// then that the Hedgehog CRDs are served.
    /// `needs_write`: warn when the token cannot apply.
    pub async fn check(&self, needs_write: bool) -> Result<ConnectionReport, ClusterError> {
        let version = self
            .client
            .apiserver_version()
            .await
            .map_err(|e| self.classify(e, "get", "/version"))?;
        let mut warnings = Vec::new();
        if self.ca_description.starts_with("no CA") {
            warnings.push(format!(
                "fabric {}: insecure_skip_tls_verify is on; the server's identity is not checked",
                self.fabric
            ));
        }
        // A list of each kind proves the CRD is served and the token may read it.
        let mut missing = Vec::new();
        for info in kinds::KINDS {
            match self
                .api(info)
                .list_metadata(&ListParams::default().limit(1))
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {
                    missing.push(info.kind.to_string())
                }
                Err(error) => return Err(self.classify(error, "list", info.plural)),
            }
        }
        if !missing.is_empty() {
            return Err(ClusterError::CrdsMissing {
                fabric: self.fabric.clone(),
                server: self.server.clone(),
                kinds: missing,
            });
        }
        for info in kinds::KINDS {
            self.access_review(info, "watch").await?;
        }
        // Writes are probed, not required: a read-only token still monitors; apply will say why
        // it cannot write.
        let mut can_write = true;
        for info in kinds::desired_kinds() {
            if let Err(ClusterError::Forbidden { verb, resource, .. }) =
                self.access_review(info, "patch").await
            {
                can_write = false;
                if needs_write {
                    warnings.push(format!(
                        "fabric {}: the token may not {verb} {resource} in {}: read-only, apply will be refused",
                        self.fabric, self.namespace
                    ));
                }
                break;
            }
        }
        Ok(ConnectionReport {
            server_version: version.git_version,
            can_write,
            warnings,
        })
    }

    /// Asks the server whether this token may `verb` the kind in the fabric's namespace.
    async fn access_review(&self, info: &KindInfo, verb: &str) -> Result<(), ClusterError> {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(self.namespace.clone()),
                    verb: Some(verb.to_string()),
                    group: Some(info.group.to_string()),
                    resource: Some(info.plural.to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let reviews: Api<SelfSubjectAccessReview> = Api::all(self.client.clone());
        let result = reviews
            .create(&PostParams::default(), &review)
            .await
            .map_err(|e| self.classify(e, "create", "selfsubjectaccessreviews"))?;
        if result.status.is_some_and(|s| s.allowed) {
            Ok(())
        } else {
            Err(ClusterError::Forbidden {
                fabric: self.fabric.clone(),
                verb: verb.to_string(),
                resource: format!("{}.{}", info.plural, info.group),
                namespace: self.namespace.clone(),
                detail: String::new(),
            })
        }
    }

    /// Every object of a kind in the fabric's namespace, managed fields stripped.
    pub async fn list(&self, info: &KindInfo) -> Result<Vec<(ObjectKey, Value)>, ClusterError> {
        let list = self
            .api(info)
            .list(&ListParams::default())
            .await
            .map_err(|e| self.classify(e, "list", info.plural))?;
        Ok(list
            .items
            .into_iter()
            .filter_map(|object| live_entry(info, object))
            .collect())
    }

    /// Server-side apply of one Git object; returns the object as the server has it (or would,
    /// with `dry_run`).
    pub async fn apply(
        &self,
        info: &KindInfo,
        key: &ObjectKey,
        object: &Value,
        dry_run: bool,
        force: bool,
    ) -> Result<Value, ClusterError> {
        let mut params = PatchParams::apply(FIELD_MANAGER);
        params.dry_run = dry_run;
        params.force = force;
        let applied = self
            .api(info)
            .patch(&key.name, &params, &Patch::Apply(object))
            .await
            .map_err(|e| self.classify_object(e, "patch", info, key))?;
        let mut value = serde_json::to_value(applied).expect("a DynamicObject serialises");
        strip_server_noise(&mut value);
        Ok(value)
    }

    /// Deletes an object (prune); only ever called for orphans the operator confirmed.
    /// `expected`: (uid, resourceVersion) the object must still have, or the server refuses
    /// (409) — an object re-created or changed since it was judged an orphan stays.
    pub async fn delete(
        &self,
        info: &KindInfo,
        key: &ObjectKey,
        expected: Option<&(String, String)>,
        dry_run: bool,
    ) -> Result<(), ClusterError> {
        let params = kube::api::DeleteParams {
            dry_run,
            preconditions: expected.map(|(uid, version)| kube::api::Preconditions {
                uid: Some(uid.clone()),
                resource_version: Some(version.clone()),
            }),
            ..Default::default()
        };
        self.api(info)
            .delete(&key.name, &params)
            .await
            .map_err(|e| self.classify_object(e, "delete", info, key))?;
        Ok(())
    }

    fn classify_object(
        &self,
        error: kube::Error,
        verb: &str,
        info: &KindInfo,
        key: &ObjectKey,
    ) -> ClusterError {
        let object = key.kind_name();
        match error {
            kube::Error::Api(status) if status.code == 409 => ClusterError::Conflict {
                fabric: self.fabric.clone(),
                object,
                message: status.message,
            },
            kube::Error::Api(status) if matches!(status.code, 400 | 404 | 422) => {
                ClusterError::Rejected {
                    fabric: self.fabric.clone(),
                    object,
                    code: status.code,
                    reason: status.reason,
                    message: status.message,
                }
            }
            other => self.classify(other, verb, info.plural),
        }
    }

    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }
}

/// An object from the server as hhdash keeps it: keyed, with managed fields dropped, and cut
/// down to the kind's `live_fields` (an Agent's secrets go no further than this). Every live
/// object — watch, re-list, one-shot list — enters hhdash here.
pub fn live_entry(info: &KindInfo, object: DynamicObject) -> Option<(ObjectKey, Value)> {
    let name = object.metadata.name.clone()?;
    let namespace = object.metadata.namespace.clone().unwrap_or_default();
    let mut value = serde_json::to_value(object).ok()?;
    if let Some(map) = value.as_object_mut() {
        // Lists omit apiVersion/kind on items; put them back so live objects read like Git's.
        map.insert("apiVersion".into(), Value::from(info.api_version()));
        map.insert("kind".into(), Value::from(info.kind));
    }
    strip_server_noise(&mut value);
    let value = info.keep_live_fields(value);
    Some((
        ObjectKey {
            kind: info.kind.to_string(),
            namespace,
            name,
        },
        value,
    ))
}

/// Managed fields are large (`fieldsV1` mirrors the object), so only who wrote the object, how
/// and when is kept: prune deletes only objects hhdash's field manager applied
/// (`trust::applied_by_hhdash`).
pub fn strip_server_noise(value: &mut Value) {
    let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(Value::Array(entries)) = metadata.remove("managedFields") else {
        return;
    };
    let summary: Vec<Value> = entries
        .into_iter()
        .filter_map(|entry| {
            let Value::Object(mut entry) = entry else {
                return None;
            };
            let mut kept = serde_json::Map::new();
            for field in ["manager", "operation", "subresource", "time"] {
                if let Some(value) = entry.remove(field) {
                    kept.insert(field.to_string(), value);
                }
            }
            Some(Value::Object(kept))
        })
        .collect();
    metadata.insert("managedFields".into(), Value::Array(summary));
}

fn parse_pem(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(pem)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("not a PEM certificate: {e}"))?;
    if certs.is_empty() {
        return Err("holds no PEM certificate".into());
    }
    Ok(certs)
}

struct Context<'a> {
    fabric: &'a str,
    server: &'a str,
    namespace: &'a str,
    ca: &'a str,
    token: &'a str,
    verb: &'a str,
    resource: &'a str,
}

/// The whole source chain of an error as one line, for matching and for messages.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(next) = source {
        let text = next.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = next.source();
    }
    parts.join(": ")
}

/// Whether a request failed because the server stayed silent past a timeout (connect, TLS
/// handshake or read), as opposed to refusing or resetting the connection.
fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return true;
        }
        let text = error.to_string().to_lowercase();
        if text.contains("timed out") || text.contains("deadline has elapsed") {
            return true;
        }
        next = error.source();
    }
    false
}

fn classify(error: kube::Error, cx: &Context) -> ClusterError {
    match error {
        kube::Error::Api(status) if status.code == 401 => ClusterError::Unauthorized {
            fabric: cx.fabric.to_string(),
            server: cx.server.to_string(),
            token_source: cx.token.to_string(),
        },
        kube::Error::Api(status) if status.code == 403 => ClusterError::Forbidden {
            fabric: cx.fabric.to_string(),
            verb: cx.verb.to_string(),
            resource: cx.resource.to_string(),
            namespace: cx.namespace.to_string(),
            detail: format!(" (server: {})", status.message),
        },
        kube::Error::Api(status) => ClusterError::Other {
            fabric: cx.fabric.to_string(),
            what: format!("{} {}", cx.verb, cx.resource),
            detail: format!("{} {}: {}", status.code, status.reason, status.message),
        },
        other => {
            let detail = chain(&other);
            let lower = detail.to_lowercase();
            if timed_out(&other) {
                ClusterError::NoAnswer {
                    fabric: cx.fabric.to_string(),
                    server: cx.server.to_string(),
                    what: format!("{} {}", cx.verb, cx.resource),
                    detail,
                }
            } else if lower.contains("certificate")
                || lower.contains("unknownissuer")
                || lower.contains("tls")
            {
                ClusterError::Tls {
                    fabric: cx.fabric.to_string(),
                    server: cx.server.to_string(),
                    ca: cx.ca.to_string(),
                    detail,
                }
            } else if lower.contains("connect")
                || lower.contains("refused")
                || lower.contains("timed out")
                || lower.contains("timeout")
                || lower.contains("dns")
                || lower.contains("unreachable")
                || lower.contains("reset")
                || lower.contains("broken pipe")
                || lower.contains("eof")
            {
                ClusterError::Unreachable {
                    fabric: cx.fabric.to_string(),
                    server: cx.server.to_string(),
                    detail,
                }
            } else {
                ClusterError::Other {
                    fabric: cx.fabric.to_string(),
                    what: format!("{} {}", cx.verb, cx.resource),
                    detail,
                }
            }
        }
    }
}
