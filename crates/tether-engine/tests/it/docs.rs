//! The examples of `docs/flows.md` are true: every `yaml` block is a flow that validates against
//! the real catalog, and every `yaml invalid` block prints exactly the messages in the `text`
//! block after it.

use std::path::{Path, PathBuf};

use tether_engine::flow::parse_flow;

/// The fenced blocks of a Markdown text: (info string, body, line of the opening fence).
fn blocks(markdown: &str) -> Vec<(String, String, usize)> {
    let mut found = Vec::new();
    let mut open: Option<(String, String, usize)> = None;
    for (index, line) in markdown.lines().enumerate() {
        match &mut open {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    open = Some((info.trim().to_owned(), String::new(), index + 1));
                }
            }
            Some((_, body, _)) => {
                if line.trim_end() == "```" {
                    found.extend(open.take());
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    assert!(open.is_none(), "an unclosed code block");
    found
}

#[test]
fn the_examples_of_the_flow_reference_validate_as_documented() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/flows.md");
    let markdown = std::fs::read_to_string(&path).unwrap();
    let catalog = tether_connectors::catalog();
    let blocks = blocks(&markdown);
    let mut valid = 0;
    let mut invalid = 0;
    for (index, (info, body, line)) in blocks.iter().enumerate() {
        let label = Path::new("example.yaml");
        match info.as_str() {
            "yaml" => {
                if let Err(errors) = parse_flow(body, label, Some(&catalog)) {
                    panic!("the example at docs/flows.md:{line} does not validate:\n{errors}");
                }
                valid += 1;
            }
            "yaml invalid" => {
                let errors = parse_flow(body, label, Some(&catalog))
                    .expect_err(&format!("the example at docs/flows.md:{line} validates"));
                let printed: Vec<String> = errors
                    .problems
                    .iter()
                    .map(|problem| {
                        problem
                            .to_string()
                            .trim_start_matches("example.yaml:")
                            .to_owned()
                    })
                    .collect();
                let expected: Vec<&str> = match blocks.get(index + 1) {
                    Some((info, text, _)) if info == "text" => text.lines().collect(),
                    _ => panic!("the invalid example at docs/flows.md:{line} has no `text` block"),
                };
                assert_eq!(
                    printed, expected,
                    "the messages of the example at docs/flows.md:{line}"
                );
                invalid += 1;
            }
            "text" | "toml" | "sh" | "caddy" | "nginx" => {}
            other => panic!("docs/flows.md:{line}: unexpected block kind {other:?}"),
        }
    }
    assert!(
        valid >= 7 && invalid >= 2,
        "{valid} valid, {invalid} invalid"
    );
}
