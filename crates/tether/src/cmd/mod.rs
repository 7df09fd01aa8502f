//! One module per subcommand.

pub mod accounts;
pub mod admin;
pub mod call;
pub mod catalog;
pub mod completions;
pub mod config;
pub mod connect;
pub mod connections;
pub mod data;
pub mod demo;
pub mod dlq;
pub mod flows;
pub mod preview;
pub mod run;
pub mod runs;
pub mod serve;
pub mod sim;
pub mod token;

/// An argument that is text itself, `@FILE` to read a file, or `@-` to read standard input:
/// answers the text and where it came from (`flag`, the file, or `standard input`) for messages.
pub fn read_at(text: &str, flag: &str) -> anyhow::Result<(String, String)> {
    use anyhow::Context;
    match text.strip_prefix('@') {
        Some("-") => {
            let mut read = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut read)
                .with_context(|| format!("cannot read {flag} from standard input"))?;
            Ok((read, format!("{flag} (standard input)")))
        }
        Some(path) => {
            let read = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {flag} from {path}"))?;
            Ok((read, path.to_owned()))
        }
        None => Ok((text.to_owned(), flag.to_owned())),
    }
}
