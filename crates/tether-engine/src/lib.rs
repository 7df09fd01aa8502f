//! Tether's engine: flows (the model, their YAML files and validation), the expressions that map
//! a trigger's event and earlier steps' outputs into an action's input, and the durable execution
//! of runs.
//!
//! `flow` and `expr` are pure (no I/O but reading a flow file). `worker` turns events into runs
//! (`intake`) and leases and executes them (`Worker`); `executor` runs one leased run step by step,
//! journaling each step after its effect and its link are written, so a retried run resumes after
//! its last finished step and never writes a target twice; `poller` runs polling triggers from
//! durable cursors; `scheduler` fires cron schedules once cluster-wide; `invoke` is the seam to the
//! connectors.

pub mod executor;
pub mod expr;
pub mod flow;
pub mod ghl_sync;
pub mod invoke;
pub mod poller;
pub mod scheduler;
pub mod sync;
pub mod worker;
