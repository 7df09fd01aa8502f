//! Tests of the `contacts` area (being written).
