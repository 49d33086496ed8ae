//! The counters a [`super::DriftIndex`] keeps per kind and per fabric, and what one object
//! adds to them: derived from the verdicts alone, so they cannot disagree with them.

use serde::{Deserialize, Serialize};

use super::{Drift, DriftKindTag};
use crate::kinds::KindInfo;

/// Objects per verdict for one kind (or the whole fabric), derived from the per-object
/// verdicts. `desired`/`live`: objects Git has / the cluster has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCounts {
    pub desired: usize,
    pub live: usize,
    pub in_sync: usize,
    pub drifted: usize,
    pub missing: usize,
    pub orphan: usize,
    pub unknown: usize,
}

impl KindCounts {
    /// Drifted + Missing + Orphan: what the fabric's drift count counts.
    pub fn drift_count(&self) -> usize {
        self.drifted + self.missing + self.orphan
    }

    /// Counts one object: whether Git (`desired`) and the cluster (`live`) have it, and its
    /// verdict — the same rule the index keeps its counters by.
    pub fn add_object(&mut self, desired: bool, live: bool, drift: &Drift) {
        let contribution = Contribution {
            desired,
            live,
            tag: drift.tag(),
            critical: false,
        };
        contribution.apply(self, &mut 0, 1);
    }
}

/// What one object adds to the counters; zero for an absent object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Contribution {
    desired: bool,
    live: bool,
    tag: DriftKindTag,
    critical: bool,
}

impl Contribution {
    pub(super) const ABSENT: Contribution = Contribution {
        desired: false,
        live: false,
        tag: DriftKindTag::Absent,
        critical: false,
    };

    /// What an object of kind `info` adds: whether Git (`desired`) and the cluster (`live`)
    /// have it, and its verdict.
    pub(super) fn of(info: &KindInfo, desired: bool, live: bool, drift: &Drift) -> Self {
        let tag = drift.tag();
        Contribution {
            desired,
            live,
            tag,
            critical: info.wiring && matches!(tag, DriftKindTag::Missing | DriftKindTag::Drifted),
        }
    }

    /// Adds (`sign` = 1) or removes (`sign` = -1) this contribution.
    pub(super) fn apply(self, counts: &mut KindCounts, critical: &mut usize, sign: isize) {
        let add = |n: &mut usize, on: bool| {
            if on {
                *n = n.wrapping_add_signed(sign);
            }
        };
        add(&mut counts.desired, self.desired);
        add(&mut counts.live, self.live);
        add(&mut counts.in_sync, self.tag == DriftKindTag::InSync);
        add(&mut counts.drifted, self.tag == DriftKindTag::Drifted);
        add(&mut counts.missing, self.tag == DriftKindTag::Missing);
        add(&mut counts.orphan, self.tag == DriftKindTag::Orphan);
        add(&mut counts.unknown, self.tag == DriftKindTag::Unknown);
        add(critical, self.critical);
    }
}
