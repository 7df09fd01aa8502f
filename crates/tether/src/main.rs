//! The `tether` command line (being written).

fn main() {}
