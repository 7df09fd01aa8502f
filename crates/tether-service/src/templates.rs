//! The shipped seed recipes (`flows/*.yaml` at the repository's root), embedded so that the
//! server offers them as templates for new flows (`GET /api/v1/templates`) and `tether demo`
//! applies them from any folder.

use serde::Serialize;
use tether_engine::flow;
use utoipa::ToSchema;

/// Every shipped flow file as `(file name, text)`, by file name.
pub const FLOW_FILES: &[(&str, &str)] = &[
    (
        "df-customer-to-ghl-contact.yaml",
        include_str!("../../../flows/df-customer-to-ghl-contact.yaml"),
    ),
    (
        "flickr-contact-to-ghl-contact.yaml",
        include_str!("../../../flows/flickr-contact-to-ghl-contact.yaml"),
    ),
    (
        "flickr-photo-to-ghl-note.yaml",
        include_str!("../../../flows/flickr-photo-to-ghl-note.yaml"),
    ),
    (
        "flickr-photoset-to-ghl-task.yaml",
        include_str!("../../../flows/flickr-photoset-to-ghl-task.yaml"),
    ),
    (
        "ghl-appointment-to-df-delivery.yaml",
        include_str!("../../../flows/ghl-appointment-to-df-delivery.yaml"),
    ),
    (
        "ghl-contact-to-df-customer.yaml",
        include_str!("../../../flows/ghl-contact-to-df-customer.yaml"),
    ),
    (
        "ghl-note-to-df-note.yaml",
        include_str!("../../../flows/ghl-note-to-df-note.yaml"),
    ),
    (
        "ghl-notes-to-flickr-photoset.yaml",
        include_str!("../../../flows/ghl-notes-to-flickr-photoset.yaml"),
    ),
    (
        "ghl-task-to-df.yaml",
        include_str!("../../../flows/ghl-task-to-df.yaml"),
    ),
];

/// A shipped recipe to start a flow from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    /// The recipe's flow id (its file name without `.yaml`).
    pub id: String,
    /// Its name for people (the YAML's `name`).
    pub name: String,
    /// What it does: the first paragraph of the file's opening comment.
    pub description: String,
    /// The flow's YAML exactly as shipped, comments included.
    pub yaml: String,
}

/// Every shipped recipe, by id.
pub fn templates() -> Vec<Template> {
    FLOW_FILES
        .iter()
        .map(|(file, text)| {
            let (id, name) = flow::peek_id_and_name(text).unwrap_or_else(|| {
                let id = file.trim_end_matches(".yaml").to_owned();
                (id.clone(), id)
            });
            Template {
                id,
                name,
                description: description(text),
                yaml: (*text).to_owned(),
            }
        })
        .collect()
}

/// The first paragraph of the comment a flow file opens with, as one line, without the
/// recipe's label (`Seed recipe 1: `).
fn description(text: &str) -> String {
    let mut words: Vec<&str> = Vec::new();
    for line in text.lines() {
        let Some(comment) = line.trim_start().strip_prefix('#') else {
            break;
        };
        let comment = comment.trim();
        if comment.is_empty() {
            if words.is_empty() {
                continue;
            }
            break;
        }
        words.push(comment);
    }
    let joined = words.join(" ");
    let label_end = joined
        .find(": ")
        .filter(|&at| joined[..at].to_lowercase().contains("recipe"));
    let text = match label_end {
        Some(at) => &joined[at + 2..],
        None => joined.as_str(),
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_flow_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".yaml"))
            .collect();
        on_disk.sort();
        let embedded: Vec<&str> = FLOW_FILES.iter().map(|(name, _)| *name).collect();
        assert_eq!(embedded, on_disk, "add the new file to FLOW_FILES");
        for (name, text) in FLOW_FILES {
            assert_eq!(
                std::fs::read_to_string(dir.join(name)).unwrap(),
                *text,
                "{name}"
            );
        }
    }

    #[test]
    fn a_template_is_described_by_its_opening_comment() {
        let all = templates();
        assert_eq!(all.len(), FLOW_FILES.len());
        let contact = all
            .iter()
            .find(|template| template.id == "ghl-contact-to-df-customer")
            .unwrap();
        assert_eq!(contact.name, "GHL contact → Details Flowers customer");
        assert_eq!(
            contact.description,
            "A new or updated GHL contact creates or updates its Details Flowers customer. Key \
             fields: the GHL contact id, the e-mail (the match of the upsert) and the full name."
        );
        for template in &all {
            assert!(!template.description.is_empty(), "{}", template.id);
            assert!(template.yaml.contains(&format!("id: {}", template.id)));
        }
        assert_eq!(description("id: x\n"), "");
        assert_eq!(
            description("#\n# Does: things\n#\n# more\nid: x"),
            "Does: things"
        );
    }
}
