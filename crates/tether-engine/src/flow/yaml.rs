//! A YAML document as a tree whose every node and key knows its line and column.
//!
//! Flow files are decoded in two passes: `serde-saphyr` reads the text into this tree (a syntax
//! error stops there), then `decode.rs` walks it and collects every problem, which serde's derive
//! cannot do because it stops at the first unknown or missing field.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

/// Where a node starts, 1-based; `0:0` when the parser could not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Pos {
    /// Line, from 1.
    pub line: u64,
    /// Column, from 1.
    pub column: u64,
}

/// A YAML value with positions.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub pos: Pos,
    pub value: NodeValue,
}

/// The shapes a YAML value can take.
#[derive(Debug, Clone)]
pub(crate) enum NodeValue {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Seq(Vec<Node>),
    /// Entries in file order, each key with its own position.
    Map(Vec<(Key, Node)>),
}

/// A mapping key.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub pos: Pos,
    pub name: String,
    /// False for a key that is itself a list or mapping, which in a flow file almost always
    /// means an unquoted `{{ ... }}` (YAML reads it as a mapping inside a mapping).
    pub is_scalar: bool,
}

impl Node {
    /// A short name of the node's shape for messages ("a string", "a list").
    pub fn shape(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Number(_) => "a number",
            NodeValue::String(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }

    /// The node as JSON, positions dropped.
    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(value) => Value::Bool(*value),
            NodeValue::Number(value) => Value::Number(value.clone()),
            NodeValue::String(value) => Value::String(value.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(key, node)| (key.name.clone(), node.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Parses YAML text into a positioned tree; the error carries the parser's position.
pub(crate) fn parse(text: &str) -> Result<Node, (Pos, String)> {
    match serde_saphyr::from_str::<Spanned<RawNode>>(text) {
        Ok(spanned) => Ok(into_node(spanned)),
        Err(error) => {
            let pos = error
                .location()
                .map(|location| Pos {
                    line: location.line(),
                    column: location.column(),
                })
                .unwrap_or_default();
            Err((pos, syntax_message(&error, text, pos)))
        }
    }
}

/// The parser's message without its rendered snippet (we print our own `file:line:col:`),
/// plus a hint for the most common mistake in flow files: an unquoted `{{ ... }}`.
fn syntax_message(error: &serde_saphyr::Error, text: &str, pos: Pos) -> String {
    let full = error.to_string();
    let first_line = full.lines().next().unwrap_or("invalid YAML").trim();
    // The parser starts with its own "error: line L column C:", which our prefix already says.
    let first_line = first_line
        .strip_prefix("error: ")
        .and_then(|rest| {
            rest.split_once(": ")
                .filter(|(head, _)| head.starts_with("line "))
        })
        .map_or(first_line, |(_, message)| message);
    let mut message = format!("invalid YAML: {first_line}");
    let line_text = usize::try_from(pos.line)
        .ok()
        .and_then(|line| line.checked_sub(1))
        .and_then(|index| text.lines().nth(index))
        .unwrap_or_default();
    if line_text.contains(": {{") || line_text.trim_start().starts_with("- {{") {
        message.push_str(" (an expression must be quoted: \"{{ ... }}\")");
    }
    message
}

fn pos_of<T>(spanned: &Spanned<T>) -> Pos {
    Pos {
        line: spanned.referenced.line(),
        column: spanned.referenced.column(),
    }
}

fn into_node(spanned: Spanned<RawNode>) -> Node {
    let pos = pos_of(&spanned);
    let value = match spanned.value {
        RawNode::Null => NodeValue::Null,
        RawNode::Bool(value) => NodeValue::Bool(value),
        RawNode::Number(value) => NodeValue::Number(value),
        RawNode::String(value) => NodeValue::String(value),
        RawNode::Seq(items) => NodeValue::Seq(items.into_iter().map(into_node).collect()),
        RawNode::Map(entries) => NodeValue::Map(
            entries
                .into_iter()
                .map(|(key, value)| {
                    let key_pos = pos_of(&key);
                    let is_scalar = !matches!(key.value, RawNode::Seq(_) | RawNode::Map(_));
                    let name = match key.value {
                        RawNode::String(name) => name,
                        // Non-string keys never match a field; their JSON text names them.
                        other => into_node(Spanned {
                            value: other,
                            referenced: key.referenced,
                            defined: key.defined,
                        })
                        .to_json()
                        .to_string(),
                    };
                    (
                        Key {
                            pos: key_pos,
                            name,
                            is_scalar,
                        },
                        into_node(value),
                    )
                })
                .collect(),
        ),
    };
    Node { pos, value }
}

/// What serde hands us before positions are attached to the tree.
enum RawNode {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Seq(Vec<Spanned<RawNode>>),
    Map(Vec<(Spanned<RawNode>, Spanned<RawNode>)>),
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawNode;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<RawNode, E> {
        Ok(RawNode::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<RawNode, E> {
        Ok(RawNode::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawNode, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<RawNode, E> {
        Ok(RawNode::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<RawNode, E> {
        Ok(RawNode::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<RawNode, E> {
        Ok(RawNode::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<RawNode, E> {
        serde_json::Number::from_f64(value)
            .map(RawNode::Number)
            .ok_or_else(|| E::custom("a number must be finite"))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<RawNode, E> {
        Ok(RawNode::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<RawNode, E> {
        Ok(RawNode::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawNode, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<RawNode>>()? {
            items.push(item);
        }
        Ok(RawNode::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawNode, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<RawNode>>()? {
            let value = map.next_value::<Spanned<RawNode>>()?;
            entries.push((key, value));
        }
        Ok(RawNode::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_carry_their_positions() {
        let node = parse("a: 1\nsteps:\n  - id: x\n    b: \"two\"\n").expect("valid YAML");
        let NodeValue::Map(entries) = &node.value else {
            panic!("a mapping: {node:?}");
        };
        assert_eq!(entries[1].0.name, "steps");
        assert_eq!(entries[1].0.pos, Pos { line: 2, column: 1 });
        let NodeValue::Seq(items) = &entries[1].1.value else {
            panic!("a list");
        };
        let NodeValue::Map(step) = &items[0].value else {
            panic!("a mapping");
        };
        assert_eq!(step[1].0.pos, Pos { line: 4, column: 5 });
        assert_eq!(step[1].1.pos, Pos { line: 4, column: 8 });
        assert_eq!(step[1].1.to_json(), Value::String("two".into()));
    }
}
