//! The control plane behaves like a real cluster with the Hedgehog CRDs:
//! CRDs served, real samples round-trip, watches, server-side apply, RBAC,
//! authentication and TLS. All tests share one control plane
//! ([`testenv::shared`]) and each uses its own namespace.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;

use common::{TWELVE_KINDS, api, api_code, assert_code, resource, vpc, within};
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, ObjectMeta, Patch, PatchParams, PostParams,
    WatchEvent, WatchParams,
};
use testenv::{ControlPlane, Identity};

async fn plane_with_ns(ns: &str) -> &'static ControlPlane {
    let plane = testenv::shared()
        .await
        .expect("starting the shared control plane");
    plane.grant(ns).await.expect("granting the test namespace");
    plane
}

/// [`plane_with_ns`] plus what every VPC refers to (the IPv4Namespace and VLANNamespace
/// `default`), which the admission webhook requires before a VPC.
async fn plane_with_vpc_ns(ns: &str) -> &'static ControlPlane {
    let plane = plane_with_ns(ns).await;
    plane
        .apply_objects(&testenv::fixtures::vpc_prerequisites(ns))
        .await
        .expect("the VPC prerequisites");
    plane
}

#[tokio::test]
async fn all_crds_established_and_kinds_listable() {
    let plane = plane_with_ns("t-crds").await;
    let client = plane.client(Identity::Admin);

    // Every file in the CRD dir is installed and Established.
    let dir = testenv::crds_dir().expect("shared CRDs");
    let files = std::fs::read_dir(&dir).expect("reading CRD dir").count();
    assert_eq!(files, 16, "16 CRD files in {}", dir.display());
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let hedgehog: Vec<_> = crds
        .list(&ListParams::default())
        .await
        .expect("listing CRDs")
        .items
        .into_iter()
        .filter(|c| c.spec.group.ends_with(".githedgehog.com"))
        .collect();
    // The 16 fabric CRDs and the 5 gateway CRDs of `crds-gateway`.
    assert_eq!(hedgehog.len(), 21);
    for crd in &hedgehog {
        let conditions = crd
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        assert!(
            conditions
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True"),
            "{:?} not Established: {conditions:?}",
            crd.metadata.name
        );
    }
    assert_eq!(plane.crds().len(), 21);

    // The 12 kinds plus Agent are listable (empty) in the namespace, as
    // Operator (the kinds it manages) and Reader.
    let operator = plane.client(Identity::Operator);
    let reader = plane.client(Identity::Reader);
    for kind in TWELVE_KINDS.iter().chain(&["Agent"]) {
        for client in [&client, &operator, &reader] {
            let list = api(client, plane, kind, "t-crds")
                .list(&ListParams::default())
                .await
                .unwrap_or_else(|e| panic!("listing {kind}: {e}"));
            assert!(list.items.is_empty(), "{kind} list is empty");
        }
        let ar = resource(plane, kind);
        assert_eq!(ar.version, "v1beta1", "{kind}");
    }

    // kubectl sees them too, including through the `fabric` category.
    let out = common::run_with_deadline(
        plane
            .kubectl(Identity::Admin)
            .args(["get", "crds", "-o", "name"]),
        common::COMMAND_DEADLINE,
    );
    assert!(
        out.status.success(),
        "kubectl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        names
            .lines()
            .filter(|l| l.contains(".githedgehog.com"))
            .count(),
        16
    );
    let out = common::run_with_deadline(
        plane
            .kubectl(Identity::Reader)
            .args(["get", "fabric", "-n", "t-crds"]),
        common::COMMAND_DEADLINE,
    );
    assert!(
        out.status.success(),
        "kubectl get fabric: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn demo_gitops_samples_create_get_list() {
    let ns = "t-samples";
    let plane = plane_with_ns(ns).await;
    let client = plane.client(Identity::Operator);
    let dir = testenv::samples_dir()
        .expect("shared samples")
        .join("demo-gitops/env-1");

    let mut docs = Vec::new();
    let mut per_file = BTreeMap::new();
    for file in [
        "demo.reset.yaml",
        "demo.yaml",
        "pre-demo.yaml",
        "vpc-test.yaml",
    ] {
        let file_docs = testenv::read_yaml_docs(dir.join(file)).expect("parsing sample");
        per_file.insert(file, file_docs.len());
        docs.extend(file_docs);
    }
    // README: demo.reset.yaml is entirely commented out.
    assert_eq!(
        per_file,
        BTreeMap::from([
            ("demo.reset.yaml", 0),
            ("demo.yaml", 4),
            ("pre-demo.yaml", 4),
            ("vpc-test.yaml", 1)
        ])
    );

    // On a fabric the wiring comes first and objects go in dependency order (the admission
    // webhook checks references): VPCs before the attachments and peerings naming them.
    plane
        .apply_objects(&testenv::fixtures::demo_gitops_wiring(ns))
        .await
        .expect("the wiring the samples refer to");
    docs.sort_by_key(|doc| doc["kind"] != "VPC");
    for doc in &docs {
        let mut obj: DynamicObject = serde_json::from_value(doc.clone()).expect("object");
        let kind = obj.types.as_ref().expect("kind").kind.clone();
        obj.metadata.namespace = Some(ns.into());
        let created = api(&client, plane, &kind, ns)
            .create(&PostParams::default(), &obj)
            .await
            .unwrap_or_else(|e| panic!("creating {kind} {:?}: {e}", obj.metadata.name));
        assert!(created.metadata.uid.is_some());
    }

    let mut counts = BTreeMap::new();
    for doc in &docs {
        let kind = doc["kind"].as_str().expect("kind");
        let name = doc["metadata"]["name"].as_str().expect("name");
        let live = api(&client, plane, kind, ns).get(name).await.expect("get");
        // The spec round-trips as the webhook defaulted it, nothing pruned or lost.
        let mut expected = doc.clone();
        expected["metadata"]["namespace"] = ns.into();
        testenv::webhook::default_object(kind, &mut expected);
        assert_eq!(
            live.data["spec"], expected["spec"],
            "{kind}/{name} spec round-trips"
        );
        *counts.entry(kind.to_string()).or_insert(0) += 1;
    }
    assert_eq!(
        counts,
        BTreeMap::from([
            ("ExternalPeering".to_string(), 1),
            ("VPC".to_string(), 4),
            ("VPCAttachment".to_string(), 3),
            ("VPCPeering".to_string(), 1),
        ])
    );
    for (kind, n) in &counts {
        let list = api(&client, plane, kind, ns)
            .list(&ListParams::default())
            .await
            .expect("list");
        assert_eq!(list.items.len(), *n, "{kind} count");
        for item in &list.items {
            assert_eq!(item.metadata.namespace.as_deref(), Some(ns));
        }
    }

    // The schema alone rejects a Switch without its required `role` (before
    // any validating webhook).
    let switch: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "wiring.githedgehog.com/v1beta1", "kind": "Switch",
        "metadata": { "name": "leaf-01", "namespace": ns },
        "spec": { "profile": "vs" },
    }))
    .unwrap();
    assert_code(
        api(&client, plane, "Switch", ns)
            .create(&PostParams::default(), &switch)
            .await,
        422,
        "Switch without spec.role",
    );
}

#[tokio::test]
async fn watch_sees_added_modified_deleted() {
    let ns = "t-watch";
    let plane = plane_with_vpc_ns(ns).await;
    let client = plane.client(Identity::Reader);
    let writer = plane.client(Identity::Operator);
    let vpcs = api(&client, plane, "VPC", ns);
    let rv = vpcs
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("list resourceVersion");
    let mut stream = vpcs
        .watch(&WatchParams::default(), &rv)
        .await
        .expect("watch")
        .boxed();

    let wapi = api(&writer, plane, "VPC", ns);
    wapi.create(&PostParams::default(), &vpc("watched", ns, 1001))
        .await
        .expect("create");
    let patch = serde_json::json!({ "metadata": { "labels": { "touched": "yes" } } });
    wapi.patch("watched", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch");
    wapi.delete("watched", &DeleteParams::default())
        .await
        .expect("delete");

    let mut seen = Vec::new();
    within(30, "watch events", async {
        while seen.len() < 3 {
            match stream
                .try_next()
                .await
                .expect("watch stream")
                .expect("stream open")
            {
                WatchEvent::Added(o) => seen.push(("ADDED", o.metadata.name)),
                WatchEvent::Modified(o) => seen.push(("MODIFIED", o.metadata.name)),
                WatchEvent::Deleted(o) => seen.push(("DELETED", o.metadata.name)),
                WatchEvent::Bookmark(_) => {}
                WatchEvent::Error(e) => panic!("watch error: {e:?}"),
            }
        }
    })
    .await;
    let name = Some("watched".to_string());
    assert_eq!(
        seen,
        vec![
            ("ADDED", name.clone()),
            ("MODIFIED", name.clone()),
            ("DELETED", name)
        ]
    );
}

#[tokio::test]
async fn server_side_apply_field_managers_and_conflicts() {
    let ns = "t-ssa";
    let plane = plane_with_vpc_ns(ns).await;
    let client = plane.client(Identity::Operator);
    let vpcs = api(&client, plane, "VPC", ns);

    let applied = vpcs
        .patch(
            "ssa",
            &PatchParams::apply("hhdash"),
            &Patch::Apply(&vpc("ssa", ns, 1001)),
        )
        .await
        .expect("apply as hhdash");
    let managers = |o: &DynamicObject| -> Vec<(String, String)> {
        o.metadata
            .managed_fields
            .iter()
            .flatten()
            .map(|m| {
                (
                    m.manager.clone().unwrap_or_default(),
                    m.operation.clone().unwrap_or_default(),
                )
            })
            .collect()
    };
    assert_eq!(
        managers(&applied),
        vec![("hhdash".to_string(), "Apply".to_string())]
    );
    let fields =
        serde_json::to_string(&applied.metadata.managed_fields.as_ref().unwrap()[0].fields_v1)
            .unwrap();
    assert!(
        fields.contains("f:vlan"),
        "hhdash owns spec.subnets.default.vlan: {fields}"
    );

    // Re-applying the same object is a no-op success.
    vpcs.patch(
        "ssa",
        &PatchParams::apply("hhdash"),
        &Patch::Apply(&vpc("ssa", ns, 1001)),
    )
    .await
    .expect("idempotent apply");

    // Another manager changing a field hhdash owns conflicts (409) ...
    let other = vpc("ssa", ns, 1002);
    let conflict = vpcs
        .patch(
            "ssa",
            &PatchParams::apply("kubectl-other"),
            &Patch::Apply(&other),
        )
        .await;
    match &conflict {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 409, "{s:?}");
            assert_eq!(s.reason, "Conflict");
            assert!(
                s.message.contains("hhdash"),
                "conflict names the owner: {}",
                s.message
            );
        }
        other => panic!("expected a 409 conflict, got {other:?}"),
    }
    // ... unless forced, which moves ownership.
    let forced = vpcs
        .patch(
            "ssa",
            &PatchParams::apply("kubectl-other").force(),
            &Patch::Apply(&other),
        )
        .await
        .expect("forced apply");
    assert_eq!(forced.data["spec"]["subnets"]["default"]["vlan"], 1002);
    let names: Vec<String> = managers(&forced).into_iter().map(|(m, _)| m).collect();
    assert!(names.contains(&"kubectl-other".to_string()), "{names:?}");

    // Dry-run apply does not persist.
    let dry = vpcs
        .patch(
            "ssa",
            &PatchParams::apply("hhdash").force().dry_run(),
            &Patch::Apply(&vpc("ssa", ns, 1003)),
        )
        .await
        .expect("dry-run apply");
    assert_eq!(dry.data["spec"]["subnets"]["default"]["vlan"], 1003);
    let live = vpcs.get("ssa").await.expect("get");
    assert_eq!(live.data["spec"]["subnets"]["default"]["vlan"], 1002);
}

#[tokio::test]
async fn rbac_authorization_and_authentication() {
    let ns = "t-rbac";
    let plane = plane_with_vpc_ns(ns).await;
    let admin = plane.client(Identity::Admin);
    // A namespace nobody was granted.
    let other = "t-rbac-other";
    let ns_api: Api<Namespace> = Api::all(admin.clone());
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(other.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    match ns_api.create(&PostParams::default(), &namespace).await {
        Ok(_) => {}
        Err(e) if api_code(&e) == Some(409) => {}
        Err(e) => panic!("creating {other}: {e}"),
    }
    // Not a testenv grant, but a fabric namespace for the admission webhook, with what a VPC
    // refers to.
    plane.allow_namespace(other);
    plane
        .apply_objects(&testenv::fixtures::vpc_prerequisites(other))
        .await
        .expect("the VPC prerequisites elsewhere");
    api(&admin, plane, "VPC", other)
        .patch(
            "theirs",
            &PatchParams::apply("admin"),
            &Patch::Apply(&vpc("theirs", other, 7)),
        )
        .await
        .expect("admin writes anywhere");

    let operator = plane.client(Identity::Operator);
    let reader = plane.client(Identity::Reader);
    let nobody = plane.client(Identity::Nobody);

    // Operator: everything on the managed kinds in its namespace ...
    let op_vpcs = api(&operator, plane, "VPC", ns);
    op_vpcs
        .create(&PostParams::default(), &vpc("mine", ns, 1))
        .await
        .expect("operator creates");
    op_vpcs
        .delete("mine", &DeleteParams::default())
        .await
        .expect("operator deletes");
    api(&operator, plane, "Agent", ns)
        .list(&ListParams::default())
        .await
        .expect("operator lists agents");
    // ... but only reads Agents, and nothing outside its namespace.
    let agent: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "agent.githedgehog.com/v1beta1", "kind": "Agent",
        "metadata": { "name": "leaf-01", "namespace": ns }, "spec": {},
    }))
    .unwrap();
    assert_code(
        api(&operator, plane, "Agent", ns)
            .create(&PostParams::default(), &agent)
            .await,
        403,
        "operator creates Agent",
    );
    assert_code(
        api(&operator, plane, "VPC", other)
            .list(&ListParams::default())
            .await,
        403,
        "operator lists elsewhere",
    );
    assert_code(
        api(&operator, plane, "VPC", other).get("theirs").await,
        403,
        "operator gets elsewhere",
    );
    let all: Api<DynamicObject> = Api::all_with(operator.clone(), &resource(plane, "VPC"));
    assert_code(
        all.list(&ListParams::default()).await,
        403,
        "operator lists cluster-wide",
    );
    assert_code(
        ns_api_for(&operator).list(&ListParams::default()).await,
        403,
        "operator lists namespaces",
    );

    // Reader: read-only in its namespace.
    api(&reader, plane, "VPC", ns)
        .list(&ListParams::default())
        .await
        .expect("reader lists");
    assert_code(
        api(&reader, plane, "VPC", ns)
            .create(&PostParams::default(), &vpc("r", ns, 2))
            .await,
        403,
        "reader creates",
    );
    assert_code(
        api(&reader, plane, "VPC", other)
            .list(&ListParams::default())
            .await,
        403,
        "reader elsewhere",
    );

    // Nobody: authenticated, but no permissions.
    assert_code(
        api(&nobody, plane, "VPC", ns)
            .list(&ListParams::default())
            .await,
        403,
        "nobody lists",
    );

    // A wrong token is not authenticated at all.
    let mut config = plane.config(Identity::Operator);
    config.auth_info.token = Some("not-a-valid-token".to_string().into());
    let bad = kube::Client::try_from(config).unwrap();
    assert_code(
        api(&bad, plane, "VPC", ns)
            .list(&ListParams::default())
            .await,
        401,
        "wrong token",
    );

    // kubectl goes through the same checks.
    let out = common::run_with_deadline(
        plane
            .kubectl(Identity::Reader)
            .args(["delete", "vpc", "theirs", "-n", other]),
        common::COMMAND_DEADLINE,
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Forbidden"),
        "{out:?}"
    );
}

fn ns_api_for(client: &kube::Client) -> Api<Namespace> {
    Api::all(client.clone())
}

#[tokio::test]
async fn tls_requires_the_plane_ca() {
    let plane = plane_with_ns("t-tls").await;

    // A client trusting another CA fails the TLS handshake.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let other_ca = params.self_signed(&key).unwrap();
    let mut config = plane.config(Identity::Admin);
    config.root_cert = Some(vec![other_ca.der().to_vec()]);
    let client = kube::Client::try_from(config).unwrap();
    let err = within(30, "wrong-CA request", client.apiserver_version())
        .await
        .expect_err("a wrong CA must not be trusted");
    assert!(api_code(&err).is_none(), "failed before HTTP: {err:?}");
    let chain = error_chain(&err);
    assert!(
        chain.contains("certificate") || chain.contains("UnknownIssuer"),
        "TLS verification error: {chain}"
    );

    // The right CA works and reports the pinned version.
    let info = plane
        .client(Identity::Admin)
        .apiserver_version()
        .await
        .expect("version");
    assert_eq!(info.git_version, testenv::KUBERNETES_VERSION);
}

#[tokio::test]
async fn files_for_hhdash_configs() {
    let plane = plane_with_ns("t-files").await;
    for who in Identity::ALL {
        let path = plane.token_file(who);
        let meta = std::fs::metadata(&path).expect("token file");
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o600,
            "{}",
            path.display()
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), plane.token(who));
        let kubeconfig = std::fs::metadata(plane.kubeconfig_file(who)).expect("kubeconfig");
        assert_eq!(kubeconfig.permissions().mode() & 0o777, 0o600);
    }
    let tokens: std::collections::HashSet<_> =
        Identity::ALL.iter().map(|w| plane.token(*w)).collect();
    assert_eq!(tokens.len(), 4, "distinct tokens");
    assert_eq!(
        std::fs::read_to_string(plane.ca_file()).unwrap(),
        plane.ca_pem()
    );
    assert!(plane.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(plane.server_url().starts_with("https://127.0.0.1:"));

    // kubectl uses only its own kubeconfig in the temp dir.
    let out = common::run_with_deadline(
        plane.kubectl(Identity::Operator).args([
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ]),
        common::COMMAND_DEADLINE,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hhdash-operator");
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        out.push_str(" / ");
        out.push_str(&format!("{e} {e:?}"));
        source = e.source();
    }
    out
}

#[tokio::test]
async fn list_of_many_objects_pages() {
    let ns = "t-paging";
    let plane = plane_with_vpc_ns(ns).await;
    let client = plane.client(Identity::Operator);
    let vpcs = api(&client, plane, "VPC", ns);
    futures::stream::iter(0..25)
        .for_each_concurrent(8, |i| {
            let vpcs = vpcs.clone();
            async move {
                vpcs.create(
                    &PostParams::default(),
                    &vpc(&format!("vpc-{i:02}"), ns, 100 + i),
                )
                .await
                .expect("create");
            }
        })
        .await;
    let page = vpcs
        .list(&ListParams::default().limit(10))
        .await
        .expect("page 1");
    assert_eq!(page.items.len(), 10);
    let token = page.metadata.continue_.clone().expect("continue token");
    let mut total = page.items.len();
    let mut next = Some(token);
    while let Some(token) = next {
        let page = vpcs
            .list(&ListParams::default().limit(10).continue_token(&token))
            .await
            .expect("page");
        total += page.items.len();
        next = page.metadata.continue_.filter(|t| !t.is_empty());
    }
    assert_eq!(total, 25);
}
