//! `tether token create|list|revoke`: API tokens for scripts and other programs
//! (`Authorization: Bearer tth_…`), stored hashed: a token is shown once, when created.

use anyhow::Context;
use clap::{Args, Subcommand};
use tether_service::Service;

use super::data::DataArgs;
use crate::out::outln;

/// Arguments of `tether token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print it (the only time it is shown).
    Create {
        /// Its name (letters, digits, `-`, `_`, `.`), unique among live tokens.
        name: String,
        /// The user it acts as, by e-mail address (default: the owner).
        #[arg(long)]
        user: Option<String>,
    },
    /// List the live tokens: name, prefix, created, last used; never the secrets.
    List,
    /// Revoke a token by name or id: it authenticates nothing from then on.
    Revoke {
        /// The token's name or id.
        name_or_id: String,
    },
}

/// Runs `tether token …`.
pub async fn run(args: TokenArgs) -> anyhow::Result<()> {
    let store = args.data.open_existing().await?;
    let service = Service::for_store(store.clone());
    let result = match args.command {
        TokenCommand::Create { name, user } => {
            let created = service
                .create_token_for(user.as_deref(), &name)
                .await
                .context("cannot create the token")?;
            if args.json {
                outln!("{}", serde_json::to_string_pretty(&created)?)?;
            } else {
                outln!("{}", created.token)?;
                eprintln!(
                    "Token `{}` created ({}); it is shown only now. Send it as \
                     `Authorization: Bearer …`.",
                    created.info.name, created.info.id
                );
            }
            Ok(())
        }
        TokenCommand::List => list(&service, args.json).await,
        TokenCommand::Revoke { name_or_id } => {
            let revoked = service
                .revoke_token(&name_or_id, None)
                .await
                .context("cannot revoke the token")?;
            if args.json {
                outln!("{}", serde_json::to_string_pretty(&revoked)?)?;
            } else {
                outln!("Token `{}` ({}) revoked.", revoked.name, revoked.id)?;
            }
            Ok(())
        }
    };
    store.close().await;
    result
}

async fn list(service: &Service, json: bool) -> anyhow::Result<()> {
    let mut tokens = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = service.tokens(200, cursor.as_deref(), None).await?;
        tokens.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    if json {
        outln!("{}", serde_json::to_string_pretty(&tokens)?)?;
        return Ok(());
    }
    if tokens.is_empty() {
        outln!("No live tokens; `tether token create NAME` makes one.")?;
        return Ok(());
    }
    outln!(
        "{:<22} {:<24} {:<14} {:<26} LAST USED",
        "ID",
        "NAME",
        "PREFIX",
        "CREATED"
    )?;
    for token in tokens {
        outln!(
            "{:<22} {:<24} {:<14} {:<26} {}",
            token.id,
            token.name,
            token.prefix,
            token.created_at,
            token.last_used_at.as_deref().unwrap_or("never")
        )?;
    }
    Ok(())
}
