//! Tests of the `webhooks` area (being written).
