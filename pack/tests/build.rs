//! `build` against real directories: determinism, selection rules, streaming, and the
//! archive read back with the tar crate and with `packyard_core::archive`.

// Helpers outside `#[test]` functions unwrap too: any setup failure should fail the test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use packyard_core::PackagingManifest;
use packyard_core::archive::{MANIFEST_ENTRY_NAME, MAX_PREFIX_LEN, embedded_manifest};
use packyard_pack::{BuildError, NoProgress, Progress, SelectorProblem, build};
use tempfile::TempDir;

/// A source tree with a manifest, in its own temporary directory.
struct Source {
    dir: TempDir,
}

impl Source {
    fn new(selectors: &str) -> Self {
        let source = Source {
            dir: TempDir::new().unwrap(),
        };
        source.manifest(selectors);
        source
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn manifest(&self, selectors: &str) {
        self.write(
            "Manifest.json",
            format!(
                r#"{{"assetPackID":"level-2","downloadPolicy":{{"onDemand":{{}}}},"fileSelectors":{selectors}}}"#
            )
            .as_bytes(),
        );
    }

    fn write(&self, path: &str, contents: &[u8]) -> PathBuf {
        let p = self.root().join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, contents).unwrap();
        p
    }

    fn build_to(&self, out: &Path) -> Result<packyard_pack::BuildSummary, BuildError> {
        build(&self.root().join("Manifest.json"), None, out, NoProgress)
    }
}

/// The standard tree: a file at the top and a nested directory.
fn level_source() -> Source {
    let s = Source::new(r#"[{"file":"intro.m4v"},{"directory":"Textures"}]"#);
    s.write("intro.m4v", b"intro video");
    s.write("Textures/b.png", b"bee");
    s.write("Textures/a.png", b"ay");
    s.write("Textures/HD/z.ktx", b"zed zed");
    s.write("Textures/HD/deeper/still/x.bin", &[0u8, 1, 2, 255]);
    s.write("not-selected.txt", b"left out");
    s
}

/// Entries of an archive: path → (mode, mtime, uid, gid, contents).
fn entries(archive: &Path) -> Vec<(String, u32, u64, u64, u64, Vec<u8>)> {
    let mut a = tar::Archive::new(fs::File::open(archive).unwrap());
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let h = e.header().clone();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            let path = e.path().unwrap().to_str().unwrap().to_owned();
            (
                path,
                h.mode().unwrap(),
                h.mtime().unwrap(),
                h.uid().unwrap(),
                h.gid().unwrap(),
                data,
            )
        })
        .collect()
}

fn paths(archive: &Path) -> Vec<String> {
    entries(archive).into_iter().map(|e| e.0).collect()
}

fn selection_problems(err: BuildError) -> Vec<(String, SelectorProblem)> {
    match err {
        BuildError::Selection(errors) => errors
            .into_iter()
            .map(|e| (e.selector, e.problem))
            .collect(),
        other => panic!("expected selector errors, got {other}"),
    }
}

#[test]
fn building_twice_gives_identical_bytes() {
    let s = level_source();
    let out = TempDir::new().unwrap();
    let (a, b) = (out.path().join("a.pack"), out.path().join("b.pack"));
    let first = s.build_to(&a).unwrap();
    let second = s.build_to(&b).unwrap();
    assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
    assert_eq!(first.archive_hash, second.archive_hash);
    assert_eq!(
        first.archive_hash.as_bytes(),
        blake3::hash(&fs::read(&a).unwrap()).as_bytes()
    );
    assert_eq!(first.archive_bytes, fs::metadata(&a).unwrap().len());
    assert_eq!(first.files, 5);
    assert_eq!(first.content_bytes, 11 + 3 + 2 + 7 + 4);
}

#[test]
fn a_moved_source_with_other_mtimes_gives_identical_bytes() {
    let s = level_source();
    let out = TempDir::new().unwrap();
    let before = out.path().join("before.pack");
    s.build_to(&before).unwrap();

    // Same contents written afresh (new mtimes, new inodes) under another directory name.
    let elsewhere = TempDir::new().unwrap();
    let moved = elsewhere.path().join("renamed-source");
    fs::rename(s.root(), &moved)
        .or_else(|_| copy_tree(s.root(), &moved))
        .unwrap();
    fs::write(moved.join("intro.m4v"), b"intro video").unwrap();
    let after = out.path().join("after.pack");
    build(&moved.join("Manifest.json"), None, &after, NoProgress).unwrap();
    assert_eq!(fs::read(&before).unwrap(), fs::read(&after).unwrap());
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in walkdir_like(from) {
        let target = to.join(entry.strip_prefix(from).unwrap());
        fs::create_dir_all(target.parent().unwrap())?;
        fs::copy(&entry, target)?;
    }
    Ok(())
}

fn walkdir_like(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files.extend(walkdir_like(&p));
        } else {
            files.push(p);
        }
    }
    files
}

#[test]
fn archive_has_the_manifest_first_then_sorted_files_with_fixed_metadata() {
    let s = level_source();
    let out = TempDir::new().unwrap();
    let a = out.path().join("level.pack");
    let summary = s.build_to(&a).unwrap();
    let entries = entries(&a);
    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            MANIFEST_ENTRY_NAME,
            "Textures/HD/deeper/still/x.bin",
            "Textures/HD/z.ktx",
            "Textures/a.png",
            "Textures/b.png",
            "intro.m4v",
        ]
    );
    for (path, mode, mtime, uid, gid, data) in &entries {
        assert_eq!((*mode, *mtime, *uid, *gid), (0o644, 0, 0, 0), "{path}");
        if path != MANIFEST_ENTRY_NAME {
            assert_eq!(data, &fs::read(s.root().join(path)).unwrap(), "{path}");
        }
    }
    assert_eq!(
        entries[0].5,
        summary.manifest.to_canonical_json().into_bytes()
    );
}

#[test]
fn the_manifest_is_found_in_the_archive_prefix() {
    let s = level_source();
    let out = TempDir::new().unwrap();
    let a = out.path().join("level.pack");
    let summary = s.build_to(&a).unwrap();
    let bytes = fs::read(&a).unwrap();
    let prefix = &bytes[..bytes.len().min(MAX_PREFIX_LEN)];
    let found = embedded_manifest(prefix)
        .unwrap()
        .expect("a Packyard archive");
    let parsed = PackagingManifest::parse(found).unwrap();
    assert!(parsed.warnings.is_empty());
    assert_eq!(parsed.manifest, summary.manifest);
    // The source manifest itself is not selected, so it is not in the archive twice.
    assert!(!paths(&a).contains(&"Manifest.json".to_owned()));
}

#[test]
fn executables_keep_an_execute_mode() {
    use std::os::unix::fs::PermissionsExt;
    let s = Source::new(r#"[{"file":"tool.sh"}]"#);
    let p = s.write("tool.sh", b"#!/bin/sh\n");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o700)).unwrap();
    let out = TempDir::new().unwrap();
    let a = out.path().join("t.pack");
    s.build_to(&a).unwrap();
    assert_eq!(entries(&a)[1].1, 0o755);
}

#[test]
fn files_selected_twice_are_packed_once() {
    let s = Source::new(r#"[{"directory":"T"},{"file":"T/a"},{"file":"./T//a"}]"#);
    s.write("T/a", b"a");
    let out = TempDir::new().unwrap();
    let a = out.path().join("t.pack");
    assert_eq!(s.build_to(&a).unwrap().files, 1);
    assert_eq!(paths(&a), [MANIFEST_ENTRY_NAME, "T/a"]);
}

#[test]
fn an_explicit_root_replaces_the_manifest_directory() {
    let s = Source::new(r#"[{"file":"a.txt"}]"#);
    let data = TempDir::new().unwrap();
    fs::write(data.path().join("a.txt"), b"from the other root").unwrap();
    let out = TempDir::new().unwrap();
    let a = out.path().join("t.pack");
    build(
        &s.root().join("Manifest.json"),
        Some(data.path()),
        &a,
        NoProgress,
    )
    .unwrap();
    assert_eq!(entries(&a)[1].5, b"from the other root");
}

#[test]
fn long_paths_use_gnu_long_names() {
    let long = format!("{}/{}.bin", "d".repeat(120), "f".repeat(150));
    let s = Source::new(r#"[{"directory":"."}]"#);
    s.write(&long, b"deep");
    let out = TempDir::new().unwrap();
    let a = out.path().join("t.pack");
    s.build_to(&a).unwrap();
    assert_eq!(paths(&a), [MANIFEST_ENTRY_NAME, "Manifest.json", &long]);
}

// --- refusals ---

#[test]
fn parent_and_absolute_selectors_are_refused_by_the_manifest_check() {
    for selector in [r#"{"file":"../outside"}"#, r#"{"directory":"/etc"}"#] {
        let s = Source::new(&format!("[{selector}]"));
        let out = TempDir::new().unwrap();
        match s.build_to(&out.path().join("t.pack")) {
            Err(BuildError::Manifest { errors, .. }) => {
                assert!(
                    errors.has("fileSelectors[0].file") || errors.has("fileSelectors[0].directory")
                )
            }
            other => panic!("{selector}: {other:?}"),
        }
    }
}

#[test]
fn a_file_link_leaving_the_root_is_refused() {
    let outside = TempDir::new().unwrap();
    fs::write(outside.path().join("secret"), b"no").unwrap();
    let s = Source::new(r#"[{"file":"link"}]"#);
    std::os::unix::fs::symlink(outside.path().join("secret"), s.root().join("link")).unwrap();
    let out = TempDir::new().unwrap();
    let problems = selection_problems(s.build_to(&out.path().join("t.pack")).unwrap_err());
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].0, "fileSelectors[0] (file \"link\")");
    assert!(matches!(problems[0].1, SelectorProblem::OutsideRoot { .. }));
}

#[test]
fn a_link_leaving_the_root_inside_a_directory_is_refused_and_named() {
    let outside = TempDir::new().unwrap();
    fs::write(outside.path().join("secret"), b"no").unwrap();
    let s = Source::new(r#"[{"directory":"T"}]"#);
    s.write("T/ok", b"ok");
    std::os::unix::fs::symlink(outside.path(), s.root().join("T/escape")).unwrap();
    let out = TempDir::new().unwrap();
    let err = s.build_to(&out.path().join("t.pack")).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("T/escape"), "{text}");
    assert!(text.contains("outside the source root"), "{text}");
    assert!(!out.path().join("t.pack").exists());
}

#[test]
fn links_inside_the_root_are_followed() {
    let s = Source::new(r#"[{"directory":"T"},{"file":"alias"}]"#);
    s.write("data/real", b"real");
    fs::create_dir_all(s.root().join("T")).unwrap();
    std::os::unix::fs::symlink(s.root().join("data"), s.root().join("T/linked")).unwrap();
    std::os::unix::fs::symlink("data/real", s.root().join("alias")).unwrap();
    let out = TempDir::new().unwrap();
    let a = out.path().join("t.pack");
    s.build_to(&a).unwrap();
    assert_eq!(paths(&a), [MANIFEST_ENTRY_NAME, "T/linked/real", "alias"]);
}

#[test]
fn a_link_loop_is_refused() {
    let s = Source::new(r#"[{"directory":"T"}]"#);
    s.write("T/a", b"a");
    std::os::unix::fs::symlink(s.root().join("T"), s.root().join("T/again")).unwrap();
    let out = TempDir::new().unwrap();
    let problems = selection_problems(s.build_to(&out.path().join("t.pack")).unwrap_err());
    assert!(
        problems
            .iter()
            .any(|p| matches!(p.1, SelectorProblem::Loop(_))),
        "{problems:?}"
    );
}

#[test]
fn selectors_that_match_nothing_or_the_wrong_kind_are_refused() {
    let s = Source::new(
        r#"[{"file":"missing"},{"file":"D"},{"directory":"f"},{"directory":"Empty"},{"directory":"D"}]"#,
    );
    s.write("f", b"f");
    s.write("D/x", b"x");
    fs::create_dir_all(s.root().join("Empty/sub")).unwrap();
    let out = TempDir::new().unwrap();
    let problems = selection_problems(s.build_to(&out.path().join("t.pack")).unwrap_err());
    let kinds: Vec<String> = problems
        .iter()
        .map(|(sel, p)| format!("{sel}: {p}"))
        .collect();
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    assert!(matches!(problems[0].1, SelectorProblem::NotFound));
    assert!(matches!(problems[1].1, SelectorProblem::IsDirectory));
    assert!(matches!(problems[2].1, SelectorProblem::NotDirectory));
    assert!(matches!(problems[3].1, SelectorProblem::Empty));
}

#[test]
fn an_empty_selector_list_is_refused() {
    let s = Source::new("[]");
    let out = TempDir::new().unwrap();
    let err = s.build_to(&out.path().join("t.pack")).unwrap_err();
    assert!(matches!(err, BuildError::NoSelectors(_)), "{err}");
}

#[test]
fn a_file_named_like_the_embedded_manifest_is_refused() {
    let s = Source::new(r#"[{"directory":"."}]"#);
    s.write(MANIFEST_ENTRY_NAME, b"{}");
    let out = TempDir::new().unwrap();
    let problems = selection_problems(s.build_to(&out.path().join("t.pack")).unwrap_err());
    assert!(matches!(problems[0].1, SelectorProblem::ReservedName));
}

#[test]
fn writing_the_archive_into_its_own_selection_is_refused() {
    let s = Source::new(r#"[{"directory":"."}]"#);
    s.write("a", b"a");
    let out = s.root().join("self.pack");
    s.build_to(&out).unwrap();
    let err = s.build_to(&out).unwrap_err();
    assert!(matches!(err, BuildError::OutputSelected(_)), "{err}");
}

#[test]
fn a_failed_build_leaves_the_previous_output_and_no_temporary_file() {
    let s = level_source();
    let out = TempDir::new().unwrap();
    let a = out.path().join("level.pack");
    s.build_to(&a).unwrap();
    let good = fs::read(&a).unwrap();
    fs::remove_file(s.root().join("intro.m4v")).unwrap();
    s.build_to(&a).unwrap_err();
    assert_eq!(fs::read(&a).unwrap(), good);
    let left: Vec<_> = fs::read_dir(out.path()).unwrap().collect();
    assert_eq!(left.len(), 1);
}

#[test]
fn an_invalid_manifest_reports_each_field() {
    let s = Source::new("[]");
    s.write(
        "Manifest.json",
        br#"{"assetPackID":"a_b","downloadPolicy":{},"fileSelectors":[{"file":""}]}"#,
    );
    let out = TempDir::new().unwrap();
    let text = s
        .build_to(&out.path().join("t.pack"))
        .unwrap_err()
        .to_string();
    for field in ["assetPackID:", "downloadPolicy:", "fileSelectors[0].file:"] {
        assert!(text.contains(field), "{text}");
    }
}

// --- scale ---

#[test]
fn three_thousand_small_files() {
    let s = Source::new(r#"[{"directory":"many"}]"#);
    for i in 0..3000 {
        s.write(
            &format!("many/{:02}/{i:05}.dat", i % 30),
            i.to_string().as_bytes(),
        );
    }
    let out = TempDir::new().unwrap();
    let a = out.path().join("many.pack");
    let summary = s.build_to(&a).unwrap();
    assert_eq!(summary.files, 3000);
    let e = entries(&a);
    assert_eq!(e.len(), 3001);
    let mut sorted: Vec<&String> = e.iter().map(|e| &e.0).skip(1).collect();
    sorted.sort();
    assert!(e.iter().skip(1).map(|e| &e.0).eq(sorted.into_iter()));
    assert_eq!(e[1].5, b"0");
}

/// Counts progress, to show that every byte is reported.
#[derive(Default)]
struct Count {
    total: u64,
    seen: u64,
    finished: bool,
}

impl Progress for Count {
    fn start(&mut self, total: u64) {
        self.total = total;
    }
    fn advance(&mut self, bytes: u64) {
        self.seen += bytes;
    }
    fn finish(&mut self) {
        self.finished = true;
    }
}

#[test]
fn a_large_file_is_streamed() {
    const LEN: u64 = 300 << 20;
    let s = Source::new(r#"[{"file":"big.bin"},{"file":"tail.txt"}]"#);
    let big = fs::File::create(s.root().join("big.bin")).unwrap();
    big.set_len(LEN).unwrap();
    s.write("tail.txt", b"after the big one");
    let out = TempDir::new().unwrap();
    let a = out.path().join("big.pack");
    let mut count = Count::default();
    let summary = build(&s.root().join("Manifest.json"), None, &a, &mut count).unwrap();
    assert_eq!(
        (count.total, count.seen, count.finished),
        (LEN + 17, LEN + 17, true)
    );
    assert_eq!(summary.archive_bytes, fs::metadata(&a).unwrap().len());
    // Read the entries back without holding the big one in memory.
    let mut archive = tar::Archive::new(fs::File::open(&a).unwrap());
    let mut sizes = BTreeMap::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_str().unwrap().to_owned();
        let n = std::io::copy(&mut e, &mut std::io::sink()).unwrap();
        sizes.insert(path, n);
    }
    assert_eq!(sizes["big.bin"], LEN);
    assert_eq!(sizes["tail.txt"], 17);
}
