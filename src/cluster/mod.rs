//! cluster: talks to one fabric's Kubernetes API server. It builds the client from that fabric's
//! config alone (server, bearer token, CA — never a kubeconfig, never another fabric's
//! settings), checks the connection and the permissions hhdash needs, lists and applies
//! objects, and turns every failure into a `ClusterError` a human can act on. It keeps no
//! state between calls; the engine owns the loops.
//!
//! A fabric may span several namespaces (`config::Namespaces`): every list, apply, delete and
//! RBAC probe is made per (kind, namespace) over the managed ones, an object goes to its own
//! key's namespace, and a request for any other namespace is refused (`Unmanaged`) before it
//! leaves hhdash.
//!
//! A server that accepts connections but never answers (frozen, behind a dropped VPN or a hung
//! load balancer) must cost a bounded wait, never a hang: every one-shot request (version,
//! list, apply, delete, access review) runs on a client whose connect (TCP and TLS) and reads
//! time out after a few seconds, and fails as `ClusterError::NoAnswer`. Watches cannot work
//! that way (a quiet watch reads nothing for minutes), so they run on a second client with a
//! long read timeout; the engine notices a silent server there with `probe`. Both clients
//! share one connection ([`transport`]): over HTTP/2 a fabric costs its API server one TCP
//! connection however many kinds and namespaces it watches.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Map, Value};

use crate::config::{CaSource, FabricConfig, Namespaces};
use crate::kinds::{KindInfo, ObjectKey};
use crate::secret::Secret;

mod check;
mod error;
#[cfg(test)]
mod tests;
mod transport;

pub use check::ConnectionReport;
pub use error::ClusterError;
use error::{Context, classify};

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

/// A fabric's connection to its own API server.
#[derive(Clone)]
pub struct FabricClient {
    pub fabric: String,
    /// Every read, watch, write and RBAC probe is made per (kind, namespace) over
    /// `namespaces.managed`, and never outside it.
    pub namespaces: Namespaces,
    pub server: String,
    /// For one-shot requests: short connect and read timeouts.
    client: kube::Client,
    /// For watches (and their re-lists): a read timeout longer than a quiet watch.
    watch_client: kube::Client,
    ca_description: String,
    token_description: String,
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
        let failed = |e: kube::Error| ClusterError::Other {
            fabric: fabric.name.clone(),
            what: "building the Kubernetes client".into(),
            detail: e.to_string(),
        };
        // One connection for both clients: over HTTP/2 every request and watch of the fabric
        // is a stream on it.
        let connection = transport::Connection::new(&config, CONNECT_TIMEOUT).map_err(failed)?;
        Ok(FabricClient {
            fabric: fabric.name.clone(),
            namespaces: fabric.namespaces.clone(),
            server: fabric.kubernetes.server.clone(),
            client: connection
                .client(&config, REQUEST_TIMEOUT)
                .map_err(failed)?,
            watch_client: connection
                .client(&config, WATCH_READ_TIMEOUT)
                .map_err(failed)?,
            ca_description,
            token_description: describe_token(fabric),
        })
    }

    /// For one-shot requests on a kind in one of the fabric's namespaces (short timeouts).
    pub fn api(&self, info: &KindInfo, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), namespace, &api_resource(info))
    }

    /// For watching a kind in one of the fabric's namespaces: the long read timeout a quiet
    /// watch needs.
    pub fn watch_api(&self, info: &KindInfo, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.watch_client.clone(), namespace, &api_resource(info))
    }

    /// One cheap request (GET /version, which every authenticated client may read) that must
    /// be answered `within` the given time: how the engine tells a silent server from a quiet
    /// one. A timeout is `NoAnswer`; other failures are classified as usual.
    pub async fn probe(&self, within: Duration) -> Result<(), ClusterError> {
        match tokio::time::timeout(within, self.client.apiserver_version()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(self.classify(error, "get", "/version", self.cluster_scope())),
            Err(_) => Err(ClusterError::NoAnswer {
                fabric: self.fabric.clone(),
                server: self.server.clone(),
                what: "GET /version".into(),
                detail: format!("no reply within {} s", within.as_secs()),
            }),
        }
    }

    /// What a request without a namespace (version, access reviews) names as its namespace
    /// should the server forbid it: the fabric's default.
    fn cluster_scope(&self) -> &str {
        &self.namespaces.default
    }

    /// Turns a kube error into one that says what failed and what to do; `namespace` is the
    /// one the request was made in.
    pub fn classify(
        &self,
        error: kube::Error,
        verb: &str,
        resource: &str,
        namespace: &str,
    ) -> ClusterError {
        classify(
            error,
            &Context {
                fabric: &self.fabric,
                server: &self.server,
                namespace,
                ca: &self.ca_description,
                token: &self.token_description,
                verb,
                resource,
            },
        )
    }

    /// Every object of a kind in every namespace the fabric manages (and nowhere else),
    /// namespace by namespace, managed fields stripped.
    pub async fn list(&self, info: &KindInfo) -> Result<Vec<(ObjectKey, Value)>, ClusterError> {
        futures::stream::iter(&self.namespaces.managed)
            .then(|namespace| self.list_in(info, namespace))
            .try_concat()
            .await
    }

    /// Every object of a kind in one of the fabric's namespaces, managed fields stripped.
    pub async fn list_in(
        &self,
        info: &KindInfo,
        namespace: &str,
    ) -> Result<Vec<(ObjectKey, Value)>, ClusterError> {
        self.check_managed(namespace, || format!("{} in {namespace}", info.plural))?;
        let list = self
            .api(info, namespace)
            .list(&ListParams::default())
            .await
            .map_err(|e| self.classify(e, "list", info.plural, namespace))?;
        Ok(list
            .items
            .into_iter()
            .filter_map(|object| live_entry(info, object))
            .collect())
    }

    /// Defence in depth for the rule that nothing outside the fabric's namespaces is read or
    /// written: callers only ever pass managed namespaces; a bug that did not is refused here.
    fn check_managed(
        &self,
        namespace: &str,
        object: impl FnOnce() -> String,
    ) -> Result<(), ClusterError> {
        if self.namespaces.manages(namespace) {
            Ok(())
        } else {
            Err(ClusterError::Unmanaged {
                fabric: self.fabric.clone(),
                object: object(),
                namespace: namespace.to_string(),
                managed: self.namespaces.describe(),
            })
        }
    }

    /// Server-side apply of one Git object into its own namespace (`key.namespace`, which must
    /// be one the fabric manages); returns the object as the server has it (or would, with
    /// `dry_run`).
    pub async fn apply(
        &self,
        info: &KindInfo,
        key: &ObjectKey,
        object: &Value,
        dry_run: bool,
        force: bool,
    ) -> Result<Value, ClusterError> {
        self.check_managed(&key.namespace, || key.to_string())?;
        let mut params = PatchParams::apply(FIELD_MANAGER);
        params.dry_run = dry_run;
        params.force = force;
        let applied = self
            .api(info, &key.namespace)
            .patch(&key.name, &params, &Patch::Apply(object))
            .await
            .map_err(|e| self.classify_object(e, "patch", info, key))?;
        let mut value = serde_json::to_value(applied).expect("a DynamicObject serialises");
        strip_server_noise(info, &mut value);
        Ok(value)
    }

    /// Deletes an object (prune) in its own namespace, which must be one the fabric manages;
    /// only ever called for orphans the operator confirmed.
    /// `expected`: (uid, resourceVersion) the object must still have, or the server refuses
    /// (409) — an object re-created or changed since it was judged an orphan stays.
    pub async fn delete(
        &self,
        info: &KindInfo,
        key: &ObjectKey,
        expected: Option<&(String, String)>,
        dry_run: bool,
    ) -> Result<(), ClusterError> {
        self.check_managed(&key.namespace, || key.to_string())?;
        let params = kube::api::DeleteParams {
            dry_run,
            preconditions: expected.map(|(uid, version)| kube::api::Preconditions {
                uid: Some(uid.clone()),
                resource_version: Some(version.clone()),
            }),
            ..Default::default()
        };
        self.api(info, &key.namespace)
            .delete(&key.name, &params)
            .await
            .map_err(|e| self.classify_object(e, "delete", info, key))?;
        Ok(())
    }

    /// How messages name an object: `Kind/name` in a fabric of one namespace, where that is
    /// unambiguous; `Kind/namespace/name` once the fabric spans several.
    pub fn object_name(&self, key: &ObjectKey) -> String {
        self.namespaces.object_name(key)
    }

    fn classify_object(
        &self,
        error: kube::Error,
        verb: &str,
        info: &KindInfo,
        key: &ObjectKey,
    ) -> ClusterError {
        let object = self.object_name(key);
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
            other => self.classify(other, verb, info.plural, &key.namespace),
        }
    }

    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }
}

/// An object from the server as hhdash keeps it: keyed, its managed fields trimmed
/// ([`strip_server_noise`]), and cut down to the kind's `live_fields` (an Agent's secrets go
/// no further than this). Every live object — watch, re-list, one-shot list — enters hhdash here.
pub fn live_entry(info: &KindInfo, object: DynamicObject) -> Option<(ObjectKey, Value)> {
    let name = object.metadata.name.clone()?;
    let namespace = object.metadata.namespace.clone().unwrap_or_default();
    let mut value = serde_json::to_value(object).ok()?;
    if let Some(map) = value.as_object_mut() {
        // Lists omit apiVersion/kind on items; put them back so live objects read like Git's.
        map.insert("apiVersion".into(), Value::from(info.api_version()));
        map.insert("kind".into(), Value::from(info.kind));
    }
    strip_server_noise(info, &mut value);
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

/// Managed fields are large (`fieldsV1` mirrors the object), so what is kept is who wrote the
/// object, how and when — prune deletes only objects hhdash's field manager applied
/// (`trust::applied_by_hhdash`) — and, for the kinds hhdash writes (`KindInfo::writable`), a
/// trimmed field set per entry for drift attribution (`attribution::attribute`): without
/// `f:status`, `f:metadata` cut to `f:labels` and `f:annotations` (the only metadata drift
/// compares), and none at all for an entry written to the status subresource or left empty.
/// Read-only kinds keep the summary only.
pub fn strip_server_noise(info: &KindInfo, value: &mut Value) {
    let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(Value::Array(entries)) = metadata.remove("managedFields") else {
        return;
    };
    let keep_field_sets = info.writable();
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
            let to_status = kept.get("subresource").and_then(Value::as_str) == Some("status");
            if keep_field_sets
                && !to_status
                && let Some(Value::Object(fields)) = entry.remove("fieldsV1")
                && let Some(fields) = drift_field_set(fields)
            {
                kept.insert("fieldsV1".to_string(), Value::Object(fields));
            }
            Some(Value::Object(kept))
        })
        .collect();
    metadata.insert("managedFields".into(), Value::Array(summary));
}

/// The part of a `fieldsV1` set a drift path can fall in: all but `f:status`, and of
/// `f:metadata` only `f:labels` and `f:annotations`. None when nothing is left.
fn drift_field_set(mut fields: Map<String, Value>) -> Option<Map<String, Value>> {
    fields.remove("f:status");
    if let Some(Value::Object(metadata)) = fields.get_mut("f:metadata") {
        metadata.retain(|name, _| name == "f:labels" || name == "f:annotations");
        if metadata.is_empty() {
            fields.remove("f:metadata");
        }
    }
    (!fields.is_empty()).then_some(fields)
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
