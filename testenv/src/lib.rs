//! `testenv`: a real Kubernetes control plane for hhdash tests, benchmarks
//! and demos.
//!
//! [`ControlPlane::start`] runs etcd and kube-apiserver (Kubernetes v1.34.4,
//! built from Go modules by `scripts/build-control-plane`) on free loopback
//! ports, with a fresh CA and serving certificate, static bearer tokens under
//! RBAC, and the Hedgehog CRDs from `../shared/hedgehog/crds` installed and
//! served. Dropping it kills and reaps both processes and removes its temp
//! dir, also on panic; children die with the test process even if that is
//! SIGKILLed. Any number of control planes can run at once.
//!
//! ```no_run
//! use testenv::{ControlPlane, Identity};
//! # async fn demo() -> Result<(), testenv::Error> {
//! let plane = ControlPlane::start().await?;         // namespace "default" granted
//! plane.grant("team-a").await?;                      // another namespace
//! let client = plane.client(Identity::Operator);     // kube::Client: URL + CA + token
//! let out = plane.kubectl(Identity::Admin).args(["get", "crds"]).output();
//! // hhdash configs: plane.server_url(), plane.ca_file(), plane.token_file(Identity::Reader)
//! # Ok(()) }
//! ```
//!
//! Identities ([`Identity`]): `Admin` (group `system:masters`), `Operator`
//! (all verbs on the `vpc.`/`wiring.githedgehog.com` kinds, get/list/watch on
//! agents, in granted namespaces), `Reader` (get/list/watch there) and
//! `Nobody` (authenticated, no permissions). Tokens are random per control
//! plane.
//!
//! Admission: by default an imitation of the Hedgehog fabric's admission webhooks
//! ([`webhook`]) checks references, refuses deletes of referenced objects, accepts
//! only fabric namespaces and defaults objects, as on a real fabric; it is a
//! documented imitation for tests, like the simulator ([`sim`]).
//! [`Options::webhook`] `= false` keeps the bare API server. [`fixtures`] holds
//! the wiring tests set up first and a generated fabric of any size.
//!
//! Test support: [`support`] holds what the tests, benchmarks and the demo share —
//! processes with a deadline, real Git repositories, a tmux driver.
//!
//! Faults: [`ControlPlane::stop_apiserver`], [`ControlPlane::start_apiserver`]
//! and [`ControlPlane::restart_apiserver`] keep etcd, port, certificates and
//! tokens; [`ControlPlane::compact`] compacts etcd so old resourceVersions
//! expire (410 Gone; read its doc about the watch cache), and
//! [`ControlPlane::expire_resource_versions`] makes that certain across a
//! restart. [`ControlPlane::freeze_apiserver`] / [`ControlPlane::thaw_apiserver`]
//! (SIGSTOP / SIGCONT) make a server that holds connections but never answers.
//!
//! Sharing: [`shared()`] returns one control plane per test binary; give each
//! test its own namespace with [`ControlPlane::grant`].
//!
//! Reference data: [`shared_dir`], [`crds_dir`], [`samples_dir`] locate
//! `../shared` (override `HHDASH_SHARED_DIR`, `HHDASH_CRDS_DIR`) and fail
//! loudly when it is missing; [`read_yaml_docs`] parses multi-document YAML.
//!
//! Binaries: `HHDASH_CONTROL_PLANE_BIN`, else
//! `${HHDASH_CACHE:-~/.cache/hhdash}/control-plane/v1.34.4/bin`. Set
//! `HHDASH_TESTENV_KEEP=1` to keep each control plane's temp dir (logs,
//! certificates, kubeconfigs) after it stops.

mod apiserver;
mod crds;
mod error;
mod etcd;
pub mod fixtures;
mod paths;
mod pki;
mod plane;
mod process;
mod shared;
pub mod sim;
pub mod support;
pub mod webhook;

pub use error::Error;
pub use paths::{
    KUBERNETES_VERSION, bin_dir, cache_dir, crds_dir, gateway_crds_dir, hedgehog_dir,
    read_yaml_docs, samples_dir, shared_dir, workspace_root,
};
pub use plane::{ControlPlane, FIELD_MANAGER, Identity, Options, StartupTimings};
pub use process::log_tail;
pub use shared::shared;
