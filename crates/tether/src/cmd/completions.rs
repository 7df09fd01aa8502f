//! `tether completions SHELL`: a shell completion script for every command and option.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::out::outln;

/// Arguments of `tether completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    shell: Shell,
}

/// Prints the script (for example `tether completions bash > /etc/bash_completion.d/tether`).
pub fn run(args: CompletionsArgs) -> anyhow::Result<()> {
    let mut command = crate::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "tether", &mut script);
    outln!("{}", String::from_utf8_lossy(&script).trim_end())?;
    Ok(())
}
