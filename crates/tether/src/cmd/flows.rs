//! `tether flows …`: flows live in the store, versioned. `apply FILE|DIR…` publishes the files
//! whose content changed, `export DIR` writes each flow's published YAML back, `list` and `show`
//! read them, `enable` and `disable` switch them, `delete` removes one (its history stays);
//! `validate FILE|DIR…` checks files without storing anything, the stored connections included
//! when a data folder (or database) is there.
//! `test FILE --step ID` renders one step against a sample (see [`tether_service::samples`]);
//! `--execute` runs a lookup, and an action with `--confirm-write`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use tether_engine::flow::{KnownConnection, Problem};
use tether_service::flows::{Applied, Checks, VersionInfo, VersionRef};
use tether_service::samples::{TestStepRequest, render_step};
use tether_service::{Diagnostic, ErrorCode, Service};

use super::data::DataArgs;
use crate::out::outln;

/// Arguments of `tether flows`.
#[derive(Debug, Args)]
pub struct FlowsArgs {
    #[command(subcommand)]
    command: FlowsCommand,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Subcommand)]
enum FlowsCommand {
    /// Render one step of a flow file against a sample and print what it would do (JSON):
    /// a filter's verdict, a map's record, a lookup's or action's input.
    Test {
        /// The flow file (YAML).
        file: PathBuf,
        /// The step's id.
        #[arg(long)]
        step: String,
        /// The trigger record (JSON): a file, or `@-` for standard input (default `{}`).
        #[arg(long)]
        sample: Option<String>,
        /// Run the step's operation on the stored connections: a lookup runs; an action also
        /// needs --confirm-write.
        #[arg(long)]
        execute: bool,
        /// Let an executed action write to its app.
        #[arg(long, requires = "execute")]
        confirm_write: bool,
    },
    /// Check flow files: YAML, fields, step references, expressions (filters, functions, trigger
    /// fields), operations and their inputs, and, when the data folder exists, connections.
    Validate {
        /// Flow files (YAML), or folders of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Store flow files and publish those whose text changed (each becomes the flow's new
    /// version; runs already queued finish on theirs). A file with problems is refused with
    /// every one of them; the others are still applied.
    Apply {
        /// Flow files (YAML), or folders of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// What changed, recorded with each new version.
        #[arg(long, short)]
        message: Option<String>,
    },
    /// Write each flow's published YAML to DIR as `<id>.yaml`, exactly as it was applied.
    Export {
        /// The folder (created when missing).
        dir: PathBuf,
    },
    /// List the stored flows with their published version.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a flow: its published version and YAML, its draft and the draft's problems.
    Show {
        /// The flow's id.
        id: String,
        /// A published version: its number (`2`, `v2`) or content hash (16 hex digits).
        #[arg(long)]
        version: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Let a flow start runs again.
    Enable {
        /// The flow's id.
        id: String,
    },
    /// Stop a flow from starting runs; runs already queued still finish.
    Disable {
        /// The flow's id.
        id: String,
    },
    /// Delete a flow: it starts no runs and leaves the list; runs already queued finish, and its
    /// runs, dead letters and versions stay as history.
    Delete {
        /// The flow's id.
        id: String,
    },
}

/// Runs `tether flows …`.
pub async fn run(args: FlowsArgs) -> anyhow::Result<()> {
    match args.command {
        FlowsCommand::Test {
            file,
            step,
            sample,
            execute,
            confirm_write,
        } => {
            let yaml = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let request = TestStepRequest {
                yaml: Some(yaml.clone()),
                step_id: step,
                sample: Some(super::preview::read_sample(sample.as_deref())?),
                execute,
                confirm_write,
                ..TestStepRequest::default()
            };
            let test = if execute {
                // Only a run needs the stored connections.
                let service = tether_service::Service::for_store(args.data.open_existing().await?);
                service.test_step(&request).await
            } else {
                let catalog = tether_connectors::catalog();
                let flow = tether_engine::flow::parse_flow(&yaml, &file, Some(&catalog)).map_err(
                    |errors| {
                        let problems: Vec<String> =
                            errors.problems.iter().map(ToString::to_string).collect();
                        anyhow::anyhow!(
                            "{} problem(s) in the flow:\n{}",
                            problems.len(),
                            problems.join("\n")
                        )
                    },
                )?;
                let trigger = request.sample.clone().unwrap_or_default();
                render_step(&flow, &request, trigger).map(|(test, _)| test)
            }
            .map_err(super::preview::service_error)?;
            outln!("{}", serde_json::to_string_pretty(&test)?)?;
            if let Some(warning) = &test.warning {
                eprintln!("warning: {warning}");
            }
            if let Some(error) = &test.error {
                bail!("{error}");
            }
            Ok(())
        }
        FlowsCommand::Validate { paths } => validate(&args.data, &paths).await,
        FlowsCommand::Apply { paths, message } => {
            let store = args.data.open_or_create().await?;
            let service = Service::for_store(store.clone());
            let report = apply_paths(&service, &paths, message.as_deref(), Checks::Full).await;
            store.close().await;
            let report = report?;
            for line in &report.lines {
                outln!("{line}")?;
            }
            if report.refused > 0 {
                bail!(
                    "{} file(s) refused, {} applied",
                    report.refused,
                    report.applied.len()
                );
            }
            Ok(())
        }
        FlowsCommand::Export { dir } => {
            let store = args.data.open_existing().await?;
            let flows = Service::for_store(store.clone()).export_flows().await;
            store.close().await;
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            for (id, yaml) in flows? {
                let file = dir.join(format!("{id}.yaml"));
                std::fs::write(&file, yaml)
                    .with_context(|| format!("cannot write {}", file.display()))?;
                outln!("{}", file.display())?;
            }
            Ok(())
        }
        FlowsCommand::List { json } => {
            let store = args.data.open_existing().await?;
            let service = Service::for_store(store.clone());
            let mut flows = Vec::new();
            let mut cursor = None;
            let listed = loop {
                match service
                    .list_flows(Some(tether_service::flows::MAX_PAGE), cursor.as_deref())
                    .await
                {
                    Ok(page) => {
                        flows.extend(page.items);
                        match page.next_cursor {
                            Some(next) => cursor = Some(next),
                            None => break Ok(()),
                        }
                    }
                    Err(error) => break Err(error),
                }
            };
            store.close().await;
            listed?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&flows)?)?;
                return Ok(());
            }
            if flows.is_empty() {
                outln!("no flows stored; add some with `tether flows apply FILE|DIR`")?;
            }
            for flow in &flows {
                outln!(
                    "{:<36} {:<8} {:<24} {}{}",
                    flow.id,
                    if flow.enabled { "enabled" } else { "disabled" },
                    flow.published
                        .as_ref()
                        .map_or_else(|| "unpublished".to_owned(), label),
                    flow.name,
                    if flow.unpublished_changes && flow.published.is_some() {
                        "  (draft has unpublished changes)"
                    } else {
                        ""
                    }
                )?;
            }
            Ok(())
        }
        FlowsCommand::Show { id, version, json } => {
            let store = args.data.open_existing().await?;
            let service = Service::for_store(store.clone());
            let shown = show(&service, &id, version.as_deref(), json).await;
            store.close().await;
            shown
        }
        FlowsCommand::Enable { id } => switch(&args.data, &id, true).await,
        FlowsCommand::Disable { id } => switch(&args.data, &id, false).await,
        FlowsCommand::Delete { id } => {
            let store = args.data.open_existing().await?;
            let deleted = Service::for_store(store.clone()).delete_flow(&id).await;
            store.close().await;
            deleted?;
            outln!("flow {id} deleted (its runs and versions stay as history)")?;
            Ok(())
        }
    }
}

/// How people see a version: `v2 (0123456789abcdef)`.
fn label(version: &VersionInfo) -> String {
    format!("v{} ({})", version.seq, version.version)
}

async fn switch(data: &DataArgs, id: &str, enabled: bool) -> anyhow::Result<()> {
    let store = data.open_existing().await?;
    let switched = Service::for_store(store.clone())
        .set_flow_enabled(id, enabled)
        .await;
    store.close().await;
    let flow = switched?;
    outln!(
        "flow {} {}",
        flow.id,
        if enabled { "enabled" } else { "disabled" }
    )?;
    Ok(())
}

async fn show(
    service: &Service,
    id: &str,
    version: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    if let Some(version) = version {
        let version: VersionRef = version.parse()?;
        let detail = service.flow_version(id, &version).await?;
        if json {
            outln!("{}", serde_json::to_string_pretty(&detail)?)?;
        } else {
            outln!(
                "# {} {} published {}{}",
                detail.flow_id,
                label(&detail.info),
                detail.info.published_at,
                message_note(&detail.info.message)
            )?;
            write_yaml(&detail.yaml)?;
        }
        return Ok(());
    }
    let flow = service.flow(id).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&flow)?)?;
        return Ok(());
    }
    outln!("flow      {} ({})", flow.id, flow.name)?;
    outln!(
        "state     {}",
        if flow.enabled { "enabled" } else { "disabled" }
    )?;
    match &flow.published {
        Some(version) => outln!(
            "published {} at {}{}",
            label(version),
            version.published_at,
            message_note(&version.message)
        )?,
        None => outln!("published nothing yet")?,
    }
    let published_yaml = match &flow.published {
        Some(version) => Some(
            service
                .flow_version(id, &VersionRef::Seq(version.seq))
                .await?
                .yaml,
        ),
        None => None,
    };
    outln!(
        "draft     revision {}, saved {}{}",
        flow.draft.revision,
        flow.draft.updated_at,
        if published_yaml.as_deref() == Some(flow.draft.yaml.as_str()) {
            ", as published"
        } else {
            ", with unpublished changes"
        }
    )?;
    for diagnostic in &flow.draft.diagnostics {
        outln!("  {}", problem(&format!("{id} (draft)"), diagnostic))?;
    }
    outln!()?;
    write_yaml(published_yaml.as_deref().unwrap_or(&flow.draft.yaml))?;
    Ok(())
}

fn message_note(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

fn write_yaml(yaml: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(yaml.as_bytes())?;
    if !yaml.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// A diagnostic as `file:line:col: path: message`.
fn problem(file: &str, diagnostic: &Diagnostic) -> Problem {
    Problem {
        file: PathBuf::from(file),
        line: diagnostic.line.unwrap_or(0),
        column: diagnostic.column.unwrap_or(0),
        path: diagnostic.path.clone(),
        message: diagnostic.message.clone(),
    }
}

/// What applying flow files did: a line per file for people, the flows applied, and how many
/// files were refused.
#[derive(Debug, Default)]
pub struct ApplyReport {
    /// `created   greeter  v1 (…)  flows/greeter.yaml`, or the problems of a refused file.
    pub lines: Vec<String>,
    /// The flows applied.
    pub applied: Vec<Applied>,
    /// Files refused (problems, unreadable, or an id another file of this apply has).
    pub refused: usize,
}

/// Applies flow files and folders of them: each valid file is stored and, when its text
/// changed, published; each invalid one is refused with every problem, and the others still
/// apply. Fails only when the store does.
pub async fn apply_paths(
    service: &Service,
    paths: &[PathBuf],
    message: Option<&str>,
    checks: Checks,
) -> anyhow::Result<ApplyReport> {
    let mut report = ApplyReport::default();
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for path in paths {
        let (files, folder_problems) = flow_files(path);
        for problem in folder_problems {
            report.lines.push(problem.to_string());
            report.refused += 1;
        }
        for file in files {
            let text = match std::fs::read_to_string(&file) {
                Ok(text) => text,
                Err(error) => {
                    report
                        .lines
                        .push(format!("{}: cannot read the file: {error}", file.display()));
                    report.refused += 1;
                    continue;
                }
            };
            if let Some((id, _)) = tether_engine::flow::peek_id_and_name(&text)
                && let Some(first) = seen.get(&id)
            {
                report.lines.push(format!(
                    "{}: id: flow id {id:?} is also the id of {}; refused",
                    file.display(),
                    first.display()
                ));
                report.refused += 1;
                continue;
            }
            let message = message
                .map(str::to_owned)
                .unwrap_or_else(|| format!("applied from {}", file.display()));
            match service.apply_flow(&text, &message, checks).await {
                Ok(applied) => {
                    report.lines.push(format!(
                        "{:<9} {} {} {}",
                        applied.outcome.as_str(),
                        applied.id,
                        label(&applied.version),
                        file.display()
                    ));
                    seen.insert(applied.id.clone(), file.clone());
                    report.applied.push(applied);
                }
                Err(error)
                    if error.code == ErrorCode::Unprocessable
                        || error.code == ErrorCode::Invalid =>
                {
                    let file_label = file.display().to_string();
                    if error.diagnostics.is_empty() {
                        report
                            .lines
                            .push(format!("{file_label}: {}", error.message));
                    }
                    for diagnostic in &error.diagnostics {
                        report
                            .lines
                            .push(problem(&file_label, diagnostic).to_string());
                    }
                    let missing_connection = error.diagnostics.iter().any(|diagnostic| {
                        diagnostic.path.ends_with("connection")
                            && diagnostic.message.contains("does not exist")
                    });
                    if missing_connection {
                        report.lines.push(
                            "hint: connect it first (`tether connect APP --name NAME …`); \
                             `tether serve --flows DIR` applies flows whose connections come later"
                                .into(),
                        );
                    }
                    report.lines.push(format!("refused   {file_label}"));
                    report.refused += 1;
                }
                Err(error) => {
                    return Err(anyhow::Error::new(error)
                        .context(format!("cannot apply {}", file.display())));
                }
            }
        }
    }
    Ok(report)
}

async fn validate(data: &DataArgs, paths: &[PathBuf]) -> anyhow::Result<()> {
    let catalog = tether_connectors::catalog();
    let connections = stored_connections(data).await?;
    if connections.is_none() {
        // On stdout with the report, so that stderr keeps to the one line of the verdict.
        outln!(
            "note: connections were not checked (no data folder at {}; pass --data-dir)",
            data.data_dir.display()
        )?;
    }
    let mut n_problems = 0;
    let mut n_files = 0;
    for path in paths {
        let (files, folder_problems) = flow_files(path);
        n_files += files.len();
        for problem in &folder_problems {
            outln!("{problem}")?;
        }
        n_problems += folder_problems.len();
        for file in &files {
            let problems = tether_engine::flow::validate_flow_file_with(
                file,
                &catalog,
                connections.as_deref(),
            );
            if problems.is_empty() {
                outln!("{}: ok", file.display())?;
            }
            for problem in &problems {
                outln!("{problem}")?;
            }
            n_problems += problems.len();
        }
    }
    if n_problems > 0 {
        bail!("{n_problems} problem(s) in {n_files} file(s)");
    }
    Ok(())
}

/// The stored connections, when there is a store to read: a read command never creates a data
/// folder, so without one (and without `--database`) nothing is opened.
async fn stored_connections(data: &DataArgs) -> anyhow::Result<Option<Vec<KnownConnection>>> {
    let has_store = data.database.is_some() || data.data_dir.join("tether.sqlite").is_file();
    if !has_store {
        return Ok(None);
    }
    let store = data.open_existing().await?;
    let connections = store
        .connections()
        .await
        .context("cannot list the stored connections")?
        .into_iter()
        .map(|connection| KnownConnection {
            name: connection.name,
            app: connection.app,
        })
        .collect();
    Ok(Some(connections))
}

/// A file as itself; a folder as its flow files (`*.yaml`, `*.yml`), sorted. A folder that
/// cannot be read or holds no flow file is a problem of its own.
pub fn flow_files(path: &Path) -> (Vec<PathBuf>, Vec<Problem>) {
    if !path.is_dir() {
        return (vec![path.to_path_buf()], Vec::new());
    }
    let whole_folder = |message: String| Problem {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        path: String::new(),
        message,
    };
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(error) => {
            return (
                Vec::new(),
                vec![whole_folder(format!("cannot read the folder: {error}"))],
            );
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|file| {
            file.is_file()
                && file
                    .extension()
                    .is_some_and(|extension| extension == "yaml" || extension == "yml")
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return (
            Vec::new(),
            vec![whole_folder(
                "no flow files (*.yaml, *.yml) in this folder".into(),
            )],
        );
    }
    (files, Vec::new())
}
