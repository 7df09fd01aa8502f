//! Tests of the `seed` area (being written).
