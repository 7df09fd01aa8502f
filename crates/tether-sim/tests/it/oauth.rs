//! Tests of the `oauth` area (being written).
