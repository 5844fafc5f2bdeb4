//! `packyard`: the one binary. Thin: it parses flags and calls the library crates.

fn main() {}
