//! `packyard pack` as a user runs it: a real binary, real files.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use packyard_core::PackagingManifest;
use tempfile::TempDir;

fn packyard() -> Command {
    Command::cargo_bin("packyard").unwrap()
}

fn source() -> TempDir {
    let dir = TempDir::new().unwrap();
    let write = |p: &str, b: &[u8]| {
        let p = dir.path().join(p);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, b).unwrap();
    };
    write(
        "manifest.json",
        br#"{"assetPackID":"level-2","downloadPolicy":{"prefetch":{"installationEventTypes":["firstInstallation"]}},
            "fileSelectors":[{"file":"intro.m4v"},{"directory":"Textures"}],"platforms":["iOS"],"x-note":1}"#,
    );
    write("intro.m4v", b"intro");
    write("Textures/a.png", b"a");
    write("Textures/HD/b.png", b"bb");
    dir
}

fn build(manifest: &Path, out: &Path) -> assert_cmd::assert::Assert {
    packyard()
        .args(["pack", "build"])
        .arg(manifest)
        .arg("-o")
        .arg(out)
        .assert()
}

#[test]
fn build_twice_gives_the_same_bytes_and_a_summary() {
    let src = source();
    let out = TempDir::new().unwrap();
    let (a, b) = (out.path().join("a.tar"), out.path().join("b.tar"));
    let first = build(&src.path().join("manifest.json"), &a).success();
    build(&src.path().join("manifest.json"), &b).success();
    assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());

    let stdout = String::from_utf8(first.get_output().stdout.clone()).unwrap();
    let hash = packyard_core::Blake3Hash::of(&fs::read(&a).unwrap()).to_hex();
    assert!(stdout.contains("files    3 "), "{stdout}");
    assert!(stdout.contains(&hash), "{stdout}");
    let stderr = String::from_utf8(first.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("warning: manifest [\"x-note\"]: unknown field"),
        "{stderr}"
    );
}

#[test]
fn a_bad_manifest_fails_with_each_field_named() {
    let src = TempDir::new().unwrap();
    let manifest = src.path().join("manifest.json");
    fs::write(
        &manifest,
        br#"{"assetPackID":"lev_el","downloadPolicy":{"prefetch":{"installationEventTypes":["firstInstallation","later"]}},
            "fileSelectors":[{"file":"a"},{"file":"b"},{"file":"/abs"}],"platforms":["Android"]}"#,
    )
    .unwrap();
    let out = src.path().join("out.tar");
    let assert = build(&manifest, &out).failure();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    for expected in [
        "assetPackID: contains '_' at position 3; only A-Z, a-z, 0-9, '.' and '-' are allowed",
        "downloadPolicy.prefetch.installationEventTypes[1]: unknown installation event type",
        "fileSelectors[2].file: \"/abs\" is an absolute path",
        "platforms[0]: unknown platform \"Android\"",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(!out.exists());
}

#[test]
fn a_missing_file_fails_naming_the_selector() {
    let src = source();
    fs::remove_file(src.path().join("intro.m4v")).unwrap();
    let out = src.path().join("out.tar");
    let assert = build(&src.path().join("manifest.json"), &out).failure();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("fileSelectors[0] (file \"intro.m4v\")")
            && stderr.contains("does not exist"),
        "{stderr}"
    );
}

#[test]
fn the_template_parses_and_builds() {
    let assert = packyard().args(["pack", "template"]).assert().success();
    let json = assert.get_output().stdout.clone();
    let parsed = PackagingManifest::parse(&json).unwrap();
    assert!(parsed.warnings.is_empty());
    let notes = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(notes.contains("downloadPolicy"), "{notes}");

    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("manifest.json"), &json).unwrap();
    fs::create_dir(dir.path().join("Assets")).unwrap();
    fs::write(dir.path().join("Assets/a.bin"), b"x").unwrap();
    build(
        &dir.path().join("manifest.json"),
        &dir.path().join("out.tar"),
    )
    .success();
}

#[test]
fn the_template_file_is_not_overwritten_without_force() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("manifest.json");
    fs::write(&file, b"mine").unwrap();
    let assert = packyard()
        .args(["pack", "template", "-o"])
        .arg(&file)
        .assert()
        .failure();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("pass --force"), "{stderr}");
    assert_eq!(fs::read(&file).unwrap(), b"mine");

    packyard()
        .args(["pack", "template", "--force", "-o"])
        .arg(&file)
        .assert()
        .success();
    PackagingManifest::parse(&fs::read(&file).unwrap()).unwrap();
}
