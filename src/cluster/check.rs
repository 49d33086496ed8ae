//! cluster::check: `hhdash check` against the server — its version, that every kind's CRD is
//! served, and what the token may do in each managed namespace (access reviews, a few at a
//! time, reported in a fixed order).

use futures::StreamExt;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, ListParams, PostParams};

use super::{ClusterError, FabricClient};
use crate::kinds::{self, KindInfo};

/// What a successful connection check learned.
#[derive(Debug, Clone)]
pub struct ConnectionReport {
    pub server_version: String,
    /// Whether the token may patch the Hedgehog kinds (apply).
    pub can_write: bool,
    /// Warnings an operator should see (e.g. insecure TLS).
    pub warnings: Vec<String>,
}

impl FabricClient {
    /// Server version, then the permissions hhdash needs in each of its namespaces (not
    /// cluster-wide), then that the Hedgehog CRDs are served.
    /// `needs_write`: warn when the token cannot apply.
    pub async fn check(&self, needs_write: bool) -> Result<ConnectionReport, ClusterError> {
        let version = self
            .client
            .apiserver_version()
            .await
            .map_err(|e| self.classify(e, "get", "/version", self.cluster_scope()))?;
        let mut warnings = Vec::new();
        if self.ca_description.starts_with("no CA") {
            warnings.push(format!(
                "fabric {}: insecure_skip_tls_verify is on; the server's identity is not checked",
                self.fabric
            ));
        }
        // A list of each kind in each namespace proves the CRD is served and the token may
        // read it there. A missing CRD is missing in every namespace: named once.
        let lists =
            self.per_kind_and_namespace(kinds::KINDS.iter(), |info, namespace| async move {
                self.api(info, namespace)
                    .list_metadata(&ListParams::default().limit(1))
                    .await
                    .map(|_| ())
            });
        let mut missing = Vec::new();
        for (info, namespace, result) in lists.await {
            match result {
                Ok(()) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {
                    if !missing.contains(&info.kind.to_string()) {
                        missing.push(info.kind.to_string())
                    }
                }
                Err(error) => return Err(self.classify(error, "list", info.plural, namespace)),
            }
        }
        if !missing.is_empty() {
            return Err(ClusterError::CrdsMissing {
                fabric: self.fabric.clone(),
                server: self.server.clone(),
                kinds: missing,
            });
        }
        let watches = self.per_kind_and_namespace(kinds::KINDS.iter(), |info, namespace| {
            self.access_review(info, namespace, "watch")
        });
        for (_, _, result) in watches.await {
            result?;
        }
        // Writes are probed, not required: a read-only token still monitors; apply will say why
        // it cannot write.
        let patches = self.per_kind_and_namespace(kinds::desired_kinds(), |info, namespace| {
            self.access_review(info, namespace, "patch")
        });
        let mut can_write = true;
        for (_, _, result) in patches.await {
            match result {
                Ok(()) => {}
                Err(ClusterError::Forbidden {
                    verb,
                    resource,
                    namespace,
                    ..
                }) => {
                    can_write = false;
                    if needs_write {
                        warnings.push(format!(
                            "fabric {}: the token may not {verb} {resource} in namespace {namespace}: read-only, apply will be refused",
                            self.fabric
                        ));
                    }
                    break;
                }
                Err(other) => return Err(other),
            }
        }
        Ok(ConnectionReport {
            server_version: version.git_version,
            can_write,
            warnings,
        })
    }

    /// Runs `request` for each of `kinds` in each managed namespace, a few at a time, and
    /// returns the outcomes in that order (namespace by namespace, kind by kind), so the first
    /// failure reported is always the same one.
    async fn per_kind_and_namespace<'a, T, F, Fut>(
        &'a self,
        kinds: impl Iterator<Item = &'static KindInfo>,
        request: F,
    ) -> Vec<(&'static KindInfo, &'a str, T)>
    where
        F: Fn(&'static KindInfo, &'a str) -> Fut,
        Fut: std::future::Future<Output = T> + 'a,
    {
        /// Requests in flight at once: fast on a remote server, gentle on a small one.
        const IN_FLIGHT: usize = 8;
        let kinds: Vec<&'static KindInfo> = kinds.collect();
        let pairs: Vec<(&'static KindInfo, &'a str)> = self
            .namespaces
            .managed
            .iter()
            .flat_map(|namespace| kinds.iter().map(move |info| (*info, namespace.as_str())))
            .collect();
        // Made up front (a future does nothing until polled), so no closure is held across
        // an await of the caller's (spawned) future.
        let pending: Vec<_> = pairs
            .into_iter()
            .map(|(info, namespace)| {
                let answer = request(info, namespace);
                async move { (info, namespace, answer.await) }
            })
            .collect();
        futures::stream::iter(pending)
            .buffered(IN_FLIGHT)
            .collect()
            .await
    }

    /// Asks the server whether this token may `verb` the kind in `namespace`.
    async fn access_review(
        &self,
        info: &KindInfo,
        namespace: &str,
        verb: &str,
    ) -> Result<(), ClusterError> {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(namespace.to_string()),
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
            .map_err(|e| self.classify(e, "create", "selfsubjectaccessreviews", namespace))?;
        if result.status.is_some_and(|s| s.allowed) {
            Ok(())
        } else {
            Err(ClusterError::Forbidden {
                fabric: self.fabric.clone(),
                verb: verb.to_string(),
                resource: format!("{}.{}", info.plural, info.group),
                namespace: namespace.to_string(),
                detail: String::new(),
            })
        }
    }
}
