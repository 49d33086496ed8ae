//! An **imitation, for tests**, of the Hedgehog fabric's admission webhooks — like the fabric
//! simulator ([`crate::sim`]) imitates switch agents. The real fabric registers a mutating and
//! a validating webhook for every kind users write except SwitchGroup, both with
//! `failurePolicy: Fail` (`shared/hedgehog/README.md` §2, §3, §8). A bare API server has
//! none, so on it apply order, references and webhook defaulting are never exercised — and
//! those are where tools like hhdash go wrong on a real fabric (applies refused, false drift
//! from defaults). This module puts the behaviour the README documents in front of the test
//! API server:
//!
//! * an HTTPS server on `127.0.0.1` (a thread with its own tokio runtime, owned by the
//!   [`ControlPlane`](crate::ControlPlane) and stopped when it drops), with a serving
//!   certificate from the control plane's CA;
//! * registered through a `MutatingWebhookConfiguration` and a
//!   `ValidatingWebhookConfiguration` (url-based `clientConfig`, `caBundle` = the CA), one
//!   entry per kind named as the real ones (`mvpc.kb.io`, `vvpc.kb.io`, …), `failurePolicy:
//!   Fail` and `sideEffects: None` (dry runs are checked too), so a dead webhook makes every
//!   write of those kinds fail instead of passing unchecked;
//! * defaulting as the real `Default()` methods do it ([`default_object`]; details in
//!   `defaulting/`);
//! * validation of references on create/update and of referrers on delete (details in
//!   `validation.rs`), answering as the real validator does ("vpc demo-vpc-1 not found",
//!   "VPC has attachments"), which the API server reports as `admission webhook
//!   "vvpcattachment.kb.io" denied the request: …` (HTTP 403).
//!
//! **Fabric namespaces.** The real validator accepts only namespace `default`. Tests give
//! each fabric its own namespace on a shared control plane, so here "default" means "a
//! namespace the control plane was told is a fabric's": the ones in
//! [`Options::namespaces`](crate::Options::namespaces), every namespace passed to
//! [`ControlPlane::grant`](crate::ControlPlane::grant), and any added with
//! [`ControlPlane::allow_namespace`](crate::ControlPlane::allow_namespace). Objects in any
//! other namespace are refused with the real message ("only default namespace is currently
//! supported"). Lookups stay within the object's namespace.
//!
//! **Gateway kinds** (Gateway, GatewayGroup, GatewayPeering) get the mutating webhook only:
//! their defaulting is imitated, their validation is not (the real one also refuses any
//! namespace but `default`, and runs a dataplane validator testenv does not have), so they are
//! accepted in any namespace, as on a bare API server with the defaults applied.
//!
//! It is an imitation: only what is listed in the two submodules' docs is checked or
//! defaulted; everything else the real webhooks validate (IP ranges, name lengths, VLAN
//! ranges, port names, SwitchProfiles, …) is accepted. Turn it off with
//! [`Options::webhook`](crate::Options::webhook) `= false` for a bare API server.

mod defaulting;
mod http;
mod validation;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::Error;
use crate::plane::FIELD_MANAGER;

pub use defaulting::{GATEWAY_KINDS, GATEWAY_VERSION, LABEL_DOMAIN, default_object};
pub use validation::{KINDS, VERSION, webhook_kinds};

/// Name of both webhook configurations.
pub const CONFIGURATION_NAME: &str = "hhdash-testenv-fabric-webhooks";

/// State shared by the server's tasks and the control plane.
#[derive(Debug, Default)]
struct Shared {
    fabric_namespaces: RwLock<BTreeSet<String>>,
    mutations: AtomicU64,
    validations: AtomicU64,
}

/// The running webhook server: a thread with its own runtime, so it outlives the runtime of
/// the test that started a shared control plane.
#[derive(Debug)]
pub(crate) struct Webhook {
    port: u16,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Webhook {
    /// Binds `127.0.0.1:0` and starts serving with the given certificate; the webhook's own
    /// lookups use `client_config` (an admin's).
    pub fn start(
        client_config: kube::Config,
        cert_der: Vec<u8>,
        key_der: Vec<u8>,
        fabric_namespaces: &[String],
    ) -> Result<Webhook, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| {
                builder.with_no_client_auth().with_single_cert(
                    vec![rustls_pki_types::CertificateDer::from(cert_der)],
                    rustls_pki_types::PrivateKeyDer::Pkcs8(key_der.into()),
                )
            })
            .map_err(|e| Error::State(format!("webhook TLS configuration: {e}")))?;
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));

        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(Error::io("binding the webhook port on 127.0.0.1"))?;
        listener
            .set_nonblocking(true)
            .map_err(Error::io("configuring the webhook socket"))?;
        let port = listener
            .local_addr()
            .map_err(Error::io("reading the webhook port"))?
            .port();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::io("starting the webhook runtime"))?;
        let shared = Arc::new(Shared::default());
        shared
            .fabric_namespaces
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .extend(fabric_namespaces.iter().cloned());
        let (shutdown, stopped) = tokio::sync::oneshot::channel();
        let state = shared.clone();
        let thread = std::thread::Builder::new()
            .name("testenv-webhook".into())
            .spawn(move || {
                runtime.block_on(serve(listener, acceptor, client_config, state, stopped));
            })
            .map_err(Error::io("starting the webhook thread"))?;
        Ok(Webhook {
            port,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn allow_namespace(&self, namespace: &str) {
        self.shared
            .fabric_namespaces
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(namespace.to_string());
    }

    pub fn fabric_namespaces(&self) -> Vec<String> {
        self.shared
            .fabric_namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// (mutating, validating) admission reviews answered so far.
    pub fn calls(&self) -> (u64, u64) {
        (
            self.shared.mutations.load(Ordering::Relaxed),
            self.shared.validations.load(Ordering::Relaxed),
        )
    }

    pub fn running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops serving; the configurations stay, so the API server refuses every write of the
    /// covered kinds (`failurePolicy: Fail`).
    pub fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Creates (or replaces) both webhook configurations, pointing at this server.
    pub async fn register(&self, client: &kube::Client, ca_pem: &str) -> Result<(), Error> {
        let mutating = MutatingWebhookConfiguration {
            metadata: ObjectMeta {
                name: Some(CONFIGURATION_NAME.into()),
                ..Default::default()
            },
            webhooks: Some(self.entries(ca_pem, "mutate", &["CREATE", "UPDATE"], mutated_kinds())),
        };
        let validating = ValidatingWebhookConfiguration {
            metadata: ObjectMeta {
                name: Some(CONFIGURATION_NAME.into()),
                ..Default::default()
            },
            webhooks: Some(self.entries(
                ca_pem,
                "validate",
                &["CREATE", "UPDATE", "DELETE"],
                webhook_kinds().map(|&(group, kind, plural)| (group, VERSION, kind, plural)),
            )),
        };
        let pp = PatchParams::apply(FIELD_MANAGER).force();
        Api::<MutatingWebhookConfiguration>::all(client.clone())
            .patch(CONFIGURATION_NAME, &pp, &Patch::Apply(&mutating))
            .await
            .map_err(Error::kube("applying the MutatingWebhookConfiguration"))?;
        Api::<ValidatingWebhookConfiguration>::all(client.clone())
            .patch(CONFIGURATION_NAME, &pp, &Patch::Apply(&validating))
            .await
            .map_err(Error::kube("applying the ValidatingWebhookConfiguration"))?;
        Ok(())
    }

    /// One webhook entry per (group, version, kind, plural) of `kinds`, named as the real
    /// ones (`mvpc.kb.io`, `vvpc.kb.io`, …), calling
    /// `https://127.0.0.1:<port>/<prefix>-<group>-<version>-<kind>` for `operations`,
    /// `failurePolicy: Fail`, `sideEffects: None`. `W` is `MutatingWebhook` or
    /// `ValidatingWebhook`: the same fields in two types with nothing in common, so the entry
    /// is written once, in their JSON form.
    fn entries<'k, W: DeserializeOwned>(
        &self,
        ca_pem: &str,
        prefix: &str,
        operations: &[&str],
        kinds: impl Iterator<Item = (&'k str, &'k str, &'k str, &'k str)>,
    ) -> Vec<W> {
        let ca_bundle = base64::engine::general_purpose::STANDARD.encode(ca_pem);
        kinds
            .map(|(group, version, kind, plural)| {
                let lower = kind.to_lowercase();
                let entry = json!({
                    "name": format!("{}{lower}.kb.io", &prefix[..1]),
                    "clientConfig": {
                        "url": format!(
                            "https://127.0.0.1:{}/{prefix}-{}-{version}-{lower}",
                            self.port,
                            group.replace('.', "-")
                        ),
                        "caBundle": ca_bundle,
                    },
                    "rules": [{
                        "apiGroups": [group],
                        "apiVersions": [version],
                        "operations": operations,
                        "resources": [plural],
                    }],
                    "admissionReviewVersions": ["v1"],
                    "failurePolicy": "Fail",
                    "sideEffects": "None",
                    "timeoutSeconds": 10,
                });
                serde_json::from_value(entry)
                    .expect("a webhook entry of the admissionregistration/v1 shape")
            })
            .collect()
    }

    /// Waits until the API server calls both webhooks (its configuration informers are
    /// eventually consistent): a dry-run create of a VPCAttachment that refers to nothing
    /// must be mutated and then denied by this server.
    pub async fn wait_effective(
        &self,
        client: &kube::Client,
        namespace: &str,
        timeout: Duration,
    ) -> Result<(), Error> {
        let api: Api<DynamicObject> = Api::namespaced_with(
            client.clone(),
            namespace,
            &validation::resource("VPCAttachment"),
        );
        let probe: DynamicObject = serde_json::from_value(json!({
            "apiVersion": format!("vpc.githedgehog.com/{VERSION}"),
            "kind": "VPCAttachment",
            "metadata": {"name": "testenv-webhook-probe", "namespace": namespace},
            "spec": {"subnet": "testenv-webhook-probe/default", "connection": "testenv-webhook-probe"}
        }))
        .expect("a valid object");
        let params = PostParams {
            dry_run: true,
            ..Default::default()
        };
        let deadline = Instant::now() + timeout;
        loop {
            let mutations_before = self.calls().0;
            let last = match api.create(&params, &probe).await {
                Err(kube::Error::Api(status))
                    if status.message.contains("vvpcattachment.kb.io")
                        && status.message.contains("denied the request")
                        && self.calls().0 > mutations_before =>
                {
                    return Ok(());
                }
                Err(e) => e.to_string(),
                Ok(_) => "the probe was admitted unchecked".to_string(),
            };
            if Instant::now() > deadline {
                return Err(Error::State(format!(
                    "the admission webhook on 127.0.0.1:{} was not called by the API server \
                     within {timeout:?} (last probe: {last})",
                    self.port
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The kinds the mutating webhook covers: every kind with a webhook, and the gateway kinds.
/// The gateway kinds get no validating webhook here: the real one refuses any namespace but
/// `default` and needs the dataplane validator, while tests give each fabric its own
/// namespaces.
fn mutated_kinds() -> impl Iterator<Item = (&'static str, &'static str, &'static str, &'static str)>
{
    webhook_kinds()
        .map(|&(group, kind, plural)| (group, VERSION, kind, plural))
        .chain(
            GATEWAY_KINDS
                .iter()
                .map(|&(group, kind, plural)| (group, GATEWAY_VERSION, kind, plural)),
        )
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve(
    listener: std::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    client_config: kube::Config,
    shared: Arc<Shared>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("testenv webhook: cannot listen: {e}");
            return;
        }
    };
    let client = match kube::Client::try_from(client_config) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!("testenv webhook: cannot build its client: {e}");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                // Small request/response pairs on a kept-alive connection: no Nagle delay.
                let _ = tcp.set_nodelay(true);
                let (acceptor, client, shared) = (acceptor.clone(), client.clone(), shared.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let (client, shared) = (&client, &shared);
                    let served = http::serve_connection(tls, |request| handle(client, shared, request)).await;
                    if let Err(e) = served {
                        tracing::debug!("testenv webhook: connection ended: {e}");
                    }
                });
            }
        }
    }
}

/// Answers one AdmissionReview.
async fn handle(client: &kube::Client, shared: &Shared, request: http::Request) -> http::Response {
    let review: Value = match serde_json::from_slice(&request.body) {
        Ok(review) => review,
        Err(e) => {
            return http::Response {
                status: 400,
                body: json!({"error": format!("not an AdmissionReview: {e}")})
                    .to_string()
                    .into_bytes(),
            };
        }
    };
    let req = &review["request"];
    let kind = req["kind"]["kind"].as_str().unwrap_or("");
    let namespace = req["namespace"].as_str().unwrap_or("");
    let verdict: Result<Vec<Value>, String> = if request.path.starts_with("/mutate-") {
        shared.mutations.fetch_add(1, Ordering::Relaxed);
        let object = &req["object"];
        let mut defaulted = object.clone();
        default_object(kind, &mut defaulted);
        Ok(patch_ops(object, &defaulted))
    } else if request.path.starts_with("/validate-") {
        shared.validations.fetch_add(1, Ordering::Relaxed);
        let lookup = validation::Lookup { client, namespace };
        let result = match req["operation"].as_str().unwrap_or("") {
            "DELETE" => {
                validation::check_delete(&lookup, kind, req["name"].as_str().unwrap_or("")).await
            }
            "CREATE" | "UPDATE" => {
                let namespaces = shared
                    .fabric_namespaces
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                validation::check_write(&lookup, kind, &req["object"], &namespaces).await
            }
            _ => Ok(()),
        };
        result.map(|()| Vec::new())
    } else {
        return http::Response {
            status: 404,
            body: json!({"error": format!("no webhook at {}", request.path)})
                .to_string()
                .into_bytes(),
        };
    };
    let mut response = json!({"uid": req["uid"].clone()});
    match verdict {
        Ok(ops) => {
            response["allowed"] = json!(true);
            if !ops.is_empty() {
                let patch = serde_json::to_vec(&ops).expect("JSON patch serializes");
                response["patchType"] = json!("JSONPatch");
                response["patch"] = json!(base64::engine::general_purpose::STANDARD.encode(patch));
            }
        }
        Err(message) => {
            response["allowed"] = json!(false);
            response["status"] = json!({"code": 403, "reason": "Forbidden", "message": message});
        }
    }
    http::Response {
        status: 200,
        body: json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": response,
        })
        .to_string()
        .into_bytes(),
    }
}

/// A JSON patch from `before` to `after` over the parts defaulting touches.
fn patch_ops(before: &Value, after: &Value) -> Vec<Value> {
    ["/metadata/namespace", "/metadata/labels", "/spec"]
        .iter()
        .filter_map(|path| match (before.pointer(path), after.pointer(path)) {
            (b, a) if b == a => None,
            (_, Some(value)) => Some(json!({"op": "add", "path": path, "value": value})),
            (Some(_), None) => Some(json!({"op": "remove", "path": path})),
            (None, None) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_adds_what_changed_and_removes_what_went() {
        let before = json!({"metadata": {"name": "a", "namespace": "n", "labels": {"fabric.githedgehog.com/x": "1"}},
                            "spec": {"a": 1}});
        let after = json!({"metadata": {"name": "a", "namespace": "n"}, "spec": {"a": 1, "b": 2}});
        assert_eq!(
            patch_ops(&before, &after),
            vec![
                json!({"op": "remove", "path": "/metadata/labels"}),
                json!({"op": "add", "path": "/spec", "value": {"a": 1, "b": 2}}),
            ]
        );
        assert!(patch_ops(&after, &after).is_empty());
    }
}
