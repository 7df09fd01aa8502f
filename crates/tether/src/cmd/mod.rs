//! One module per subcommand.

pub mod call;
pub mod catalog;
pub mod completions;
pub mod config;
pub mod connect;
pub mod connections;
pub mod data;
pub mod demo;
pub mod dlq;
pub mod flows;
pub mod run;
pub mod runs;
pub mod serve;
pub mod sim;
