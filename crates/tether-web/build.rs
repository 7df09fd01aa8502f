//! Builds the web UI (`web/`) with npm and vite into `OUT_DIR/dist`, which `src/lib.rs` embeds.
//!
//! - `TETHER_WEB_DIST=path`: embed this prebuilt folder instead (offline and container builds).
//! - Without Node 20+ and npm the crate still builds: a `cargo:warning` says why, and the server
//!   answers a page that says how to get the UI. `TETHER_WEB_REQUIRE=1` (CI) makes that an error.
//! - `npm ci` runs only when `web/node_modules/.package-lock.json` is older than
//!   `web/package-lock.json` (or missing).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

const MIN_NODE_MAJOR: u32 = 20;

fn main() {
    let manifest = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let web = manifest.join("../../web");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("dist");
    for watched in ["src", "index.html", "package-lock.json", "vite.config.ts"] {
        println!("cargo:rerun-if-changed={}", web.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=TETHER_WEB_DIST");
    println!("cargo:rerun-if-env-changed=TETHER_WEB_REQUIRE");

    let _ = std::fs::remove_dir_all(&out);
    let outcome = match std::env::var_os("TETHER_WEB_DIST").filter(|dist| !dist.is_empty()) {
        Some(dist) => copy_prebuilt(Path::new(&dist), &out),
        None => build(&web, &out),
    };
    if let Err(why) = outcome {
        let required = std::env::var("TETHER_WEB_REQUIRE").is_ok_and(|value| value == "1");
        if required {
            panic!("the web UI could not be built, and TETHER_WEB_REQUIRE=1 requires it: {why}");
        }
        println!(
            "cargo:warning=the web UI is not built into this binary: {why}. It serves a page that \
             says how to get it; install Node {MIN_NODE_MAJOR}+ and npm, then rebuild."
        );
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).expect("OUT_DIR is writable");
        // A path that never exists makes cargo run this script again on every build, so installing
        // Node and npm (which changes no file cargo watches) is enough for the next build to
        // embed the UI.
        println!(
            "cargo:rerun-if-changed={}",
            out.join("rebuild-until-the-ui-is-built").display()
        );
        // One line for the page, no HTML: `src/lib.rs` escapes it.
        std::fs::write(out.join("MISSING"), why).expect("OUT_DIR is writable");
    }
}

fn copy_prebuilt(dist: &Path, out: &Path) -> Result<(), String> {
    if !dist.join("index.html").is_file() {
        return Err(format!(
            "TETHER_WEB_DIST={} has no index.html",
            dist.display()
        ));
    }
    println!("cargo:rerun-if-changed={}", dist.display());
    copy_dir(dist, out)
        .map_err(|error| format!("copying TETHER_WEB_DIST={}: {error}", dist.display()))
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

fn build(web: &Path, out: &Path) -> Result<(), String> {
    if !web.join("package.json").is_file() {
        return Err(format!("{} has no package.json", web.display()));
    }
    check_node()?;
    if needs_install(web) {
        run(
            web,
            "npm",
            &["ci", "--no-audit", "--no-fund", "--loglevel=error"],
            out,
        )?;
    }
    run(web, "npm", &["run", "build", "--silent"], out)?;
    if !out.join("index.html").is_file() {
        return Err(format!(
            "`npm run build` wrote no index.html into {}",
            out.display()
        ));
    }
    Ok(())
}

/// Node must be one Vite 7 runs on: 20.19+ or 22.12+.
fn check_node() -> Result<(), String> {
    let output = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|error| {
            format!(
                "`node --version` did not run ({error}); Node.js is not installed or not on PATH"
            )
        })?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let mut parts = version
        .trim_start_matches('v')
        .split('.')
        .map(|part| part.parse::<u32>().ok());
    let (Some(Some(major)), Some(Some(minor))) = (parts.next(), parts.next()) else {
        return Err(format!(
            "`node --version` answered {version:?}, not a version"
        ));
    };
    let supported = (major == 20 && minor >= 19) || (major == 22 && minor >= 12) || major > 22;
    if supported {
        Ok(())
    } else {
        Err(format!(
            "Node.js {version} is too old or unsupported; the web UI (Vite 7) needs Node \
             {MIN_NODE_MAJOR}.19+ or 22.12+"
        ))
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path)
        .and_then(|meta| meta.modified())
        .ok()
}

fn needs_install(web: &Path) -> bool {
    let installed = modified(&web.join("node_modules/.package-lock.json"));
    let locked = modified(&web.join("package-lock.json"));
    !matches!((installed, locked), (Some(installed), Some(locked)) if installed > locked)
}

fn run(web: &Path, program: &str, args: &[&str], out: &Path) -> Result<(), String> {
    let shown = format!("`{program} {}` in {}", args.join(" "), web.display());
    let output = Command::new(program)
        .args(args)
        .current_dir(web)
        .env("TETHER_WEB_OUT", out)
        .output()
        .map_err(|error| {
            format!("{shown} did not start ({error}); is npm installed and on PATH?")
        })?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stdout));
    let tail: Vec<&str> = text.lines().rev().take(15).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(format!(
        "{shown} failed ({}): {}",
        output.status,
        tail.join(" | ")
    ))
}
