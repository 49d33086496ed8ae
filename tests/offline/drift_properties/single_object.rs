//! (a) and (b): one object compared with what a server made of it: additions are never drift,
//! and any single changed or missing part Git sets drifts at exactly its path.

use hhdash::drift::{DriftKindTag, classify, compare, compare_exact};
use hhdash::kinds;
use proptest::prelude::*;
use serde_json::json;

use super::generators::{
    Rng, at, at_mut, changed, containers, desired_object, key_name, leaves, serverside,
};
use super::{Seg, is_set_list, render};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn server_additions_never_read_as_drift((kind, desired) in desired_object(), seed in any::<u64>()) {
        let info = kinds::by_kind(kind).unwrap();
        let live = serverside(info, &desired, seed);
        prop_assert_eq!(compare(info, &desired, &live), vec![]);
        prop_assert_eq!(
            classify(info, Some(&desired), Some(&live), true),
            hhdash::drift::Drift::InSync
        );
    }

    #[test]
    fn one_changed_leaf_drifts_at_exactly_its_path(
        (kind, desired) in desired_object(),
        seed in any::<u64>(),
        pick in any::<prop::sample::Index>(),
        how in 0u64..3,
    ) {
        let info = kinds::by_kind(kind).unwrap();
        let mut candidates = Vec::new();
        leaves(&mut Vec::new(), &desired, &mut candidates);
        // metadata.name is always there, so there is always a leaf to change.
        let (path, old) = pick.get(&candidates).clone();

        // Inside a set list the whole list is the unit; otherwise the leaf itself.
        let set_list = (1..path.len()).find(|&n| is_set_list(info, &path[..n]));
        let (expected_path, expected_desired) = match set_list {
            Some(n) => (render(&path[..n]), at(&desired, &path[..n]).clone()),
            None => (render(&path), old.clone()),
        };
        let parent_is_map = matches!(path.last(), Some(Seg::Key(_)));
        let remove = how == 2 && parent_is_map && set_list.is_none();

        // Decorate first, then edit, so the edit is the one thing the server did not do.
        let mut live = serverside(info, &desired, seed);
        match set_list {
            // Set lists are reordered live; replacing every copy of the old item makes the
            // sets differ however they were shuffled.
            Some(n) => {
                for item in at_mut(&mut live, &path[..n]).as_array_mut().unwrap() {
                    if *item == old {
                        *item = changed(&old, how);
                    }
                }
            }
            None if remove => {
                let Some(Seg::Key(key)) = path.last() else { unreachable!() };
                at_mut(&mut live, &path[..path.len() - 1])
                    .as_object_mut()
                    .unwrap()
                    .remove(key);
            }
            None => *at_mut(&mut live, &path) = changed(&old, how),
        }

        let diffs = compare(info, &desired, &live);
        prop_assert_eq!(diffs.len(), 1, "diffs: {:?}", diffs);
        prop_assert_eq!(&diffs[0].path, &expected_path);
        prop_assert_eq!(diffs[0].desired.as_ref(), Some(&expected_desired));
        prop_assert_eq!(diffs[0].live.is_none(), remove);
        let verdict = classify(info, Some(&desired), Some(&live), true);
        prop_assert_eq!(verdict.tag(), DriftKindTag::Drifted);
    }

    #[test]
    fn missing_map_or_resized_list_drifts_at_exactly_its_path(
        (kind, desired) in desired_object(),
        seed in any::<u64>(),
        pick in any::<prop::sample::Index>(),
        grow in any::<bool>(),
    ) {
        let info = kinds::by_kind(kind).unwrap();
        let mut candidates = Vec::new();
        containers(info, &mut Vec::new(), &desired, &mut candidates);
        // `metadata` always holds the name, so there is always a map to lose.
        let path = pick.get(&candidates).clone();
        let mut live = serverside(info, &desired, seed);
        let list = at(&desired, &path).is_array() && !is_set_list(info, &path);
        let removed = !list && matches!(path.last(), Some(Seg::Key(_)));
        if list {
            // A plain list is compared item by item: one more or one fewer is drift.
            let items = at_mut(&mut live, &path).as_array_mut().unwrap();
            if grow || items.len() == 1 {
                items.push(json!("extra"));
            } else {
                items.pop();
            }
        } else if removed {
            let Some(Seg::Key(key)) = path.last() else { unreachable!() };
            at_mut(&mut live, &path[..path.len() - 1])
                .as_object_mut()
                .unwrap()
                .remove(key);
        } else {
            // A map inside a plain list, or a set list: nothing to remove without resizing.
            return Ok(());
        }

        let diffs = compare(info, &desired, &live);
        prop_assert_eq!(diffs.len(), 1, "diffs: {:?}", diffs);
        prop_assert_eq!(&diffs[0].path, &render(&path));
        prop_assert!(diffs[0].desired.is_some());
        prop_assert_eq!(diffs[0].live.is_none(), removed);
        if list {
            prop_assert_eq!(diffs[0].desired.as_ref(), Some(at(&desired, &path)));
            prop_assert_eq!(diffs[0].live.as_ref(), Some(at(&live, &path)));
        }
        prop_assert_eq!(
            classify(info, Some(&desired), Some(&live), true).tag(),
            DriftKindTag::Drifted
        );
    }

    #[test]
    fn exact_mode_ignores_only_server_metadata_and_order(
        (kind, desired) in desired_object(),
        seed in any::<u64>(),
        extra in key_name(),
    ) {
        let info = kinds::by_kind(kind).unwrap();
        // A dry-run result, and the live object holding the same content (set lists reordered,
        // server metadata moved on).
        let dry_run = serverside(info, &desired, seed);
        let mut live = dry_run.clone();
        let mut rng = Rng(seed ^ 0x5555);
        live["metadata"]["resourceVersion"] = json!(rng.below(1000).to_string());
        live["metadata"]["managedFields"] = json!([]);
        live["status"] = json!({});
        prop_assert_eq!(compare_exact(info, &dry_run, &live), vec![]);

        // A field the dry-run does not have is drift in exact mode (not in semantic mode).
        live[format!("{extra}-x")] = json!("added");
        let diffs = compare_exact(info, &dry_run, &live);
        prop_assert_eq!(diffs.len(), 1);
        prop_assert_eq!(&diffs[0].path, &render(&[Seg::Key(format!("{extra}-x"))]));
        prop_assert_eq!(diffs[0].desired.as_ref(), None);
        prop_assert_eq!(compare(info, &dry_run, &live), vec![]);
    }
}
