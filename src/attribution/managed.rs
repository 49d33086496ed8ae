//! attribution::managed: reads `metadata.managedFields[].fieldsV1` (the server-side apply
//! field sets) and answers which managers own a drift path.

use serde_json::Value;

use super::LiveAttribution;

/// The managers owning `path` (a drift path, e.g. `spec.subnets.default.vlan`,
/// `spec.ranges[0].to`, `metadata.labels."a.b/c"`) in `live`; None when the object carries no
/// field sets (a read-only kind, or an object stored before attribution existed).
pub fn attribute(live: &Value, path: &str) -> Option<LiveAttribution> {
    // Filled in by the attribution work (issue 13).
    let _ = (live, path);
    None
}
