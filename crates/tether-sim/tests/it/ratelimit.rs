//! Tests of the `ratelimit` area (being written).
