//! cluster::error: every way talking to a fabric's API server fails, as a `ClusterError` that
//! names the fabric, the server or object, and what to do — and how a kube error is sorted
//! into one (unreachable, no answer, TLS, 401, 403, CRDs missing, rejected, conflict).

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
    #[error(
        "fabric {fabric}: {object}: namespace {namespace:?} is not one this fabric manages ({managed}); nothing outside them is written: add it to the fabric's namespaces, or move the object"
    )]
    Unmanaged {
        fabric: String,
        object: String,
        namespace: String,
        managed: String,
    },
    /// A 403 that is no RBAC verdict: an admission webhook said no to the object itself.
    #[error(
        "fabric {fabric}: the cluster's admission webhook refused {what}: {message}; fix the object in Git (or apply what it refers to first)"
    )]
    Denied {
        fabric: String,
        what: String,
        message: String,
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

pub(super) struct Context<'a> {
    pub(super) fabric: &'a str,
    pub(super) server: &'a str,
    pub(super) namespace: &'a str,
    pub(super) ca: &'a str,
    pub(super) token: &'a str,
    pub(super) verb: &'a str,
    pub(super) resource: &'a str,
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

pub(super) fn classify(error: kube::Error, cx: &Context) -> ClusterError {
    match error {
        kube::Error::Api(status) if status.code == 401 => ClusterError::Unauthorized {
            fabric: cx.fabric.to_string(),
            server: cx.server.to_string(),
            token_source: cx.token.to_string(),
        },
        // The API server answers a webhook's refusal with 403 too (unless the webhook names
        // another code): telling the operator to grant RBAC would send them the wrong way.
        kube::Error::Api(status)
            if status.code == 403 && status.message.starts_with("admission webhook") =>
        {
            ClusterError::Denied {
                fabric: cx.fabric.to_string(),
                what: format!("{} {}", cx.verb, cx.resource),
                message: status.message,
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(code: u16, message: &str) -> ClusterError {
        let status = kube::core::Status::failure(message, "Forbidden").with_code(code);
        let cx = Context {
            fabric: "east",
            server: "https://127.0.0.1:6443",
            namespace: "fab",
            ca: "",
            token: "token_env EAST_TOKEN",
            verb: "patch",
            resource: "vpcattachments",
        };
        classify(kube::Error::Api(Box::new(status)), &cx)
    }

    #[test]
    fn a_webhooks_refusal_is_not_called_an_rbac_problem() {
        let denied = refused(
            403,
            "admission webhook \"vvpcattachment.kb.io\" denied the request: vpc vpc-1 not found",
        )
        .to_string();
        assert!(
            denied.contains("admission webhook refused patch vpcattachments")
                && denied.contains("vpc vpc-1 not found")
                && !denied.contains("RBAC"),
            "{denied}"
        );
        let forbidden = refused(403, "vpcattachments is forbidden: User cannot patch").to_string();
        assert!(
            forbidden.contains("RBAC forbids patch on vpcattachments"),
            "{forbidden}"
        );
    }
}
