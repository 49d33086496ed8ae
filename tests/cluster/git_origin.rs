//! The Git side of drift attribution against the real control plane: a VLAN changed by
//! another client shows, in `hhdash diff` (text and `--json`) and in the engine's answer to
//! `Command::Explain`, the commit and author that set Git's value — Bob's, not the later
//! commits of the repository — and the file line of the drifted field.

use crate::common;

use hhdash::engine::{Command, EngineEvent};
use hhdash::kinds::ObjectKey;
use hhdash::status::WatchState;
use kube::api::{Patch, PatchParams};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_and_the_engine_name_the_commit_that_set_a_drifted_value() {
    let plane = testenv::shared().await.expect("control plane");
    let ns = "git-origin";
    plane.grant(ns).await.unwrap();
    let (temp, config) = common::demo_fabric(plane, ns, "origin");
    let repo = temp.path().join("repo");
    let demo = |vlan: &str| {
        common::demo_files(ns)
            .into_iter()
            .filter(|(path, _)| path == "env-1/demo.yaml")
            .map(|(path, bytes)| {
                let text = String::from_utf8(bytes).unwrap();
                (
                    path,
                    text.replace("vlan: 1131", &format!("vlan: {vlan}"))
                        .into_bytes(),
                )
            })
            .collect::<Vec<_>>()
    };
    // Alice's vlan for demo-vpc-3, then Bob's (the sample's), then Carol edits another file.
    common::commit_as(
        &repo,
        "Alice",
        "2026-11-01T10:00:00Z",
        &demo("1130"),
        "demo-vpc-3 on 1130",
    );
    let bob = common::commit_as(
        &repo,
        "Bob",
        "2026-11-10T11:00:00Z",
        &demo("1131"),
        "move demo-vpc-3 to 1131",
    );
    let pre = common::demo_files(ns)
        .into_iter()
        .filter(|(path, _)| path == "env-1/pre-demo.yaml")
        .map(|(path, bytes)| (path, [b"# reviewed by Carol\n".as_slice(), &bytes].concat()))
        .collect::<Vec<_>>();
    let carol = common::commit_as(
        &repo,
        "Carol",
        "2026-11-20T12:00:00Z",
        &pre,
        "review pre-demo",
    );
    let run = |args: &[&str]| {
        let out = common::hhdash(temp.path(), &config, args);
        (out.status.code(), common::output_text(&out))
    };
    let (code, text) = run(&["sync"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&carol[..12]),
        "synced at Carol's commit: {text}"
    );
    let (code, text) = run(&["apply", "origin"]);
    assert_eq!(code, Some(0), "{text}");

    // Another client changes the VLAN.
    let vpcs = common::admin_api(plane, "VPC", ns);
    let patch = serde_json::json!({"spec": {"subnets": {"subnet-1": {"vlan": 1999}}}});
    vpcs.patch("demo-vpc-3", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();

    let (code, text) = run(&["diff", "origin"]);
    assert_eq!(code, Some(1), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("spec.subnets.subnet-1.vlan: 1131 → 1999"))
        .unwrap_or_else(|| panic!("no vlan drift:\n{text}"));
    let git_line = lines[at + 1..]
        .iter()
        .find(|l| l.trim_start().starts_with("git:"))
        .unwrap_or_else(|| panic!("no git line after the vlan:\n{text}"));
    assert!(
        git_line.contains(&bob[..12])
            && git_line.contains("Bob")
            && git_line.contains("2026-11-10")
            && git_line.contains("\"move demo-vpc-3 to 1131\"")
            && git_line.ends_with("[env-1/demo.yaml:14]"),
        "{git_line}\n{text}"
    );

    let (code, text) = run(&["diff", "origin", "--json"]);
    assert_eq!(code, Some(1), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&text[..text.rfind('}').unwrap() + 1]).unwrap();
    let vpc = json["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["key"]["name"] == "demo-vpc-3")
        .expect("demo-vpc-3 in the review");
    let explained = &vpc["explained"][0];
    assert_eq!(explained["path"], "spec.subnets.subnet-1.vlan");
    assert_eq!(explained["git"]["commit"], bob.as_str());
    assert_eq!(explained["git"]["author"], "Bob");
    assert_eq!(explained["git"]["time"], "2026-11-10T11:00:00Z");
    assert_eq!(explained["line"], 14);

    // The engine answers Command::Explain with the same Git side.
    let common::RunningEngine {
        events: mut rx,
        commands,
        ..
    } = common::start_synced_engine(temp.path(), &config);
    common::wait_for_watch_state(&mut rx, 30, WatchState::Active).await;
    let key = ObjectKey {
        kind: "VPC".into(),
        namespace: ns.into(),
        name: "demo-vpc-3".into(),
    };
    // Once the watch is active, every kind has been listed and demo-vpc-3 judged Drifted.
    commands.send(Command::Explain(key.clone())).await.unwrap();
    let event = common::wait_for_event(&mut rx, 20, "the explanation", |e| {
        matches!(e, EngineEvent::Explained { .. })
    })
    .await;
    let EngineEvent::Explained {
        fabric,
        explanation,
    } = event
    else {
        unreachable!()
    };
    assert_eq!(fabric, "origin");
    assert_eq!(explanation.key, key);
    assert_eq!(explanation.problem, None);
    assert_eq!(
        (explanation.commit.as_str(), explanation.file.as_str()),
        (carol.as_str(), "env-1/demo.yaml")
    );
    let path = &explanation.paths[0];
    assert_eq!(path.path, "spec.subnets.subnet-1.vlan");
    assert_eq!(path.line, Some(14));
    let git = path.git.as_ref().expect("a Git origin");
    assert_eq!(
        (git.commit.as_str(), git.author.as_str()),
        (bob.as_str(), "Bob")
    );
    assert_eq!(path.live, None, "the live side is the caller's");
}
