//! The web UI in a real browser: each journey `node web/tests/<name>.mjs` (on `support.mjs`) drives Debian's Chromium
//! (playwright-core, no downloaded browser) against this build's `tether serve`: setup, sign out
//! and in, the flows (toggle, a draft's diagnostics), a webhook's run appearing live and its steps,
//! connections made by `tether connect` tested from the page, the dead run replayed from the Dead
//! letters page (and a second retry refused with the reason), and refused cross-site writes;
//! `connections`: GHL through the OAuth popup against `tether sim ghl`, an API key refused on its
//! field, rename, reconnect and delete (refused while flows use it), a blocked popup's link;
//! `demo`: first contact, `tether demo`'s sign-in link to its nine flows, healthy connections and runs;
//! `editor`: the contact recipe built from a blank flow by dragging and once more by click,
//! published, run by a contact created in `tether sim ghl`, a mapping error on its field, YAML
//! view, history, discard and run once.
//! Screenshots go to `target/ui-screenshots/<journey>-<page>.png`.

use std::path::{Path, PathBuf};
use std::process::Command;

const TETHER: &str = env!("CARGO_BIN_EXE_tether");
const CHROMIUM: &str = "/usr/bin/chromium";

/// Runs the journey `web/tests/<name>.mjs` against this build's binary and fails with its
/// output when it fails.
fn run_journey(name: &str) {
    let _shared = crate::BROWSER_OR_SCALE_OUT
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let web = root.join("web");
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install it with `apt-get install -y chromium` (.ci/run does)"
    );
    assert!(
        web.join("node_modules/playwright-core").is_dir(),
        "web/node_modules has no playwright-core: run `npm ci` in web/ (scripts/test does)"
    );
    let output = Command::new("node")
        .arg(web.join(format!("tests/{name}.mjs")))
        .arg(TETHER)
        .current_dir(&root)
        .output()
        .unwrap_or_else(|error| panic!("`node` did not run ({error}): install Node.js 20+"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the UI journey {name} failed:\n{text}"
    );
    assert!(text.contains("screenshot: "), "{text}");
    println!("{text}");
}

#[test]
fn the_web_ui_sets_up_the_owner_signs_in_and_shows_flows_runs_and_connections_in_chromium() {
    run_journey("journey");
}

#[test]
fn the_mapping_components_drag_fields_into_inputs_auto_map_build_filters_and_draw_a_5_mb_sample_in_chromium()
 {
    run_journey("mapping");
}

#[test]
fn the_flow_editor_builds_the_contact_recipe_by_dragging_and_by_click_publishes_it_and_a_ghl_contact_becomes_a_customer_in_chromium()
 {
    run_journey("editor");
}

#[test]
fn runs_are_found_by_email_paged_and_a_big_event_is_shown_on_demand_in_chromium() {
    run_journey("runs");
}

#[test]
fn connections_are_made_tested_renamed_reconnected_and_deleted_in_chromium() {
    run_journey("connections");
}

#[test]
fn tether_demo_prints_a_sign_in_link_to_its_flows_healthy_connections_and_runs() {
    run_journey("demo");
}

#[test]
fn the_flows_list_settings_and_apps_pages_work_in_chromium() {
    run_journey("pages");
}
