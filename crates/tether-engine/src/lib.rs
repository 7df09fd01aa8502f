//! Tether's engine: flows (the model, their YAML files and validation) and the expressions that
//! map a trigger's event and earlier steps' outputs into an action's input.
//!
//! Everything here is pure: no I/O other than reading a flow file, no async runtime.

pub mod expr;
pub mod flow;
