//! kube-apiserver: command line and readiness.
//!
//! Authentication is by static bearer tokens (`--token-auth-file`) only;
//! authorization is `RBAC` only. Admission keeps what matters for custom
//! resources (NamespaceLifecycle, the admission webhooks and admission
//! policies) and drops the pod/storage/certificate plugins. The API server
//! never compacts etcd by itself (`--etcd-compaction-interval=0`).

use std::path::Path;

/// The default admission plugins that do nothing for custom resources.
const DISABLED_ADMISSION: &[&str] = &[
    "LimitRanger",
    "ServiceAccount",
    "DefaultStorageClass",
    "PersistentVolumeClaimResize",
    "DefaultTolerationSeconds",
    "ResourceQuota",
    "StorageObjectInUseProtection",
    "Priority",
    "TaintNodesByCondition",
    "RuntimeClass",
    "CertificateApproval",
    "CertificateSigning",
    "ClusterTrustBundleAttest",
    "CertificateSubjectRestriction",
    "DefaultIngressClass",
    "PodSecurity",
    "PodTopologyLabels",
];

/// Files and ports the API server is started with.
pub(crate) struct ApiserverConfig<'a> {
    pub dir: &'a Path,
    pub port: u16,
    pub etcd_port: u16,
    pub watch_cache: bool,
}

pub(crate) fn args(c: &ApiserverConfig<'_>) -> Vec<String> {
    let dir = c.dir;
    let file = |name: &str| dir.join(name).display().to_string();
    vec![
        format!("--etcd-servers=http://127.0.0.1:{}", c.etcd_port),
        "--etcd-compaction-interval=0".into(),
        format!("--watch-cache={}", c.watch_cache),
        "--bind-address=127.0.0.1".into(),
        "--advertise-address=127.0.0.1".into(),
        format!("--secure-port={}", c.port),
        format!("--cert-dir={}", file("apiserver-certs")),
        format!("--tls-cert-file={}", file("apiserver.crt")),
        format!("--tls-private-key-file={}", file("apiserver.key")),
        format!("--token-auth-file={}", file("tokens.csv")),
        "--authorization-mode=RBAC".into(),
        format!("--service-account-issuer=https://kubernetes.default.svc"),
        format!("--service-account-key-file={}", file("sa.pub")),
        format!("--service-account-signing-key-file={}", file("sa.key")),
        "--service-cluster-ip-range=10.96.0.0/16".into(),
        "--enable-admission-plugins=NamespaceLifecycle".into(),
        format!(
            "--disable-admission-plugins={}",
            DISABLED_ADMISSION.join(",")
        ),
        // Nothing to reconcile: no nodes, no Service endpoints for 127.0.0.1.
        "--endpoint-reconciler-type=none".into(),
        "--enable-priority-and-fairness=false".into(),
        "--profiling=false".into(),
        "--shutdown-delay-duration=0s".into(),
        "--v=1".into(),
    ]
}
