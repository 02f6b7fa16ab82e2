//! `p2pchat-bench`: see `bench/README.md`.
fn main() {}
