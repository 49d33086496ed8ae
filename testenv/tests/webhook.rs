//! The admission webhook imitation against the real API server: references checked on create
//! and update, referenced objects kept from deletion, fabric namespaces only, objects
//! defaulted as the real webhooks do, a dead webhook noticed, and none of it on a bare plane.
//! The shared plane's tests each use their own namespace.

mod common;

use common::{api, within};
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use testenv::{ControlPlane, Identity, Options};

/// The test's own namespace `ns` on the shared control plane, granted.
async fn granted(ns: &'static str) -> Fabric<'static> {
    let plane = testenv::shared()
        .await
        .expect("starting the shared control plane");
    plane.grant(ns).await.expect("granting the test namespace");
    Fabric { plane, ns }
}

/// One test's namespace on a control plane: builds Hedgehog objects there and sends them
/// through admission as the operator.
#[derive(Clone, Copy)]
struct Fabric<'a> {
    plane: &'a ControlPlane,
    ns: &'a str,
}

impl Fabric<'_> {
    /// A `kind` object named `name` in this namespace, at the group and version the kind
    /// has.
    fn object(&self, kind: &str, name: &str, spec: Value) -> DynamicObject {
        let group = testenv::webhook::KINDS
            .iter()
            .find(|(_, k, _)| *k == kind)
            .map(|(group, _, _)| *group)
            .expect("a Hedgehog kind");
        serde_json::from_value(json!({
            "apiVersion": format!("{group}/v1beta1"), "kind": kind,
            "metadata": {"name": name, "namespace": self.ns}, "spec": spec,
        }))
        .expect("a valid object")
    }

    async fn create(&self, obj: &DynamicObject) -> Result<Value, kube::Error> {
        let kind = obj.types.as_ref().unwrap().kind.clone();
        let client = self.plane.client(Identity::Operator);
        api(&client, self.plane, &kind, self.ns)
            .create(&PostParams::default(), obj)
            .await
            .map(|o| serde_json::to_value(o).unwrap())
    }

    async fn delete(&self, kind: &str, name: &str) -> Result<(), kube::Error> {
        let client = self.plane.client(Identity::Operator);
        api(&client, self.plane, kind, self.ns)
            .delete(name, &DeleteParams::default())
            .await
            .map(|_| ())
    }

    /// Creates `obj` and asserts its kind's validating webhook (`v<kind>.kb.io`) denies it
    /// with `message`.
    async fn assert_create_denied(&self, obj: &DynamicObject, message: &str) {
        let kind = obj.types.as_ref().unwrap().kind.to_lowercase();
        assert_denied(self.create(obj).await, &format!("v{kind}.kb.io"), message);
    }
}

/// Asserts `result` is the webhook's denial (HTTP 403, named webhook, message).
#[track_caller]
fn assert_denied<T: std::fmt::Debug>(result: Result<T, kube::Error>, webhook: &str, message: &str) {
    match result {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 403, "{status:?}");
            assert!(
                status.message.contains(&format!(
                    "admission webhook \"{webhook}\" denied the request"
                )) && status.message.contains(message),
                "expected {webhook} to deny with {message:?}, got: {}",
                status.message
            );
        }
        other => panic!("expected {webhook} to deny with {message:?}, got {other:?}"),
    }
}

fn vpc_spec(subnet: &str, vlan: u16) -> Value {
    json!({"subnets": {"default": {"subnet": subnet, "vlan": vlan}}})
}

fn unbundled(server: &str, switch: &str) -> Value {
    json!({"unbundled": {"link": {"server": {"port": format!("{server}/enp2s1")},
                                  "switch": {"port": format!("{switch}/E1/1")}}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_must_exist_on_create_and_update() {
    let ns = "wh-refs";
    let fabric = granted(ns).await;
    let plane = fabric.plane;
    let attach_spec = json!({"subnet": "vpc-1/default", "connection": "srv-1--leaf-1"});

    // Each object before what it refers to: refused, naming the missing object.
    let vpc = fabric.object("VPC", "vpc-1", vpc_spec("10.1.0.0/24", 1001));
    fabric
        .assert_create_denied(&vpc, "IPv4Namespace default not found")
        .await;
    let external = fabric.object(
        "External",
        "ext-1",
        json!({"inboundCommunity": "1:1", "outboundCommunity": "1:2"}),
    );
    fabric
        .assert_create_denied(&external, "IPv4Namespace default not found")
        .await;
    let switch = fabric.object(
        "Switch",
        "leaf-1",
        json!({"role": "server-leaf", "profile": "vs"}),
    );
    fabric
        .assert_create_denied(&switch, "specified VLANNamespace default does not exist")
        .await;
    let attach = fabric.object("VPCAttachment", "vpc-1--srv-1", attach_spec.clone());
    fabric
        .assert_create_denied(&attach, "vpc vpc-1 not found")
        .await;

    plane
        .apply_objects(&testenv::fixtures::vpc_prerequisites(ns))
        .await
        .expect("IPv4Namespace and VLANNamespace");
    fabric
        .create(&vpc)
        .await
        .expect("the VPC once its namespaces exist");
    fabric
        .create(&external)
        .await
        .expect("the External once its IPv4Namespace exists");

    let grouped = fabric.object(
        "Switch",
        "leaf-1",
        json!({"role": "server-leaf", "profile": "vs", "groups": ["g-1"]}),
    );
    fabric
        .assert_create_denied(&grouped, "switch group g-1 does not exist")
        .await;
    fabric
        .create(&switch)
        .await
        .expect("the Switch once its VLANNamespace exists");

    let connection = fabric.object("Connection", "srv-1--leaf-1", unbundled("srv-1", "leaf-1"));
    fabric
        .assert_create_denied(&connection, "server srv-1 not found")
        .await;
    let to_nowhere = fabric.object("Connection", "srv-1--leaf-9", unbundled("srv-1", "leaf-9"));
    fabric
        .assert_create_denied(&to_nowhere, "switch leaf-9 not found")
        .await;
    fabric
        .create(&fabric.object("Server", "srv-1", json!({})))
        .await
        .expect("the Server");
    fabric
        .create(&connection)
        .await
        .expect("the Connection once both ends exist");

    let wrong_subnet = fabric.object(
        "VPCAttachment",
        "vpc-1--srv-1",
        json!({"subnet": "vpc-1/other", "connection": "srv-1--leaf-1"}),
    );
    fabric
        .assert_create_denied(&wrong_subnet, "subnet other not found in vpc vpc-1")
        .await;
    let no_connection = fabric.object(
        "VPCAttachment",
        "vpc-1--srv-1",
        json!({"subnet": "vpc-1", "connection": "srv-9"}),
    );
    fabric
        .assert_create_denied(&no_connection, "connection srv-9 not found")
        .await;
    fabric
        .create(&attach)
        .await
        .expect("the VPCAttachment once VPC and Connection exist");

    // Peerings need both sides and their subnets.
    let peering = fabric.object(
        "VPCPeering",
        "vpc-1--vpc-2",
        json!({"permit": [
        {"vpc-1": {"subnets": ["default"]}, "vpc-2": {"subnets": ["default"]}}]}),
    );
    fabric
        .assert_create_denied(&peering, "VPC vpc-2 not found")
        .await;
    fabric
        .create(&fabric.object("VPC", "vpc-2", vpc_spec("10.2.0.0/24", 1002)))
        .await
        .expect("vpc-2");
    let bad_subnet = fabric.object(
        "VPCPeering",
        "vpc-1--vpc-2",
        json!({"permit": [
        {"vpc-1": {"subnets": ["nope"]}, "vpc-2": {"subnets": ["default"]}}]}),
    );
    fabric
        .assert_create_denied(&bad_subnet, "subnet nope not found in VPC vpc-1")
        .await;
    fabric
        .create(&peering)
        .await
        .expect("the VPCPeering once both VPCs exist");

    let ext_peering = fabric.object(
        "ExternalPeering",
        "vpc-1--ext-2",
        json!({"permit": {
        "vpc": {"name": "vpc-1", "subnets": ["default"]},
        "external": {"name": "ext-2", "prefixes": [{"prefix": "0.0.0.0/0"}]}}}),
    );
    fabric
        .assert_create_denied(&ext_peering, "external ext-2 not found")
        .await;
    let ext_attach = fabric.object("ExternalAttachment", "ext-1--leaf-1", json!({
        "external": "ext-1", "connection": "leaf-1--external",
        "switch": {"ip": "172.31.0.1/24", "vlan": 100}, "neighbor": {"asn": 65000, "ip": "172.31.0.2"}}),
    );
    fabric
        .assert_create_denied(&ext_attach, "connection leaf-1--external not found")
        .await;

    // An update is checked as well: pointing the attachment at a missing VPC is refused and
    // leaves it as it was.
    let client = plane.client(Identity::Operator);
    let attachments = api(&client, plane, "VPCAttachment", ns);
    let patch = json!({"spec": {"subnet": "vpc-9/default"}});
    assert_denied(
        attachments
            .patch(
                "vpc-1--srv-1",
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await,
        "vvpcattachment.kb.io",
        "vpc vpc-9 not found",
    );
    let live = attachments.get("vpc-1--srv-1").await.unwrap();
    assert_eq!(live.data["spec"]["subnet"], "vpc-1/default");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_of_referenced_objects_are_refused_until_the_referrers_are_gone() {
    let ns = "wh-deletes";
    let fabric = granted(ns).await;
    let plane = fabric.plane;
    let mut objects = testenv::fixtures::demo_gitops_wiring(ns);
    let samples = testenv::samples_dir().unwrap().join("demo-gitops/env-1");
    for file in ["pre-demo.yaml", "demo.yaml"] {
        for mut doc in testenv::read_yaml_docs(samples.join(file)).unwrap() {
            doc["metadata"]["namespace"] = json!(ns);
            objects.push(doc);
        }
    }
    // VPCs before what refers to them (the samples list an attachment before the next VPC).
    let rank = |o: &Value| match o["kind"].as_str().unwrap() {
        "VPCAttachment" | "VPCPeering" | "ExternalPeering" => 1,
        _ => 0,
    };
    objects.sort_by_key(rank);
    plane
        .apply_objects(&objects)
        .await
        .expect("the demo fabric in apply order");

    // Referenced: refused, and still there.
    let refused = [
        ("VPC", "demo-vpc-1", "vvpc.kb.io", "VPC has attachments"),
        ("VPC", "demo-vpc-2", "vvpc.kb.io", "VPC has attachments"),
        (
            "Connection",
            "server-3--bundled--s5248-01",
            "vconnection.kb.io",
            "connection has attachments",
        ),
        (
            "Switch",
            "s5248-01",
            "vswitch.kb.io",
            "switch has connections",
        ),
        (
            "Server",
            "server-4",
            "vserver.kb.io",
            "server has connections",
        ),
        (
            "External",
            "default",
            "vexternal.kb.io",
            "external has peerings",
        ),
        (
            "IPv4Namespace",
            "default",
            "vipv4namespace.kb.io",
            "IPv4Namespace has VPCs",
        ),
        (
            "VLANNamespace",
            "default",
            "vvlannamespace.kb.io",
            "VLANNamespace has switches",
        ),
    ];
    for (kind, name, webhook, message) in refused {
        assert_denied(fabric.delete(kind, name).await, webhook, message);
    }
    let client = plane.client(Identity::Operator);
    assert!(
        api(&client, plane, "VPC", ns)
            .get_opt("demo-vpc-1")
            .await
            .unwrap()
            .is_some()
    );

    // The VPC with a peering but no attachment left: the peering still holds it.
    fabric
        .delete("VPCAttachment", "demo-vpc-2--server-4--unbundled--s5248-02")
        .await
        .unwrap();
    assert_denied(
        fabric.delete("VPC", "demo-vpc-2").await,
        "vvpc.kb.io",
        "VPC has peerings",
    );

    // Referrers first, then what they referred to: every delete goes through.
    for (kind, name) in [
        ("VPCPeering", "demo-vpc-1--demo-vpc-2"),
        ("ExternalPeering", "demo-vpc-1--default"),
        (
            "VPCAttachment",
            "demo-vpc-1--server-1--mclag--s5248-01--s5248-02",
        ),
        ("VPCAttachment", "demo-vpc-3--server-3--bundled--s5248-01"),
        ("VPC", "demo-vpc-1"),
        ("VPC", "demo-vpc-2"),
        ("VPC", "demo-vpc-3"),
        ("External", "default"),
        ("Connection", "server-3--bundled--s5248-01"),
        ("Connection", "server-4--unbundled--s5248-02"),
        ("Server", "server-3"),
        ("Server", "server-4"),
        ("IPv4Namespace", "default"),
    ] {
        fabric
            .delete(kind, name)
            .await
            .unwrap_or_else(|e| panic!("deleting {kind} {name}: {e}"));
    }
    // The switches still have the mclag Connection — which the real webhook gives no labels,
    // so it does not hold them: the same gap as on a real fabric.
    assert_denied(
        fabric.delete("VLANNamespace", "default").await,
        "vvlannamespace.kb.io",
        "VLANNamespace has switches",
    );
    fabric.delete("Switch", "s5248-01").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_fabric_namespaces_are_accepted() {
    let plane = testenv::shared().await.unwrap();
    let admin = plane.client(Identity::Admin);
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> =
        kube::Api::all(admin.clone());
    let ns = "wh-not-a-fabric";
    let fabric = Fabric { plane, ns };
    let namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
    namespaces
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap();
    let ipns = fabric.object(
        "IPv4Namespace",
        "default",
        json!({"subnets": ["10.0.0.0/8"]}),
    );
    let create_as_admin = || async {
        api(&admin, plane, "IPv4Namespace", ns)
            .create(&PostParams::default(), &ipns)
            .await
    };
    assert_denied(
        create_as_admin().await,
        "vipv4namespace.kb.io",
        "only default namespace is currently supported",
    );
    // A SwitchGroup has no webhook, on a real fabric too.
    api(&admin, plane, "SwitchGroup", ns)
        .create(
            &PostParams::default(),
            &fabric.object("SwitchGroup", "g", json!({})),
        )
        .await
        .expect("SwitchGroups are not checked");
    assert!(!plane.fabric_namespaces().contains(&ns.to_string()));
    plane.allow_namespace(ns);
    assert!(plane.fabric_namespaces().contains(&ns.to_string()));
    create_as_admin()
        .await
        .expect("accepted once declared a fabric namespace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_are_defaulted_as_the_real_webhooks_do() {
    let ns = "wh-defaults";
    let fabric = granted(ns).await;
    let plane = fabric.plane;
    let mut prerequisites = testenv::fixtures::vpc_prerequisites(ns);
    prerequisites.push(
        json!({"apiVersion": "wiring.githedgehog.com/v1beta1", "kind": "SwitchGroup",
        "metadata": {"name": "mclag-1", "namespace": ns}, "spec": {}}),
    );
    plane.apply_objects(&prerequisites).await.unwrap();

    let vpc = fabric.create(&serde_json::from_value(json!({
        "apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC",
        "metadata": {"name": "vpc-1", "namespace": ns,
                     "labels": {"fabric.githedgehog.com/ipv4ns": "mine", "team": "a"}},
        "spec": {"subnets": {
            "on": {"subnet": "10.1.1.0/24", "vlan": 1001, "dhcp": {"enable": true,
                   "options": {"dnsServers": ["9.9.9.9", "1.1.1.1"]}}},
            "off": {"subnet": "10.1.2.0/24", "vlan": 1002, "dhcp": {"range": {"start": "10.1.2.10"}}}}}
    })).unwrap()).await.unwrap();
    assert_eq!(
        vpc["metadata"]["labels"],
        json!({"team": "a", "fabric.githedgehog.com/ipv4ns": "default", "fabric.githedgehog.com/vlanns": "default"})
    );
    assert_eq!(vpc["spec"]["ipv4Namespace"], "default");
    assert_eq!(vpc["spec"]["vlanNamespace"], "default");
    assert_eq!(
        vpc["spec"]["subnets"]["on"],
        json!({"subnet": "10.1.1.0/24", "vlan": 1001, "gateway": "10.1.1.1", "dhcp": {"enable": true,
               "range": {"start": "10.1.1.2", "end": "10.1.1.255"},
               "options": {"dnsServers": ["1.1.1.1", "9.9.9.9"], "timeServers": [],
                           "interfaceMTU": 9036, "leaseTimeSeconds": 3600}}})
    );
    assert_eq!(
        vpc["spec"]["subnets"]["off"],
        json!({"subnet": "10.1.2.0/24", "vlan": 1002, "gateway": "10.1.2.1", "dhcp": {}})
    );

    let switch = fabric
        .create(&fabric.object(
            "Switch",
            "leaf-1",
            json!({
        "role": "server-leaf", "profile": "vs", "groups": ["mclag-1"],
        "redundancy": {"group": "mclag-1", "type": "mclag"},
        "portSpeeds": {"E1/1": "SPEED_25GB"}, "linkFlapErrDisable": {}}),
        ))
        .await
        .unwrap();
    assert_eq!(switch["spec"]["vlanNamespaces"], json!(["default"]));
    assert_eq!(switch["spec"]["groups"], json!(["mclag-1"]));
    assert_eq!(switch["spec"]["portSpeeds"], json!({"E1/1": "25GB"}));
    assert_eq!(
        switch["spec"]["linkFlapErrDisable"],
        json!({"flapThreshold": 3, "samplingInterval": 30, "recoveryInterval": 300})
    );
    assert_eq!(
        switch["metadata"]["labels"]["fabric.githedgehog.com/profile"],
        "vs"
    );
    assert_eq!(
        switch["metadata"]["labels"]["vlanns.fabric.githedgehog.com/default"],
        "true"
    );

    fabric
        .create(&fabric.object("Server", "srv-1", json!({})))
        .await
        .unwrap();
    fabric
        .create(&fabric.object("Connection", "srv-1--leaf-1", unbundled("srv-1", "leaf-1")))
        .await
        .unwrap();
    let attach = fabric
        .create(&fabric.object(
            "VPCAttachment",
            "vpc-1--srv-1",
            json!({"subnet": "vpc-1", "connection": "srv-1--leaf-1"}),
        ))
        .await;
    // `vpc-1` has no subnet named `default`: the short form is rewritten, then refused.
    assert_denied(
        attach,
        "vvpcattachment.kb.io",
        "subnet default not found in vpc vpc-1",
    );
    let attach = fabric
        .create(&fabric.object(
            "VPCAttachment",
            "vpc-1--srv-1",
            json!({"subnet": "vpc-1/on", "connection": "srv-1--leaf-1"}),
        ))
        .await
        .unwrap();
    assert_eq!(
        attach["metadata"]["labels"],
        json!({"fabric.githedgehog.com/vpc": "vpc-1", "fabric.githedgehog.com/subnet": "on",
               "fabric.githedgehog.com/connection": "srv-1--leaf-1"})
    );

    // Changing a webhook-owned label by hand does not stick.
    let client = plane.client(Identity::Operator);
    let vpcs = api(&client, plane, "VPC", ns);
    let patch = json!({"metadata": {"labels": {"fabric.githedgehog.com/vlanns": "forged"}}});
    let patched = vpcs
        .patch("vpc-1", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    assert_eq!(
        patched.metadata.labels.unwrap()["fabric.githedgehog.com/vlanns"],
        "default"
    );
    // A dry run is defaulted too (sideEffects None), and stores nothing.
    let dry = api(&client, plane, "VPC", ns)
        .create(
            &PostParams {
                dry_run: true,
                ..Default::default()
            },
            &fabric.object("VPC", "vpc-dry", vpc_spec("10.1.3.0/24", 1003)),
        )
        .await
        .unwrap();
    assert_eq!(
        dry.data["spec"]["subnets"]["default"]["gateway"],
        "10.1.3.1"
    );
    assert!(vpcs.get_opt("vpc-dry").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_webhook_fails_every_write_and_a_bare_plane_has_none() {
    let (with, bare) = within(180, "two control planes", async {
        tokio::join!(
            ControlPlane::start_with(Options {
                namespaces: vec!["dead".into()],
                ..Default::default()
            }),
            ControlPlane::start_with(Options {
                namespaces: vec!["bare".into()],
                webhook: false,
                ..Default::default()
            }),
        )
    })
    .await;
    let (mut with, bare) = (with.unwrap(), bare.unwrap());
    assert!(with.webhook_running() && with.webhook_port().is_some());
    assert!(!bare.has_webhook() && bare.webhook_port().is_none());

    // Bare: a VPC with nothing behind it is stored as written.
    let bare_fabric = Fabric {
        plane: &bare,
        ns: "bare",
    };
    let vpc = bare_fabric.object("VPC", "vpc-1", vpc_spec("10.1.0.0/24", 1001));
    let stored = bare_fabric
        .create(&vpc)
        .await
        .expect("no checks on a bare plane");
    assert_eq!(stored["spec"], vpc_spec("10.1.0.0/24", 1001));
    assert!(stored["metadata"].get("labels").is_none());

    // With the webhook: refused while it runs; once it is dead every write fails, even one
    // it would have allowed, and nothing is stored.
    let webhook_fabric = Fabric {
        plane: &with,
        ns: "dead",
    };
    let vpc = webhook_fabric.object("VPC", "vpc-1", vpc_spec("10.1.0.0/24", 1001));
    webhook_fabric
        .assert_create_denied(&vpc, "IPv4Namespace default not found")
        .await;
    let (mutations, validations) = with.webhook_calls();
    assert!(mutations > 0 && validations > 0);
    with.stop_webhook();
    assert!(!with.webhook_running());
    let port = with.webhook_port().unwrap();
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens on the webhook port {port} any more"
    );
    let webhook_fabric = Fabric {
        plane: &with,
        ns: "dead",
    };
    let ipns = webhook_fabric.object(
        "IPv4Namespace",
        "default",
        json!({"subnets": ["10.0.0.0/8"]}),
    );
    match webhook_fabric.create(&ipns).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 500, "{status:?}");
            assert!(
                status
                    .message
                    .contains("failed calling webhook \"mipv4namespace.kb.io\""),
                "{}",
                status.message
            );
        }
        other => panic!("a write without its webhook must fail, got {other:?}"),
    }
    let client = with.client(Identity::Admin);
    assert!(
        api(&client, &with, "IPv4Namespace", "dead")
            .get_opt("default")
            .await
            .unwrap()
            .is_none()
    );
}
