//! The repository stands on its own: no tracked source file reads a path outside it.
//!
//! A file that builds or tests only because something sits beside the checkout (a reference
//! folder, a sibling repository) breaks on a fresh clone. The scan looks at every tracked code
//! file (Rust, TOML, shell, Python, JavaScript, YAML, and scripts with a `#!` line) for path
//! literals with `..` steps and resolves each from where the tool using it starts:
//!
//! - Rust: a literal given straight to `include_str!`/`include_bytes!`/`include!` is relative
//!   to the file; any other (a `concat!(env!("CARGO_MANIFEST_DIR"), "/../x")` part, a
//!   `Path::join("../x")` in a test, which cargo runs in the crate's folder) to the crate's
//!   folder. Comments are not read.
//! - Other files: relative to the file's folder, which is what Cargo's `path =`, JavaScript's
//!   imports and `"$(dirname "$0")/.."` in scripts mean.
//!
//! A path part that follows an expansion (`$ROOT/../x`, `"/../x"` after `CARGO_MANIFEST_DIR`) is
//! resolved from the same place. Absolute literals are flagged when they point beside the
//! checkout (inside the repository's parent folder but not the repository), the usual way a
//! machine-specific path sneaks in. The scan is lexical: a path built at run time from separate
//! `".."` pieces is not seen.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// File name endings that hold code or build configuration.
const CODE_EXTENSIONS: &[&str] = &[
    "rs", "toml", "sh", "bash", "py", "mjs", "cjs", "js", "ts", "yaml", "yml",
];

/// Folders never scanned when git cannot list the tracked files.
const SKIPPED_DIRS: &[&str] = &[".git", "target", "node_modules", ".venv", "venv"];

/// A path literal that resolves outside the repository.
#[derive(Debug, PartialEq, Eq)]
struct Escape {
    line: usize,
    literal: String,
    resolved: PathBuf,
}

#[test]
fn no_tracked_file_reads_a_path_outside_the_repository() {
    let root = repo_root();
    let files = tracked_files(&root);
    assert!(
        files
            .iter()
            .any(|file| file.ends_with("crates/tether/src/main.rs")),
        "the scan found no sources under {}",
        root.display()
    );
    let mut problems = Vec::new();
    let mut n_scanned = 0;
    for file in &files {
        let Some(kind) = kind_of(file) else { continue };
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        n_scanned += 1;
        for escape in scan(&root, file, kind, &text) {
            problems.push(format!(
                "{}:{}: {:?} resolves to {}, outside the repository",
                file.strip_prefix(&root).unwrap_or(file).display(),
                escape.line,
                escape.literal,
                escape.resolved.display()
            ));
        }
    }
    assert!(n_scanned > 100, "only {n_scanned} code files scanned");
    assert!(
        problems.is_empty(),
        "copy what these need into the repository (with a SOURCE.md) and point them there:\n{}",
        problems.join("\n")
    );
}

/// The workspace root: two folders above this crate.
fn repo_root() -> PathBuf {
    normalize(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// The files git tracks; every file but build output and dependencies when git cannot answer
/// (a source archive without `.git`).
fn tracked_files(root: &Path) -> Vec<PathBuf> {
    let listed = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z"])
        .output();
    if let Ok(output) = listed
        && output.status.success()
    {
        return String::from_utf8_lossy(&output.stdout)
            .split('\0')
            .filter(|name| !name.is_empty())
            .map(|name| root.join(name))
            .filter(|path| path.is_file())
            .collect();
    }
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if !SKIPPED_DIRS.iter().any(|skipped| name == *skipped) {
                    pending.push(path);
                }
            } else {
                files.push(path);
            }
        }
    }
    files
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rust,
    Other,
}

fn kind_of(file: &Path) -> Option<Kind> {
    match file.extension().and_then(|extension| extension.to_str()) {
        Some("rs") => Some(Kind::Rust),
        Some(extension) if CODE_EXTENSIONS.contains(&extension) => Some(Kind::Other),
        Some(_) => None,
        None => {
            let start = std::fs::read(file).ok()?;
            start.starts_with(b"#!").then_some(Kind::Other)
        }
    }
}

/// The escapes in `text`, the content of `file` in the repository at `root`.
fn scan(root: &Path, file: &Path, kind: Kind, text: &str) -> Vec<Escape> {
    let file_dir = file.parent().unwrap_or(root);
    let crate_dir = file_dir
        .ancestors()
        .take_while(|dir| dir.starts_with(root))
        .find(|dir| dir.join("Cargo.toml").is_file())
        .unwrap_or(root);
    let candidates: Vec<(usize, String, &Path)> = match kind {
        Kind::Rust => rust_literals(text)
            .into_iter()
            .map(|literal| {
                let base = if literal.included {
                    file_dir
                } else {
                    crate_dir
                };
                (literal.line, literal.text, base)
            })
            .collect(),
        Kind::Other => path_tokens(text)
            .into_iter()
            .map(|(line, token)| (line, token, file_dir))
            .collect(),
    };
    let beside = root.parent().filter(|parent| parent.parent().is_some());
    candidates
        .into_iter()
        .filter_map(|(line, literal, base)| {
            let resolved = resolve(&literal, base, beside)?;
            (!resolved.starts_with(root)).then_some(Escape {
                line,
                literal,
                resolved,
            })
        })
        .collect()
}

/// Where a path literal points, when it is one worth checking: relative with a `..` step
/// (from `base`), or absolute inside `beside`.
fn resolve(literal: &str, base: &Path, beside: Option<&Path>) -> Option<PathBuf> {
    if literal.is_empty()
        || literal.contains(|c: char| c.is_whitespace() || "\"'(){}<>|;,`*".contains(c))
    {
        return None;
    }
    let steps_up = literal.split('/').any(|part| part == "..");
    if literal.starts_with('/') && !literal.starts_with("/..") {
        let path = normalize(Path::new(literal));
        return beside
            .filter(|beside| path.starts_with(beside))
            .map(|_| path);
    }
    if !steps_up {
        return None;
    }
    // What comes before the first `..` step is an expansion (`$ROOT/`, `env!(..)` + `/`), the
    // same place the file is resolved from; keep the path from that step on.
    let from = literal
        .split('/')
        .position(|part| part == "..")
        .unwrap_or(0);
    let relative: Vec<&str> = literal.split('/').skip(from).collect();
    Some(normalize(&base.join(relative.join("/"))))
}

/// `path` with `.` and `..` steps folded, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// One string literal of a Rust file.
#[derive(Debug)]
struct Literal {
    line: usize,
    text: String,
    /// Given straight to `include_str!`, `include_bytes!` or `include!`.
    included: bool,
}

/// The string literals of Rust source, outside comments, each with the line it starts on.
fn rust_literals(text: &str) -> Vec<Literal> {
    let chars: Vec<char> = text.chars().collect();
    let mut literals = Vec::new();
    let mut line = 1;
    // The code before the current position on this statement, to see what a literal is given to.
    let mut code = String::new();
    let mut i = 0;
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
            continue;
        }
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
            continue;
        }
        let previous_is_ident = i > 0 && is_ident(chars[i - 1]);
        // Raw strings: r"..", r#".."#, br#".."#.
        if c == 'r' && !previous_is_ident || (c == 'b' && next == Some('r') && !previous_is_ident) {
            let start = if c == 'b' { i + 2 } else { i + 1 };
            let mut j = start;
            while chars.get(j) == Some(&'#') {
                j += 1;
            }
            if chars.get(j) == Some(&'"') {
                let hashes = j - start;
                let (start_line, mut k) = (line, j + 1);
                let mut content = String::new();
                while let Some(&ch) = chars.get(k) {
                    if ch == '"' && (1..=hashes).all(|n| chars.get(k + n) == Some(&'#')) {
                        k += 1 + hashes;
                        break;
                    }
                    if ch == '\n' {
                        line += 1;
                    }
                    content.push(ch);
                    k += 1;
                }
                literals.push(Literal {
                    line: start_line,
                    text: content,
                    included: included(&code),
                });
                code.push_str("\"\"");
                i = k;
                continue;
            }
        }
        if c == '"' {
            let (start_line, mut k) = (line, i + 1);
            let mut content = String::new();
            while let Some(&ch) = chars.get(k) {
                if ch == '\\' {
                    if let Some(&escaped) = chars.get(k + 1) {
                        if escaped == '\n' {
                            line += 1;
                        }
                        content.push(ch);
                        content.push(escaped);
                    }
                    k += 2;
                    continue;
                }
                if ch == '"' {
                    k += 1;
                    break;
                }
                if ch == '\n' {
                    line += 1;
                }
                content.push(ch);
                k += 1;
            }
            literals.push(Literal {
                line: start_line,
                text: content,
                included: included(&code),
            });
            code.push_str("\"\"");
            i = k;
            continue;
        }
        if c == '\'' {
            // A char literal ('x', '\n', '"'), or a lifetime ('a), which has no closing quote.
            if next == Some('\\') {
                let mut k = i + 3;
                while k < chars.len() && chars[k] != '\'' {
                    k += 1;
                }
                i = k + 1;
                continue;
            }
            if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                continue;
            }
        }
        if !c.is_whitespace() {
            code.push(c);
            if c == ';' || c == '{' || c == '}' {
                code.clear();
            }
        }
        i += 1;
    }
    literals
}

fn included(code: &str) -> bool {
    ["include_str!(", "include_bytes!(", "include!("]
        .iter()
        .any(|macro_call| code.ends_with(macro_call))
}

/// Words of a non-Rust file that contain a `..` step, each with its line; quotes, brackets and
/// the like end a word, so `"$(dirname "$0")/.."` yields `/..`.
fn path_tokens(text: &str) -> Vec<(usize, String)> {
    let mut tokens = Vec::new();
    for (index, line) in text.lines().enumerate() {
        for word in line.split(|c: char| c.is_whitespace() || "\"'(){}[]<>|;,`=:".contains(c)) {
            if word.split('/').any(|part| part == "..") {
                tokens.push((index + 1, word.to_owned()));
            }
        }
    }
    tokens
}

mod scanner {
    use super::*;

    /// A repository at a made-up root; the scan reads no file for these (no `Cargo.toml` is
    /// found, so the crate folder falls back to the root unless the test names one).
    fn escapes(file: &str, kind: Kind, text: &str) -> Vec<(usize, String)> {
        let root = Path::new("/checkouts/tether");
        scan(root, &root.join(file), kind, text)
            .into_iter()
            .map(|escape| (escape.line, escape.resolved.display().to_string()))
            .collect()
    }

    #[test]
    fn reads_beside_the_checkout_are_named_with_their_line() {
        let text = r##"//! Docs may mention "../../../elsewhere".
const A: &str = include_str!("../../keys/a.pem");
const B: &str = include_str!("../../../../outside/b.json");
const C: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/c.json"
));
fn d() -> char { let _ = '"'; let _x = r#"../../../raw"#; '\'' }
const E: &str = "/checkouts/shared/e.pem";
const F: &str = "/checkouts/tether/f.pem";
const G: &str = "/dev/null";
// include_str!("../../../../../commented");
"##;
        // Resolved from the made-up root, the crate folder: a raw string with `..` steps is a
        // path too.
        assert_eq!(
            escapes("crates/x/src/lib.rs", Kind::Rust, text),
            [
                (3, "/checkouts/outside/b.json".to_owned()),
                (6, "/shared/reference/c.json".to_owned()),
                (8, "/raw".to_owned()),
                (9, "/checkouts/shared/e.pem".to_owned()),
            ]
        );
    }

    #[test]
    fn scripts_and_manifests_resolve_from_their_folder() {
        let script =
            "#!/usr/bin/env bash\ncd \"$(dirname \"$0\")/..\"\ncat \"$HERE/../../shared/x\"\n";
        assert_eq!(
            escapes("scripts/test", Kind::Other, script),
            [(3, "/checkouts/shared/x".to_owned())]
        );
        let manifest = "[dependencies]\ncore = { path = \"../tether-core\" }\nfar = { path = \"../../../far\" }\n";
        assert_eq!(
            escapes("crates/x/Cargo.toml", Kind::Other, manifest),
            [(3, "/checkouts/far".to_owned())]
        );
    }
}
