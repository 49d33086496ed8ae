//! `hhdash apply` sends several objects at once inside one dependency rank, never across ranks:
//! against testenv's imitation of the Hedgehog admission webhooks (which refuses an object whose
//! references do not exist yet), a fabric whose every referrer names the very last referent of
//! the rank before it applies without a single refusal, and every object is reported once.

use crate::common;

use std::collections::BTreeSet;

/// VPCs (rank 3) in Git; the last one in apply order is the one every peering refers to.
const VPCS: usize = 3 * hhdash::apply::CONCURRENCY;
/// VPCPeerings (rank 4), each between one VPC and the last VPC.
const PEERINGS: usize = 2 * hhdash::apply::CONCURRENCY;

fn fabric_yaml(ns: &str) -> String {
    let last = format!("vpc-{:02}", VPCS - 1);
    // Rank 0: what every VPC refers to (the webhook defaults both references to "default").
    let mut text = format!(
        "---\napiVersion: vpc.githedgehog.com/v1beta1\nkind: IPv4Namespace\nmetadata:\n  name: default\n  namespace: {ns}\nspec:\n  subnets: [10.0.0.0/8]\n---\napiVersion: wiring.githedgehog.com/v1beta1\nkind: VLANNamespace\nmetadata:\n  name: default\n  namespace: {ns}\nspec:\n  ranges:\n  - from: 1000\n    to: 2999\n"
    );
    for i in 0..VPCS {
        text.push_str(&format!(
            "---\napiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-{i:02}\n  namespace: {ns}\nspec:\n  subnets:\n    default:\n      subnet: 10.7.{i}.0/24\n      vlan: {}\n",
            1000 + i
        ));
    }
    for i in 0..PEERINGS {
        text.push_str(&format!(
            "---\napiVersion: vpc.githedgehog.com/v1beta1\nkind: VPCPeering\nmetadata:\n  name: peer-{i:02}\n  namespace: {ns}\nspec:\n  permit:\n  - vpc-{i:02}:\n      subnets: [default]\n    {last}:\n      subnets: [default]\n"
        ));
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_rank_starts_only_after_every_object_of_the_earlier_rank_answered() {
    let plane = testenv::shared().await.expect("control plane");
    assert!(
        plane.has_webhook(),
        "the order is only checked with the webhook"
    );
    let ns = "apply-ranks";
    plane.grant(ns).await.unwrap();
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path().join("repo");
    common::repo_with(&repo, &[("f/fabric.yaml", fabric_yaml(ns).as_bytes())]);
    let config = common::cluster_config(
        temp.path(),
        "ranks",
        ns,
        &plane.server_url(),
        &plane.token_file(testenv::Identity::Operator),
        plane.ca_file(),
        &repo,
        "f",
    );
    let out = common::hhdash(temp.path(), &config, &["sync"]);
    assert!(out.status.success(), "{}", common::output_text(&out));

    let out = common::hhdash(temp.path(), &config, &["apply", "ranks"]);
    let text = common::output_text(&out);
    let total = 2 + VPCS + PEERINGS;
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!("{total} object(s) applied, 0 failed")),
        "a peering sent before the last VPC existed is refused (\"VPC vpc-.. not found\"): {text}"
    );
    // One line per object, each object once.
    let reported: Vec<&str> = text
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("apply  ok"))
        .map(str::trim)
        .collect();
    let distinct: BTreeSet<&str> = reported.iter().copied().collect();
    assert_eq!(reported.len(), total, "{text}");
    assert_eq!(distinct.len(), total, "{text}");

    // Everything is there, as Git has it.
    let out = common::hhdash(temp.path(), &config, &["diff", "ranks"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
}
