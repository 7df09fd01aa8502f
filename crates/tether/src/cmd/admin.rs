//! `tether admin reset-password EMAIL`: recovery for whoever holds the data folder. The new
//! password comes from standard input (one line), from a prompt that does not echo, or is
//! generated (`--generate`) and printed once. The user's sessions end.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use tether_service::Service;

use super::data::DataArgs;
use crate::out::outln;

/// Arguments of `tether admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Set a new password for a user (read from standard input or a prompt) and sign them out
    /// everywhere.
    ResetPassword {
        /// The user's e-mail address.
        email: String,
        /// Generate a random password and print it once instead of reading one.
        #[arg(long)]
        generate: bool,
    },
}

/// Runs `tether admin …`.
pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    match args.command {
        AdminCommand::ResetPassword { email, generate } => {
            let password = if generate {
                tether_service::accounts::generate_password()
            } else {
                read_password()?
            };
            let store = args.data.open_existing().await?;
            let service = Service::for_store(store.clone());
            let reset = service.reset_password(&email, &password).await;
            store.close().await;
            let user = reset.context("cannot reset the password")?;
            if generate {
                outln!("{password}")?;
                eprintln!(
                    "New password of {} printed above; it is shown only now. Their sessions \
                     have ended.",
                    user.email
                );
            } else {
                outln!(
                    "Password of {} reset; their sessions have ended.",
                    user.email
                )?;
            }
            Ok(())
        }
    }
}

/// The new password: typed twice at a terminal without echo, or the first line of standard
/// input when it is not a terminal.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("New password: ").context("cannot read it")?;
        let again = rpassword::prompt_password("Again: ").context("cannot read it")?;
        if first != again {
            bail!("the two passwords differ; nothing changed");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the new password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        bail!(
            "no password on standard input; pipe one line in, run at a terminal to be prompted, \
             or pass --generate"
        );
    }
    Ok(password)
}
