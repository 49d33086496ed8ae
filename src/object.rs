//! object: one Kubernetes object as hhdash holds it between uses — its compact JSON text,
//! shared — and decoded on demand.
//!
//! Why not `serde_json::Value`: a decoded object costs about ten times its JSON text (a
//! realistic Connection: 465 bytes of JSON, 5.9 KB as a `Value`, since every map, however
//! small, is a B-tree node with its own key strings). A fabric of 50,000 objects is held
//! twice (Git's and the cluster's), so the tree form alone would be ~430 MiB; the text is
//! ~45 MiB. The work on an object is rare next to its keeping — a verdict when one side
//! changes, the table cells when a row arrives, the detail view when opened — and decoding
//! 500 bytes of JSON takes microseconds, so objects are decoded where they are used.
//!
//! An [`Object`] is immutable and cheap to clone (one reference count). Its text comes from a
//! `Value` (valid JSON in serde_json's canonical form: keys sorted, no spaces), so equal texts
//! are equal values and the drift index sees an unchanged object without decoding it. On the
//! wire and in the store it is the object's JSON itself (streamed, never decoded into a tree),
//! so neither the engine protocol nor the stored records changed with it.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// One object: compact JSON text, shared. See the module doc.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Object(Arc<str>);

impl Object {
    /// Encodes `value` once.
    pub fn new(value: &Value) -> Object {
        Object(Arc::from(
            serde_json::to_string(value).expect("a JSON value serialises"),
        ))
    }

    /// The decoded object (a fresh tree: keep it only as long as it is used).
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.0).expect("an Object holds valid JSON")
    }

    /// The object's JSON text.
    pub fn json(&self) -> &str {
        &self.0
    }

    /// Bytes of JSON text held (shared between clones).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether two handles share one text (no comparison of the text).
    pub fn same(&self, other: &Object) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl From<Value> for Object {
    fn from(value: Value) -> Object {
        Object::new(&value)
    }
}

impl From<&Value> for Object {
    fn from(value: &Value) -> Object {
        Object::new(value)
    }
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Object {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Streamed from the text into the serializer: no tree is built. Into JSON this writes
        // the same text back.
        let mut text = serde_json::Deserializer::from_str(&self.0);
        serde_transcode::Transcoder::new(&mut text).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Object, D::Error> {
        // Streamed into compact JSON text: no tree is built.
        let mut text = Vec::with_capacity(256);
        serde_transcode::transcode(deserializer, &mut serde_json::Serializer::new(&mut text))
            .map_err(serde::de::Error::custom)?;
        let text = String::from_utf8(text).expect("serde_json writes UTF-8");
        Ok(Object(Arc::from(text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_values_are_equal_texts_whatever_the_order_they_were_built_in() {
        let mut built = json!({"spec": {"b": 1}});
        built["spec"]["a"] = json!([1, 2]);
        built["kind"] = json!("VPC");
        let a = Object::new(&built);
        let b = Object::new(&json!({"kind": "VPC", "spec": {"a": [1, 2], "b": 1}}));
        assert_eq!(a, b);
        assert_eq!(a.json(), r#"{"kind":"VPC","spec":{"a":[1,2],"b":1}}"#);
        assert_eq!(a.value(), built);
        assert_ne!(
            a,
            Object::new(&json!({"kind": "VPC", "spec": {"a": [2, 1], "b": 1}}))
        );
    }

    #[test]
    fn travels_as_the_json_it_is() {
        let object = Object::new(&json!({"kind": "VPC", "metadata": {"name": "vpc-1"}}));
        let row = json!({"live": object});
        assert_eq!(row["live"]["metadata"]["name"], "vpc-1");
        let text = serde_json::to_string(&vec![object.clone()]).unwrap();
        assert_eq!(text, r#"[{"kind":"VPC","metadata":{"name":"vpc-1"}}]"#);
        let back: Vec<Object> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, vec![object]);
    }
}
