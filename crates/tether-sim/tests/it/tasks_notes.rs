//! Tests of the `tasks_notes` area (being written).
