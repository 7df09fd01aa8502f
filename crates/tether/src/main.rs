//! The `tether` command line: wiring only; the work lives in the library crates.

mod cmd;
mod config;
mod out;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Tether: keeps HighLevel contacts in sync with the other apps a business runs.
#[derive(Debug, Parser)]
#[command(name = "tether", version, about)]
pub(crate) struct Cli {
    /// Log filter, as in RUST_LOG (for example `info` or `tether_sim=debug`; `tether serve`
    /// defaults to `info`, or its settings file's `log_level`).
    #[arg(long, global = true, env = "TETHER_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the built-in simulators on loopback and show Tether working with no account anywhere.
    Demo(cmd::demo::DemoArgs),
    /// Serve: webhook intake, the REST API and the run worker, until Ctrl-C.
    Serve(cmd::serve::ServeArgs),
    /// Run a simulator of a real service as an HTTP server.
    Sim(cmd::sim::SimArgs),
    /// Authorize an account of an app and store it as a connection.
    Connect(cmd::connect::ConnectArgs),
    /// List the stored connections and their health.
    Connections(cmd::connections::ConnectionsArgs),
    /// Run one catalog operation with a JSON input.
    Call(cmd::call::CallArgs),
    /// List every operation Tether can run.
    Catalog(cmd::catalog::CatalogArgs),
    /// Work with flow files (`validate`, `test`).
    Flows(cmd::flows::FlowsArgs),
    /// Evaluate an expression against a sample record and print its value (JSON).
    Preview(cmd::preview::PreviewArgs),
    /// Run one flow now, by id, against the stored connections, and print the run.
    Run(cmd::run::RunArgs),
    /// Show recent runs with their steps and outcomes; `show ID` prints one run.
    Runs(cmd::runs::RunsArgs),
    /// The dead-letter queue: `list`, `show ID`, `replay ID`.
    Dlq(cmd::dlq::DlqArgs),
    /// API tokens for scripts: `create NAME`, `list`, `revoke NAME`.
    Token(cmd::token::TokenArgs),
    /// Administration from the data folder: `reset-password EMAIL`.
    Admin(cmd::admin::AdminArgs),
    /// The settings of `tether serve`: `check` prints them with their sources.
    Config(cmd::config::ConfigArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(cmd::completions::CompletionsArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader of our output has gone (`tether catalog | head -1`): it has all it wanted,
        // so the command ends quietly and successfully (see `out.rs`).
        Err(error) if out::is_broken_pipe(&error) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // One line with the whole cause chain; a backtrace helps developers, not users.
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    // One TLS provider for every HTTP client in the process (reqwest is built without a default).
    let _ = rustls::crypto::ring::default_provider().install_default();
    // `serve` and `config check` read the process settings (flags > environment > tether.toml >
    // defaults), which also say how to log; the other commands log by `--log` alone.
    let settings = |name: &str, settings, data| {
        let sub = matches
            .subcommand_matches(name)
            .map(|sub| sub.subcommand().map_or(sub, |(_, nested)| nested))
            .unwrap_or(&matches);
        config::Flags::from_args(settings, data, &cli.log, sub, &matches)
    };
    match cli.command {
        Command::Serve(args) => {
            let settings = config::load(&settings("serve", &args.settings, &args.data))?;
            init_logging(&settings.log_level, settings.log_format);
            cmd::serve::run(args, settings).await
        }
        Command::Config(args) => {
            let check = args.check();
            cmd::config::run(&settings("config", &check.settings, &check.data))
        }
        command => {
            init_logging(&cli.log, config::LogFormat::Text);
            match command {
                Command::Demo(args) => cmd::demo::run(args).await,
                Command::Sim(args) => cmd::sim::run(args).await,
                Command::Connect(args) => cmd::connect::run(args).await,
                Command::Preview(args) => cmd::preview::run(args).await,
                Command::Connections(args) => cmd::connections::run(args).await,
                Command::Call(args) => cmd::call::run(args).await,
                Command::Catalog(args) => cmd::catalog::run(args).await,
                Command::Flows(args) => cmd::flows::run(args).await,
                Command::Run(args) => cmd::run::run(args).await,
                Command::Runs(args) => cmd::runs::run(args).await,
                Command::Dlq(args) => cmd::dlq::run(args).await,
                Command::Token(args) => cmd::token::run(args).await,
                Command::Admin(args) => cmd::admin::run(args).await,
                Command::Completions(args) => cmd::completions::run(args),
                Command::Serve(_) | Command::Config(_) => unreachable!("handled above"),
            }
        }
    }
}

/// Logs to standard error at `filter`, as text or one JSON object per line.
fn init_logging(filter: &str, format: config::LogFormat) {
    // Colour only for a person at a terminal: a log file or a pipe gets plain text, and
    // `NO_COLOR` (no-color.org) turns colour off everywhere.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr);
    match format {
        config::LogFormat::Text => builder.with_ansi(ansi).init(),
        config::LogFormat::Json => builder.json().init(),
    }
}
