//! What `tether serve` and `tether demo` say about signing in: where the server listens and,
//! on first start, the one-time setup URL; the demo's one-time login link.

use std::net::SocketAddr;

use tether_service::Service;
use tether_service::accounts::NewAccount;

use crate::out::say;

/// Says who can reach the server and, while no owner exists, prints a new setup URL (each start
/// prints a fresh one; the earlier one stops working).
pub async fn announce(service: &Service, addr: SocketAddr) -> anyhow::Result<()> {
    if addr.ip().is_loopback() {
        say!(
            "  listening on {} only (this machine); `--listen 0.0.0.0:8800` accepts other machines: \
             put TLS in front",
            addr.ip()
        );
    } else {
        say!(
            "  listening on {addr}: reachable from other machines; serve them through TLS (a \
             reverse proxy) and set the public URL"
        );
    }
    if let Some(token) = service.issue_setup_token().await? {
        let url = rebase(service, service.setup_url(&token), addr);
        say!("  first start: no owner yet; create one (single use, 24 h) at");
        say!("  setup: {url}");
        let api = rebase(service, service.settings().public_url.clone(), addr);
        say!(
            "  (or from a shell: curl -H 'Content-Type: application/json' -d \
             '{{\"token\": \"{token}\", \"email\": \"you@example.com\", \"password\": \"…\"}}' \
             {}api/v1/auth/setup)",
            api.as_str()
        );
    } else {
        say!(
            "  accounts: sign in with e-mail and password; scripts use `tether token create NAME`"
        );
    }
    Ok(())
}

/// Creates a throwaway owner for the demo (a random password nobody sees) and answers a
/// one-time login link that signs them in, valid 15 minutes.
pub async fn demo_login(service: &Service, addr: SocketAddr) -> anyhow::Result<url::Url> {
    const EMAIL: &str = "demo@tether.invalid";
    if service.store().user_with_password(EMAIL).await?.is_none() {
        service
            .create_account(NewAccount {
                email: EMAIL.to_owned(),
                password: tether_service::accounts::generate_password(),
                display_name: Some("Demo".to_owned()),
                role: tether_store::Role::Owner,
            })
            .await?;
    }
    let token = service.create_login_link(EMAIL).await?;
    Ok(rebase(service, service.login_url(&token), addr))
}

/// `url` on the address the server is bound to, when the public URL is still the default
/// (`http://127.0.0.1:8800`) and the server listens elsewhere: a link that works.
fn rebase(service: &Service, mut url: url::Url, addr: SocketAddr) -> url::Url {
    if service.settings().public_url == tether_service::Settings::default().public_url {
        let host = match addr.ip() {
            ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        let _ = url.set_host(Some(&host));
        let _ = url.set_port(Some(addr.port()));
    }
    url
}
