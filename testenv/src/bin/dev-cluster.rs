//! `dev-cluster`: start one testenv control plane for manual use, print an
//! hhdash fabric config snippet and kubectl command lines, and stay up until
//! Ctrl-C (or SIGTERM), then clean up.
//!
//! Usage: `dev-cluster [--no-webhook] [NAMESPACE...]` (default: `default`). The
//! namespaces are fabric namespaces for testenv's admission webhook imitation;
//! `--no-webhook` runs the API server bare. Run it through
//! `scripts/dev-cluster`, which builds the control-plane binaries first.

use std::time::Instant;

use testenv::{ControlPlane, Identity, Options};
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut namespaces: Vec<String> = std::env::args().skip(1).collect();
    if namespaces.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!(
            "usage: dev-cluster [--no-webhook] [NAMESPACE...]   (default namespace: default)\n\
             --no-webhook: no imitation of the Hedgehog admission webhooks (bare API server)"
        );
        return std::process::ExitCode::SUCCESS;
    }
    let webhook = !namespaces.iter().any(|a| a == "--no-webhook");
    namespaces.retain(|a| a != "--no-webhook");
    if namespaces.is_empty() {
        namespaces.push("default".into());
    }
    let started = Instant::now();
    let plane = match ControlPlane::start_with(Options {
        namespaces: namespaces.clone(),
        webhook,
        ..Options::default()
    })
    .await
    {
        Ok(plane) => plane,
        Err(e) => {
            eprintln!("dev-cluster: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let t = plane.timings();
    eprintln!(
        "dev-cluster: Kubernetes {} ready in {:.1?} (etcd {:.1?}, kube-apiserver {:.1?}, \
         grants {:.1?}, {} CRDs {:.1?})",
        testenv::KUBERNETES_VERSION,
        started.elapsed(),
        t.etcd,
        t.apiserver,
        t.grants,
        plane.crds().len(),
        t.crds
    );
    eprintln!("dev-cluster: files in {}", plane.dir().display());

    println!(
        "# hhdash fabric config (operator token; reader: {})",
        plane.token_file(Identity::Reader).display()
    );
    for ns in &namespaces {
        println!(
            "[[fabric]]\nname = \"dev-{ns}\"\nnamespace = \"{ns}\"\n\n[fabric.kubernetes]\n\
             server = \"{}\"\ntoken_file = \"{}\"\nca_cert_file = \"{}\"\n",
            plane.server_url(),
            plane.token_file(Identity::Operator).display(),
            plane.ca_file().display()
        );
    }
    let kubectl = testenv::bin_dir()
        .map(|d| d.join("kubectl").display().to_string())
        .unwrap_or_else(|_| "kubectl".into());
    for who in [Identity::Admin, Identity::Operator] {
        println!(
            "# kubectl as {}:\n{kubectl} --kubeconfig={} get fabric",
            who.user(),
            plane.kubeconfig_file(who).display()
        );
    }
    println!(
        "# or without a kubeconfig:\n{kubectl} --server={} --certificate-authority={} --token=\"$(cat {})\" get crds",
        plane.server_url(),
        plane.ca_file().display(),
        plane.token_file(Identity::Admin).display()
    );
    eprintln!("dev-cluster: running; press Ctrl-C to stop");

    let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    eprintln!("dev-cluster: stopping");
    drop(plane);
    eprintln!("dev-cluster: stopped and cleaned up");
    std::process::ExitCode::SUCCESS
}
