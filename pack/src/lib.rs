//! The packaging tool behind `packyard pack`: reads a packaging manifest, collects the files
//! its selectors name, and writes a deterministic archive with the manifest inside.
