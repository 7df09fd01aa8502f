//! What the `tether` benches share: child processes of the `tether` binary and fresh PostgreSQL
//! databases.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A child process, killed when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `tether ARGS` and answers it with the URL its banner names.
pub fn start(args: &[&str], banner: &str) -> (Process, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the tether binary runs");
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("the process prints a banner")
            .expect("utf-8");
        if let Some(url) = line.strip_prefix(banner) {
            break url.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (Process(child), url)
}

/// A fresh PostgreSQL database made through `admin`: its URL and name.
pub async fn new_database(admin: &str) -> (String, String) {
    use sqlx::Connection;
    let name = format!("tether_bench_{}_{}", std::process::id(), fastrand::u32(..));
    let mut connection = sqlx::PgConnection::connect(admin)
        .await
        .unwrap_or_else(|error| panic!("PostgreSQL at {admin}: {error}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut connection)
        .await
        .expect("a database");
    let (base, _) = admin
        .rsplit_once('/')
        .expect("an admin URL names a database");
    (format!("{base}/{name}"), name)
}

/// Drops the database `name`, whoever is still connected.
pub async fn drop_database(admin: &str, name: &str) {
    use sqlx::Connection;
    if let Ok(mut connection) = sqlx::PgConnection::connect(admin).await {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut connection)
        .await;
    }
}
