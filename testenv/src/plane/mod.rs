//! [`ControlPlane`]: one etcd plus one kube-apiserver on free loopback ports,
//! with its own CA, tokens and temp dir, torn down on drop.
//!
//! This module starts, describes and stops it; `access` holds the identities and their RBAC
//! grants, `faults` what a test can do to a running one (compaction, a frozen or restarted
//! API server).

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kube::api::{Api, Patch, PatchParams};
use kube::core::ApiResource;
use secrecy::SecretString;

use crate::apiserver::{self, ApiserverConfig};
use crate::process::{self, Proc};
use crate::webhook::Webhook;
use crate::{Error, crds, etcd, paths, pki};

mod access;
mod faults;

pub use access::Identity;

/// Field manager the harness uses for its own server-side applies.
pub const FIELD_MANAGER: &str = "hhdash-testenv";

/// How to start a [`ControlPlane`].
#[derive(Clone, Debug)]
pub struct Options {
    /// Namespaces to create and [`grant`](ControlPlane::grant) at start.
    /// Default: `["default"]`.
    pub namespaces: Vec<String>,
    /// CRDs to install. Default: `HHDASH_CRDS_DIR`, else
    /// `<shared>/hedgehog/crds`.
    pub crds_dir: Option<PathBuf>,
    /// Install the CRDs at start. Default: `true`.
    pub install_crds: bool,
    /// Run the API server with its watch cache (`--watch-cache`), as real
    /// clusters do. Default: `true`. With the watch cache, watches are served
    /// from the API server's in-memory event window, so [`ControlPlane::compact`]
    /// alone does not expire a recent resourceVersion for watches; see there.
    pub watch_cache: bool,
    /// How long to wait for each process to become ready. Default: 60 s.
    pub ready_timeout: Duration,
    /// Put testenv's imitation of the Hedgehog admission webhooks in front of the API server
    /// ([`crate::webhook`]): references checked on create/update/delete, objects defaulted,
    /// only fabric namespaces accepted, `failurePolicy: Fail`. Default: `true`, as on a real
    /// fabric. `false` gives the bare API server, where only the CRD schemas validate.
    /// Needs `install_crds`.
    pub webhook: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            namespaces: vec!["default".to_string()],
            crds_dir: None,
            install_crds: true,
            watch_cache: true,
            ready_timeout: Duration::from_secs(60),
            webhook: true,
        }
    }
}

/// How long each phase of [`ControlPlane::start_with`] took.
#[derive(Clone, Copy, Debug, Default)]
pub struct StartupTimings {
    /// Certificates, keys and files.
    pub setup: Duration,
    /// etcd from spawn to healthy.
    pub etcd: Duration,
    /// kube-apiserver from spawn to `/readyz` OK.
    pub apiserver: Duration,
    /// Namespaces and RBAC grants.
    pub grants: Duration,
    /// CRDs applied, Established and served.
    pub crds: Duration,
    /// Admission webhook started, registered and called by the API server, not counting the
    /// CRDs installed meanwhile (zero without it).
    pub webhook: Duration,
    /// Everything.
    pub total: Duration,
}

/// A running etcd + kube-apiserver. Dropping it kills and reaps both
/// processes and removes its temp dir (set `HHDASH_TESTENV_KEEP=1` to keep
/// the dir and its logs).
#[derive(Debug)]
pub struct ControlPlane {
    // Processes first: they are killed in `Drop::drop`, before the dir goes.
    apiserver: Option<Proc>,
    etcd: Proc,
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
    ca_file: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    etcd_port: u16,
    watch_cache: bool,
    ready_timeout: Duration,
    ca_pem: String,
    ca_der: Vec<u8>,
    tokens: [String; 4],
    namespaces: Vec<String>,
    crds: Vec<ApiResource>,
    timings: StartupTimings,
    webhook: Option<Webhook>,
}

const PORT_ATTEMPTS: usize = 4;

impl ControlPlane {
    /// Start with [`Options::default`].
    pub async fn start() -> Result<ControlPlane, Error> {
        Self::start_with(Options::default()).await
    }

    /// Start etcd and kube-apiserver, wait for `/readyz`, create and grant the
    /// namespaces, install the CRDs and wait until they are served.
    pub async fn start_with(opts: Options) -> Result<ControlPlane, Error> {
        let t0 = Instant::now();
        let bin_dir = paths::bin_dir()?;
        let crds_dir = match (&opts.install_crds, &opts.crds_dir) {
            (false, _) => None,
            (true, Some(dir)) => Some(dir.clone()),
            (true, None) => Some(paths::crds_dir()?),
        };
        let mut crd_docs = match &crds_dir {
            Some(dir) => crds::load(dir)?,
            None => Vec::new(),
        };
        // The gateway CRDs live apart from the 16 fabric ones; installed with the default set.
        if opts.install_crds
            && opts.crds_dir.is_none()
            && std::env::var_os("HHDASH_CRDS_DIR").is_none()
        {
            crd_docs.extend(crds::load(&paths::hedgehog_dir()?.join("crds-gateway"))?);
        }

        let dir = tempfile::Builder::new()
            .prefix("hhdash-testenv-")
            .tempdir()
            .map_err(Error::io("creating the control plane temp dir"))?;
        let path = dir.path().to_path_buf();
        write_file(
            &path.join(OWNER_FILE),
            &std::process::id().to_string(),
            0o644,
        )?;
        sweep_stale_dirs(&path);
        if opts.webhook && !opts.install_crds {
            return Err(Error::State(
                "Options::webhook needs install_crds: the webhooks cover the Hedgehog kinds".into(),
            ));
        }
        let pki = pki::Pki::generate()?;
        let tokens = Identity::ALL.map(|_| pki::random_token());
        write_file(&path.join("ca.crt"), &pki.ca_pem, 0o644)?;
        write_file(&path.join("apiserver.crt"), &pki.serving_cert_pem, 0o644)?;
        write_file(&path.join("apiserver.key"), &pki.serving_key_pem, 0o600)?;
        write_file(&path.join("sa.key"), &pki.sa_key_pem, 0o600)?;
        write_file(&path.join("sa.pub"), &pki.sa_pub_pem, 0o644)?;
        let mut csv = String::new();
        for who in Identity::ALL {
            let groups = if who == Identity::Admin {
                ",\"system:masters\""
            } else {
                ""
            };
            csv.push_str(&format!(
                "{},{},{}{groups}\n",
                tokens[who.index()],
                who.user(),
                who.user()
            ));
            write_file(&token_path(&path, who), &tokens[who.index()], 0o600)?;
        }
        write_file(&path.join("tokens.csv"), &csv, 0o600)?;
        let setup = t0.elapsed();

        let t = Instant::now();
        let (etcd, etcd_port) = start_etcd(&bin_dir, &path, opts.ready_timeout).await?;
        let etcd_time = t.elapsed();

        let mut plane = ControlPlane {
            apiserver: None,
            etcd,
            dir: Some(dir),
            ca_file: path.join("ca.crt"),
            path,
            bin_dir,
            port: 0,
            etcd_port,
            watch_cache: opts.watch_cache,
            ready_timeout: opts.ready_timeout,
            ca_pem: pki.ca_pem,
            ca_der: pki.ca_der,
            tokens,
            namespaces: opts.namespaces.clone(),
            crds: Vec::new(),
            timings: StartupTimings::default(),
            webhook: None,
        };

        let t = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            plane.port = process::free_ports(1)?[0];
            match plane.start_apiserver_process().await {
                Err(e) if attempt < PORT_ATTEMPTS && process::is_port_conflict(&e) => continue,
                other => other?,
            }
            break;
        }
        let apiserver_time = t.elapsed();
        for who in Identity::ALL {
            plane.write_kubeconfig(who)?;
        }

        let t = Instant::now();
        for ns in &opts.namespaces {
            plane.grant(ns).await?;
        }
        let grants = t.elapsed();

        // The webhook is registered before the CRDs are installed, so no Hedgehog write ever
        // goes unchecked.
        let t = Instant::now();
        if opts.webhook {
            let webhook = Webhook::start(
                plane.config(Identity::Admin),
                pki.webhook_cert_der,
                pki.webhook_key_der,
                &opts.namespaces,
            )?;
            webhook
                .register(&plane.client(Identity::Admin), &plane.ca_pem)
                .await?;
            plane.webhook = Some(webhook);
        }
        let mut webhook_time = t.elapsed();

        let t = Instant::now();
        if !crd_docs.is_empty() {
            let client = plane.client(Identity::Admin);
            plane.crds = crds::install(&client, crd_docs, opts.ready_timeout).await?;
        }
        let crds_time = t.elapsed();

        let t = Instant::now();
        if let Some(webhook) = &plane.webhook {
            let probe_namespace = opts.namespaces.first().map_or("default", String::as_str);
            webhook
                .wait_effective(
                    &plane.client(Identity::Admin),
                    probe_namespace,
                    opts.ready_timeout,
                )
                .await?;
            webhook_time += t.elapsed();
        }
        plane.timings = StartupTimings {
            setup,
            etcd: etcd_time,
            apiserver: apiserver_time,
            grants,
            crds: crds_time,
            webhook: webhook_time,
            total: t0.elapsed(),
        };
        tracing::info!(
            server = %plane.server_url(),
            dir = %plane.path.display(),
            timings = ?plane.timings,
            "testenv control plane ready"
        );
        Ok(plane)
    }

    /// `https://127.0.0.1:<port>`.
    pub fn server_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The API server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// etcd's client URL (`http://127.0.0.1:<port>`).
    pub fn etcd_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.etcd_port)
    }

    /// The CA that signed the API server's certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The CA that signed the API server's certificate, DER.
    pub fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }

    /// The CA certificate file (`ca.crt` in the temp dir).
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The bearer token of `who`.
    pub fn token(&self, who: Identity) -> &str {
        &self.tokens[who.index()]
    }

    /// A file holding only the bearer token of `who` (mode 0600, no newline).
    pub fn token_file(&self, who: Identity) -> PathBuf {
        token_path(&self.path, who)
    }

    /// A kubeconfig (mode 0600) for `who`: server, CA file and token, with the
    /// first of [`Options::namespaces`] as its namespace.
    pub fn kubeconfig_file(&self, who: Identity) -> PathBuf {
        self.path.join(format!("kubeconfig-{}.yaml", who.name()))
    }

    /// The temp dir holding certificates, tokens, kubeconfigs, logs and etcd data.
    pub fn dir(&self) -> &Path {
        &self.path
    }

    /// The kube-apiserver log (stdout and stderr, across restarts).
    pub fn apiserver_log(&self) -> PathBuf {
        self.path.join("kube-apiserver.log")
    }

    /// The etcd log.
    pub fn etcd_log(&self) -> PathBuf {
        self.path.join("etcd.log")
    }

    /// The namespaces created at start.
    pub fn namespaces(&self) -> &[String] {
        &self.namespaces
    }

    /// The installed CRDs' resources (group, version, kind, plural).
    pub fn crds(&self) -> &[ApiResource] {
        &self.crds
    }

    /// How long start-up took, per phase.
    pub fn timings(&self) -> StartupTimings {
        self.timings
    }

    /// Whether kube-apiserver is running (see [`stop_apiserver`](Self::stop_apiserver)).
    pub fn apiserver_running(&self) -> bool {
        self.apiserver.is_some()
    }

    /// A kube client config for `who`, built from the server URL, the CA and
    /// the bearer token only (never a kubeconfig). Tests can alter it, for
    /// example to use a wrong CA.
    pub fn config(&self, who: Identity) -> kube::Config {
        let url = self
            .server_url()
            .parse()
            .expect("server URL is a valid URI");
        let mut config = kube::Config::new(url);
        config.root_cert = Some(vec![self.ca_der.clone()]);
        config.auth_info.token = Some(SecretString::from(self.token(who).to_string()));
        if let Some(ns) = self.namespaces.first() {
            config.default_namespace = ns.clone();
        }
        config.connect_timeout = Some(Duration::from_secs(5));
        config
    }

    /// A new kube client for `who` (see [`config`](Self::config)). Must be
    /// called inside a tokio runtime; the client is bound to that runtime, so
    /// make one per test.
    pub fn client(&self, who: Identity) -> kube::Client {
        kube::Client::try_from(self.config(who))
            .expect("building a kube client from a static config")
    }

    /// `kubectl` preconfigured for `who`: `--kubeconfig` pointing at a 0600
    /// file in the temp dir (server, CA, token) and `--cache-dir` in the temp
    /// dir; `~/.kube` is never read or written.
    pub fn kubectl(&self, who: Identity) -> Command {
        let mut cmd = Command::new(self.bin_dir.join("kubectl"));
        cmd.env_remove("KUBECONFIG")
            .arg(format!(
                "--kubeconfig={}",
                self.kubeconfig_file(who).display()
            ))
            .arg(format!(
                "--cache-dir={}",
                self.path.join("kubectl-cache").display()
            ));
        process::die_with_parent(&mut cmd);
        cmd
    }

    /// Let the admission webhook accept Hedgehog objects in `namespace`, as the
    /// real one accepts `default` (see [`crate::webhook`], "Fabric namespaces").
    /// [`grant`](Self::grant) does this too; use this for a namespace the
    /// test sets up without testenv's grants. No effect without the webhook.
    pub fn allow_namespace(&self, namespace: &str) {
        if let Some(webhook) = &self.webhook {
            webhook.allow_namespace(namespace);
        }
    }

    /// The namespaces the webhook accepts objects in (empty without it).
    pub fn fabric_namespaces(&self) -> Vec<String> {
        self.webhook
            .as_ref()
            .map(Webhook::fabric_namespaces)
            .unwrap_or_default()
    }

    /// Whether the admission webhook was started ([`Options::webhook`]); it
    /// may since have been stopped ([`stop_webhook`](Self::stop_webhook)).
    pub fn has_webhook(&self) -> bool {
        self.webhook.is_some()
    }

    /// Whether the admission webhook is serving.
    pub fn webhook_running(&self) -> bool {
        self.webhook.as_ref().is_some_and(Webhook::running)
    }

    /// The admission webhook's port on 127.0.0.1 (`None` without it).
    pub fn webhook_port(&self) -> Option<u16> {
        self.webhook.as_ref().map(Webhook::port)
    }

    /// Admission reviews the webhook answered so far: (mutating, validating).
    pub fn webhook_calls(&self) -> (u64, u64) {
        self.webhook.as_ref().map_or((0, 0), Webhook::calls)
    }

    /// Stop the admission webhook's server, like a crashed webhook pod. The
    /// configurations stay registered with `failurePolicy: Fail`, so every
    /// create, update and delete of the covered kinds now fails with
    /// `failed calling webhook`. It cannot be started again.
    pub fn stop_webhook(&mut self) {
        if let Some(webhook) = &mut self.webhook {
            webhook.stop();
        }
    }

    /// Server-side apply `objects` in the given order as the admin (field
    /// manager [`FIELD_MANAGER`], forced). Each object needs `apiVersion`,
    /// `kind`, `metadata.name` and `metadata.namespace`, and its kind must be
    /// installed. For setting up what a test's objects refer to; the first
    /// failure is returned, naming the object.
    pub async fn apply_objects(&self, objects: &[serde_json::Value]) -> Result<(), Error> {
        let client = self.client(Identity::Admin);
        let pp = PatchParams::apply(FIELD_MANAGER).force();
        for object in objects {
            let text = |pointer: &str| {
                object
                    .pointer(pointer)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string()
            };
            let (kind, name, namespace) = (
                text("/kind"),
                text("/metadata/name"),
                text("/metadata/namespace"),
            );
            let what = format!("applying {kind} {namespace}/{name}");
            let resource = self
                .crds
                .iter()
                .find(|r| r.kind == kind && text("/apiVersion") == r.api_version)
                .ok_or_else(|| Error::State(format!("{what}: kind not installed")))?;
            let api: Api<kube::api::DynamicObject> =
                Api::namespaced_with(client.clone(), &namespace, resource);
            api.patch(&name, &pp, &Patch::Apply(object))
                .await
                .map_err(Error::kube(what))?;
        }
        Ok(())
    }

    async fn start_apiserver_process(&mut self) -> Result<(), Error> {
        let args = apiserver::args(&ApiserverConfig {
            dir: &self.path,
            port: self.port,
            etcd_port: self.etcd_port,
            watch_cache: self.watch_cache,
        });
        let log = self.apiserver_log();
        let mut proc = Proc::spawn(
            "kube-apiserver",
            &self.bin_dir.join("kube-apiserver"),
            &args,
            &log,
        )?;
        let client = self.client(Identity::Admin);
        let deadline = Instant::now() + self.ready_timeout;
        loop {
            proc.check_alive()?;
            let req = http::Request::get("/readyz")
                .body(Vec::new())
                .expect("valid request");
            let last = match tokio::time::timeout(Duration::from_secs(5), client.request_text(req))
                .await
            {
                Ok(Ok(_)) => break,
                Ok(Err(e)) => e.to_string(),
                Err(_) => "GET /readyz timed out".to_string(),
            };
            if Instant::now() > deadline {
                return Err(proc.not_ready(self.ready_timeout, last));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.apiserver = Some(proc);
        Ok(())
    }

    fn write_kubeconfig(&self, who: Identity) -> Result<(), Error> {
        let namespace = self
            .namespaces
            .first()
            .map(String::as_str)
            .unwrap_or("default");
        let config = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{
                "name": "testenv",
                "cluster": {
                    "server": self.server_url(),
                    "certificate-authority": self.ca_file(),
                },
            }],
            "users": [{ "name": who.user(), "user": { "token": self.token(who) } }],
            "contexts": [{
                "name": format!("testenv-{}", who.name()),
                "context": { "cluster": "testenv", "user": who.user(), "namespace": namespace },
            }],
            "current-context": format!("testenv-{}", who.name()),
        });
        let yaml = serde_yaml::to_string(&config).expect("kubeconfig serializes");
        write_file(&self.kubeconfig_file(who), &yaml, 0o600)
    }

    /// Process ids of the running processes (etcd, then kube-apiserver if running).
    pub fn pids(&self) -> Vec<u32> {
        let mut pids = vec![self.etcd.pid()];
        pids.extend(self.apiserver.as_ref().map(Proc::pid));
        pids
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        if let Some(mut proc) = self.apiserver.take() {
            proc.kill();
        }
        self.etcd.kill();
        // Dropping the TempDir removes it, unless asked to keep it.
        if let Some(dir) = self.dir.take()
            && std::env::var_os("HHDASH_TESTENV_KEEP").is_some()
        {
            let kept = dir.keep();
            let _ = fs::remove_file(kept.join(OWNER_FILE));
            eprintln!("testenv: kept {}", kept.display());
        }
    }
}

async fn start_etcd(bin_dir: &Path, dir: &Path, timeout: Duration) -> Result<(Proc, u16), Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let ports = process::free_ports(2)?;
        let data = dir.join("etcd-data");
        let _ = fs::remove_dir_all(&data);
        let args = etcd::args(&data, ports[0], ports[1]);
        let mut proc = Proc::spawn("etcd", &bin_dir.join("etcd"), &args, &dir.join("etcd.log"))?;
        let deadline = Instant::now() + timeout;
        let result = loop {
            if let Err(e) = proc.check_alive() {
                break Err(e);
            }
            match etcd::health(ports[0]).await {
                Ok(()) => break Ok(()),
                Err(last) if Instant::now() > deadline => break Err(proc.not_ready(timeout, last)),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        match result {
            Ok(()) => return Ok((proc, ports[0])),
            Err(e) if attempt < PORT_ATTEMPTS && process::is_port_conflict(&e) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Holds the pid of the process that owns a control plane's temp dir.
const OWNER_FILE: &str = "owner.pid";

/// Remove temp dirs of control planes whose process died without cleaning up
/// (SIGKILL). Dirs without an owner file (being created, or kept with
/// `HHDASH_TESTENV_KEEP`) are left alone.
fn sweep_stale_dirs(own: &Path) {
    let Some(parent) = own.parent() else { return };
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_plane = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("hhdash-testenv-"));
        if !is_plane || path == own {
            continue;
        }
        let Ok(pid) = fs::read_to_string(path.join(OWNER_FILE)) else {
            continue;
        };
        let alive = Path::new("/proc").join(pid.trim()).exists();
        if !alive {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

fn token_path(dir: &Path, who: Identity) -> PathBuf {
    dir.join(format!("{}.token", who.name()))
}

fn write_file(path: &Path, contents: &str, mode: u32) -> Result<(), Error> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(Error::io(format!("writing {}", path.display())))?;
    file.write_all(contents.as_bytes())
        .map_err(Error::io(format!("writing {}", path.display())))
}
