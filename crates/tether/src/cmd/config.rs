//! `tether config check`: the effective settings of `tether serve`, where each came from, and
//! whether they are valid.

use crate::config::{self, Config, SettingsArgs};
use crate::out::outln;
use clap::{Args, Subcommand};

use super::data::DataArgs;

/// Arguments of `tether config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective settings with where each came from (secrets redacted); exit non-zero,
    /// naming each bad setting and its source, when any is invalid.
    Check(CheckArgs),
}

/// Arguments of `tether config check`: the same settings as `tether serve`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub settings: SettingsArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

impl ConfigArgs {
    /// The `check` arguments (the only subcommand), for building the flags in `main`.
    pub fn check(&self) -> &CheckArgs {
        match &self.command {
            ConfigCommand::Check(args) => args,
        }
    }
}

/// Checks the settings and prints them.
pub fn run(flags: &config::Flags) -> anyhow::Result<()> {
    let config = config::load(flags)?;
    print(&config)?;
    // The key itself is checked too: a malformed TETHER_SECRET_KEY or key file stops `serve`.
    tether_store::Vault::load_existing(&config.secret_key_file)?;
    outln!("The settings are valid.")?;
    Ok(())
}

fn print(config: &Config) -> anyhow::Result<()> {
    match &config.file {
        Some(file) => outln!("Settings file: {}", file.display())?,
        None => outln!(
            "Settings file: none ({} in the data folder, or --config FILE)",
            config::FILE_NAME
        )?,
    }
    let rows = config.report();
    let key_width = rows.iter().map(|row| row.0.len()).max().unwrap_or(0);
    let value_width = rows.iter().map(|row| row.1.len()).max().unwrap_or(0);
    for (key, value, origin, _help) in rows {
        outln!("  {key:key_width$}  {value:value_width$}  ({origin})")?;
    }
    Ok(())
}
