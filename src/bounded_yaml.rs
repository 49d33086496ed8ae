//! bounded_yaml: reads one YAML document into a JSON value, refusing a document longer than
//! [`MAX_DOCUMENT_BYTES`], nesting deeper than [`MAX_DEPTH`] or whose aliases expand past its
//! [`expansion_budget`] — before the memory is spent, because nodes are counted as they are
//! built.
//!
//! serde_yaml alone protects neither the process nor the store: its recursion limit (128) is
//! above what serde_json reads back from the store (a 127-deep document synced, then its stored
//! record could not be read), and its alias limit (100 alias jumps per event) still lets a
//! 150 KB document expand to 900 million nodes. Apart from these limits the result is exactly
//! `serde_yaml::from_str::<serde_json::Value>`.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The deepest nesting of mappings and sequences a document may have. Hedgehog objects nest
/// about 8 deep; serde_json reads back at most 128 levels, and a stored record wraps the
/// document in a few levels of its own.
pub const MAX_DEPTH: usize = 64;

/// The largest document read: the Kubernetes API server accepts at most 3 MiB in one request,
/// so no larger object could ever be applied. Checked before parsing, because serde_yaml
/// buffers a document's events first (~200 bytes per node, so ~100 times the text at worst).
pub const MAX_DOCUMENT_BYTES: usize = 3 * 1024 * 1024;

/// Every document may expand to at least this many bytes (aliases in a small document are fine).
pub const MIN_EXPANSION_BUDGET: usize = 64 * 1024;

/// A document may expand to this many times its own size.
pub const EXPANSION_FACTOR: usize = 2;

/// How far a document of `len` bytes may expand. The size counted is one byte per node plus
/// the text of every string and key: without aliases that never exceeds the document's own
/// length, so only aliases can reach the budget.
pub fn expansion_budget(len: usize) -> usize {
    len.saturating_mul(EXPANSION_FACTOR)
        .max(MIN_EXPANSION_BUDGET)
}

/// Why a document could not be read. Lines and columns are 1-based, within the text given.
#[derive(Debug)]
pub enum YamlError {
    /// The document's text is longer than [`MAX_DOCUMENT_BYTES`]; it was not parsed.
    DocumentTooLarge { bytes: usize },
    /// Mappings and sequences nested deeper than [`MAX_DEPTH`].
    TooDeep { line: usize, column: usize },
    /// Aliases expand the document past `budget` bytes.
    ExpandsTooFar {
        line: usize,
        column: usize,
        budget: usize,
    },
    /// Not valid YAML, or not representable as JSON (e.g. a custom tag).
    Syntax(serde_yaml::Error),
}

impl YamlError {
    /// Where the problem was found, if serde_yaml knows it.
    pub fn location(&self) -> Option<(usize, usize)> {
        match self {
            YamlError::TooDeep { line, column } | YamlError::ExpandsTooFar { line, column, .. } => {
                Some((*line, *column))
            }
            YamlError::Syntax(error) => error.location().map(|l| (l.line(), l.column())),
            YamlError::DocumentTooLarge { .. } => None,
        }
    }
}

/// Parses one YAML document (serde_yaml's rules: a stream of more than one document is an
/// error) into JSON within the limits above.
pub fn from_str(text: &str) -> Result<Value, YamlError> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(YamlError::DocumentTooLarge { bytes: text.len() });
    }
    let meter = Meter {
        depth: Cell::new(0),
        spent: Cell::new(0),
        budget: expansion_budget(text.len()),
        hit: Cell::new(None),
    };
    let result = ValueSeed(&meter).deserialize(serde_yaml::Deserializer::from_str(text));
    result.map_err(|error| {
        let (line, column) = error.location().map_or((1, 1), |l| (l.line(), l.column()));
        match meter.hit.get() {
            Some(Limit::Depth) => YamlError::TooDeep { line, column },
            Some(Limit::Expansion) => YamlError::ExpandsTooFar {
                line,
                column,
                budget: meter.budget,
            },
            None => YamlError::Syntax(error),
        }
    })
}

#[derive(Debug, Clone, Copy)]
enum Limit {
    Depth,
    Expansion,
}

/// What has been built so far. serde_yaml replays an anchor's events for every alias, so
/// counting here counts the expansion.
struct Meter {
    depth: Cell<usize>,
    spent: Cell<usize>,
    budget: usize,
    /// Which limit stopped the parse; serde_yaml only carries our error's text.
    hit: Cell<Option<Limit>>,
}

impl Meter {
    fn spend<E: de::Error>(&self, bytes: usize) -> Result<(), E> {
        let spent = self.spent.get().saturating_add(bytes);
        self.spent.set(spent);
        if spent > self.budget {
            self.hit.set(Some(Limit::Expansion));
            return Err(E::custom("the document expands past its size budget"));
        }
        Ok(())
    }

    fn enter<E: de::Error>(&self) -> Result<(), E> {
        self.spend(1)?;
        let depth = self.depth.get() + 1;
        if depth > MAX_DEPTH {
            self.hit.set(Some(Limit::Depth));
            return Err(E::custom("the document nests too deep"));
        }
        self.depth.set(depth);
        Ok(())
    }

    fn leave(&self) {
        self.depth.set(self.depth.get() - 1);
    }
}

/// Builds a `serde_json::Value` the way serde_json's own visitor does, metered.
struct ValueSeed<'m>(&'m Meter);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any valid JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        self.0.spend(1)?;
        Ok(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        self.0.spend(1)?;
        Ok(Value::Number(value.into()))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<Value, E> {
        self.0.spend(1)?;
        let number = serde::Deserialize::deserialize(de::value::I128Deserializer::<E>::new(value));
        number.map(Value::Number)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        self.0.spend(1)?;
        Ok(Value::Number(value.into()))
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<Value, E> {
        self.0.spend(1)?;
        let number = serde::Deserialize::deserialize(de::value::U128Deserializer::<E>::new(value));
        number.map(Value::Number)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        self.0.spend(1)?;
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        self.0.spend(1 + value.len())?;
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        self.0.spend(1 + value.len())?;
        Ok(Value::String(value))
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.0.spend(1)?;
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.0.spend(1)?;
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        self.0.enter()?;
        let mut items = Vec::new();
        while let Some(item) = access.next_element_seed(ValueSeed(self.0))? {
            items.push(item);
        }
        self.0.leave();
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        self.0.enter()?;
        let mut map = Map::new();
        while let Some(key) = access.next_key_seed(KeySeed(self.0))? {
            let value = access.next_value_seed(ValueSeed(self.0))?;
            map.insert(key, value);
        }
        self.0.leave();
        Ok(Value::Object(map))
    }
}

/// A mapping key, read as a string as serde_json does.
struct KeySeed<'m>(&'m Meter);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = String;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = String;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        self.0.spend(1 + key.len())?;
        Ok(key.to_owned())
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<String, E> {
        self.0.spend(1 + key.len())?;
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An anchor of `width` scalars, referenced `refs` times.
    fn alias_bomb(width: usize, refs: usize) -> String {
        let mut text = String::from("a: &a [");
        text.push_str(&"x,".repeat(width));
        text.push_str("]\nb: [");
        text.push_str(&"*a,".repeat(refs));
        text.push_str("]\n");
        text
    }

    fn nested(depth: usize) -> String {
        format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn serde_yaml_alone_lets_an_alias_bomb_expand() {
        // The reason this module exists: 30 x 3,000 = 90,000 nodes from 9 KB passes
        // serde_yaml's own repetition limit (which counts alias jumps, not nodes).
        let text = alias_bomb(30, 3000);
        let value: Value = serde_yaml::from_str(&text).expect("serde_yaml accepts it");
        assert_eq!(value["b"].as_array().unwrap().len(), 3000);
        // serde_yaml replays the anchor's events for each alias, so the place reported is
        // inside the anchored node (line 1), where the budget ran out.
        assert!(matches!(
            from_str(&text),
            Err(YamlError::ExpandsTooFar { line: 1, .. })
        ));
    }

    #[test]
    fn the_reproduced_bomb_is_refused_quickly() {
        let text = alias_bomb(30_000, 30_000);
        let started = std::time::Instant::now();
        let error = from_str(&text).unwrap_err();
        let YamlError::ExpandsTooFar { line, budget, .. } = error else {
            panic!("{error:?}");
        };
        assert_eq!(line, 1);
        assert_eq!(budget, text.len() * EXPANSION_FACTOR);
        // Not a timing assertion: a run that took minutes would have expanded the bomb.
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
    }

    #[test]
    fn aliases_within_the_budget_expand_as_serde_yaml_does() {
        let text = "base: &b {vlan: 10, subnet: 10.0.0.0/24}\ncopies: [*b, *b, *b]\n";
        let ours = from_str(text).unwrap();
        let theirs: Value = serde_yaml::from_str(text).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours["copies"][2]["vlan"], 10);
    }

    #[test]
    fn depth_is_limited_well_below_serde_yaml_and_serde_json() {
        assert!(from_str(&nested(MAX_DEPTH)).is_ok());
        let too_deep = nested(MAX_DEPTH + 1);
        let Err(YamlError::TooDeep { line: 1, column }) = from_str(&too_deep) else {
            panic!("{:?}", from_str(&too_deep));
        };
        assert_eq!(
            column,
            MAX_DEPTH + 1,
            "points at the bracket that is one too deep"
        );
        // 127 levels: serde_yaml accepts it, but serde_json cannot read it back once wrapped.
        let deep = nested(127);
        let value: Value = serde_yaml::from_str(&deep).unwrap();
        let wrapped = serde_json::to_string(&serde_json::json!({ "object": value })).unwrap();
        assert!(serde_json::from_str::<Value>(&wrapped).is_err());
        assert!(matches!(from_str(&deep), Err(YamlError::TooDeep { .. })));
    }

    #[test]
    fn depth_reached_through_an_alias_is_counted() {
        let inner = nested(40);
        let text =
            format!("a: &a {inner}\nb: [[[[[[[[[[[[[[[[[[[[[[[[[[*a]]]]]]]]]]]]]]]]]]]]]]]]]]\n");
        // Found while replaying the anchor: the place reported is inside it.
        assert!(matches!(
            from_str(&text),
            Err(YamlError::TooDeep { line: 1, .. })
        ));
    }

    #[test]
    fn a_document_larger_than_kubernetes_accepts_is_not_parsed() {
        let text = format!("x: [{}]\n", "1,".repeat(MAX_DOCUMENT_BYTES / 2));
        assert!(matches!(
            from_str(&text),
            Err(YamlError::DocumentTooLarge { bytes }) if bytes == text.len()
        ));
        let fits = format!("x: [{}]\n", "1,".repeat(MAX_DOCUMENT_BYTES / 2 - 8));
        assert!(from_str(&fits).is_ok());
    }

    #[test]
    fn syntax_errors_and_tags_are_serde_yamls_own() {
        let Err(YamlError::Syntax(error)) = from_str("a: [1,\n") else {
            panic!()
        };
        assert!(error.location().is_some());
        let Err(YamlError::Syntax(error)) = from_str("a: !custom 1\n") else {
            panic!()
        };
        let theirs = serde_yaml::from_str::<Value>("a: !custom 1\n").unwrap_err();
        assert_eq!(error.to_string(), theirs.to_string());
    }
}
