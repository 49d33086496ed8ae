//! Who may do what on a [`ControlPlane`]: the [`Identity`]s with their tokens, and the RBAC
//! grants [`ControlPlane::grant`] gives them in a namespace, effective before it returns.

use std::time::{Duration, Instant};

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams, PostParams};

use super::{ControlPlane, FIELD_MANAGER};
use crate::Error;

/// The API groups of the Hedgehog kinds users manage.
const MANAGED_GROUPS: [&str; 3] = [
    "vpc.githedgehog.com",
    "wiring.githedgehog.com",
    "gateway.githedgehog.com",
];
const AGENT_GROUP: &str = "agent.githedgehog.com";
/// The gateway's health objects (GatewayAgent), read-only like Agents.
const GATEWAY_AGENT_GROUP: &str = "gwint.githedgehog.com";

/// Who talks to the API server. Each identity has a random bearer token per
/// control plane, so the tokens of one control plane are rejected (401) by
/// another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Identity {
    /// User `hhdash-admin` in group `system:masters`: may do anything.
    Admin,
    /// User `hhdash-operator`: after [`ControlPlane::grant`], all verbs on the
    /// `vpc.`, `wiring.` and `gateway.githedgehog.com` kinds and get/list/watch on
    /// `agents.agent.` and `gatewayagents.gwint.githedgehog.com` in the granted namespace;
    /// nothing else.
    Operator,
    /// User `hhdash-reader`: after [`ControlPlane::grant`], get/list/watch on
    /// the same kinds in the granted namespace; nothing else.
    Reader,
    /// User `hhdash-nobody`: authenticated, but no RBAC grants at all.
    Nobody,
}

impl Identity {
    /// All identities.
    pub const ALL: [Identity; 4] = [
        Identity::Admin,
        Identity::Operator,
        Identity::Reader,
        Identity::Nobody,
    ];

    /// Short lowercase name (`admin`, `operator`, `reader`, `nobody`).
    pub fn name(self) -> &'static str {
        match self {
            Identity::Admin => "admin",
            Identity::Operator => "operator",
            Identity::Reader => "reader",
            Identity::Nobody => "nobody",
        }
    }

    /// The Kubernetes user name the API server sees (`hhdash-<name>`).
    pub fn user(self) -> String {
        format!("hhdash-{}", self.name())
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }
}

impl ControlPlane {
    /// Create `namespace` if needed and bind [`Identity::Operator`] and
    /// [`Identity::Reader`] there (Role + RoleBinding `hhdash-operator`,
    /// `hhdash-reader`). Returns once the API server authorizes both. The
    /// namespace becomes a fabric namespace for the webhook
    /// ([`allow_namespace`](Self::allow_namespace)).
    pub async fn grant(&self, namespace: &str) -> Result<(), Error> {
        self.allow_namespace(namespace);
        let client = self.client(Identity::Admin);
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let ctx = format!("creating namespace {namespace}");
        if namespaces
            .get_opt(namespace)
            .await
            .map_err(Error::kube(&ctx))?
            .is_none()
        {
            let ns = Namespace {
                metadata: ObjectMeta {
                    name: Some(namespace.to_string()),
                    ..Default::default()
                },
                ..Default::default()
            };
            match namespaces.create(&PostParams::default(), &ns).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => return Err(Error::kube(ctx)(e)),
            }
        }

        let rule = |groups: &[&str], resources: &[&str], verbs: &[&str]| PolicyRule {
            api_groups: Some(groups.iter().map(|s| s.to_string()).collect()),
            resources: Some(resources.iter().map(|s| s.to_string()).collect()),
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let read = ["get", "list", "watch"];
        let grants = [
            (
                Identity::Operator,
                vec![
                    rule(&MANAGED_GROUPS, &["*"], &["*"]),
                    rule(&[AGENT_GROUP], &["agents"], &read),
                    rule(&[GATEWAY_AGENT_GROUP], &["gatewayagents"], &read),
                ],
            ),
            (
                Identity::Reader,
                vec![
                    rule(&MANAGED_GROUPS, &["*"], &read),
                    rule(&[AGENT_GROUP], &["agents"], &read),
                    rule(&[GATEWAY_AGENT_GROUP], &["gatewayagents"], &read),
                ],
            ),
        ];
        let roles: Api<Role> = Api::namespaced(client.clone(), namespace);
        let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), namespace);
        let pp = PatchParams::apply(FIELD_MANAGER).force();
        for (who, rules) in grants {
            let name = who.user();
            let role = Role {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(namespace.to_string()),
                    ..Default::default()
                },
                rules: Some(rules),
            };
            roles
                .patch(&name, &pp, &Patch::Apply(&role))
                .await
                .map_err(Error::kube(format!("applying Role {namespace}/{name}")))?;
            let binding = RoleBinding {
                metadata: role.metadata.clone(),
                role_ref: RoleRef {
                    api_group: "rbac.authorization.k8s.io".into(),
                    kind: "Role".into(),
                    name: name.clone(),
                },
                subjects: Some(vec![Subject {
                    api_group: Some("rbac.authorization.k8s.io".into()),
                    kind: "User".into(),
                    name: name.clone(),
                    namespace: None,
                }]),
            };
            bindings
                .patch(&name, &pp, &Patch::Apply(&binding))
                .await
                .map_err(Error::kube(format!(
                    "applying RoleBinding {namespace}/{name}"
                )))?;
        }
        for who in [Identity::Operator, Identity::Reader] {
            self.wait_authorized(&client, who, namespace).await?;
        }
        Ok(())
    }

    /// Poll a SubjectAccessReview until `who` may list VPCs in `namespace`
    /// (the RBAC authorizer's informer is eventually consistent).
    async fn wait_authorized(
        &self,
        client: &kube::Client,
        who: Identity,
        namespace: &str,
    ) -> Result<(), Error> {
        let reviews: Api<SubjectAccessReview> = Api::all(client.clone());
        let review = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(who.user()),
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(namespace.to_string()),
                    verb: Some("list".into()),
                    group: Some("vpc.githedgehog.com".into()),
                    resource: Some("vpcs".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let result = reviews
                .create(&PostParams::default(), &review)
                .await
                .map_err(Error::kube("creating a SubjectAccessReview"))?;
            if result.status.is_some_and(|s| s.allowed) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::State(format!(
                    "RBAC grant for {} in {namespace} not effective after 30 s",
                    who.user()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
