//! Tests of the `calendars` area (being written).
