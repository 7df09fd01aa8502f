//! Tests of the `search` area (being written).
