#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `text_file` (single files, directories, globs, many splits, `\r\n`, errors) and
//! `save_as_text_file` (layout, Spark's text forms, existing targets, round trips).

use std::path::Path;

use proptest::prelude::*;
use sluice_core::Error;

mod common;
use common::ctx;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// The lines of the files in `dir` that `pattern` matches, read as one split.
fn glob_lines(dir: &Path, pattern: &str) -> Vec<String> {
    let pat = format!("{}/{pattern}", s(dir));
    ctx().text_file(&pat, 1).unwrap().collect().unwrap()
}

#[test]
fn single_file_lines() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a.txt");
    std::fs::write(&f, "one\ntwo\n\nfour").unwrap();
    let lines = ctx().text_file(s(&f), 1).unwrap();
    assert_eq!(
        lines.collect().unwrap(),
        strings(&["one", "two", "", "four"])
    );
    // A trailing newline does not make an extra empty line.
    std::fs::write(&f, "x\ny\n").unwrap();
    assert_eq!(
        ctx().text_file(s(&f), 3).unwrap().collect().unwrap(),
        strings(&["x", "y"])
    );
    // An empty file has no lines.
    std::fs::write(&f, "").unwrap();
    let empty = ctx().text_file(s(&f), 4).unwrap();
    assert_eq!(empty.count().unwrap(), 0);
    // A file of just a newline has one empty line.
    std::fs::write(&f, "\n").unwrap();
    assert_eq!(
        ctx().text_file(s(&f), 2).unwrap().collect().unwrap(),
        strings(&[""])
    );
}

#[test]
fn crlf_line_endings_are_stripped() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("dos.txt");
    std::fs::write(&f, "alpha\r\nbeta\r\n\r\ngamma\r\nlast").unwrap();
    for parts in [1, 2, 5, 40] {
        let lines = ctx().text_file(s(&f), parts).unwrap();
        assert_eq!(
            lines.collect().unwrap(),
            strings(&["alpha", "beta", "", "gamma", "last"]),
            "min_partitions {parts}"
        );
    }
    // A carriage return inside a line is kept.
    std::fs::write(&f, "a\rb\r\n").unwrap();
    assert_eq!(
        ctx().text_file(s(&f), 1).unwrap().collect().unwrap(),
        strings(&["a\rb"])
    );
}

#[test]
fn directory_reads_visible_files_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("b.txt"), "b1\nb2\n").unwrap();
    std::fs::write(d.join("a.txt"), "a1\n").unwrap();
    std::fs::write(d.join("c.log"), "c1").unwrap();
    std::fs::write(d.join(".hidden"), "hidden\n").unwrap();
    std::fs::write(d.join("_SUCCESS"), "").unwrap();
    std::fs::write(d.join("_metadata"), "meta\n").unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    std::fs::write(d.join("sub").join("nested.txt"), "nested\n").unwrap();
    let lines = ctx().text_file(s(d), 1).unwrap();
    assert_eq!(lines.collect().unwrap(), strings(&["a1", "b1", "b2", "c1"]));
    assert!(lines.num_partitions() >= 3, "at least one split per file");
}

#[test]
fn empty_directory_is_an_empty_rdd() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("_SUCCESS"), "").unwrap();
    let lines = ctx().text_file(s(dir.path()), 2).unwrap();
    assert_eq!(lines.count().unwrap(), 0);
}

#[test]
fn glob_patterns() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("x1.txt"), "one\n").unwrap();
    std::fs::write(d.join("x2.txt"), "two\n").unwrap();
    std::fs::write(d.join("y.txt"), "why\n").unwrap();
    std::fs::write(d.join("x3.csv"), "csv\n").unwrap();
    assert_eq!(glob_lines(d, "x*.txt"), strings(&["one", "two"]));
    assert_eq!(glob_lines(d, "*.txt"), strings(&["one", "two", "why"]));
    assert_eq!(glob_lines(d, "x[13].*"), strings(&["one", "csv"]));
    let pat = format!("{}/z*.txt", s(d));
    assert!(matches!(
        ctx().text_file(&pat, 1),
        Err(Error::InputNotFound(_))
    ));
}

#[test]
fn glob_skips_hidden_files_like_hadoop() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("part-00000"), "data\n").unwrap();
    std::fs::write(d.join(".part-00000.crc"), "crc\n").unwrap();
    std::fs::write(d.join("_metadata"), "meta\n").unwrap();
    assert_eq!(glob_lines(d, "*"), strings(&["data"]));
}

#[test]
fn missing_path_is_input_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope").join("file.txt");
    match ctx().text_file(s(&missing), 1) {
        Err(Error::InputNotFound(p)) => assert!(p.contains("nope"), "{p}"),
        other => panic!("expected InputNotFound, got {other:?}"),
    }
}

#[test]
fn invalid_utf8_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("latin1.txt");
    std::fs::write(&f, b"fine\ncaf\xe9\nok\n").unwrap();
    let err = ctx().text_file(s(&f), 1).unwrap().collect().unwrap_err();
    let text = err.to_string();
    assert!(text.contains("latin1.txt"), "{text}");
    assert!(text.contains("UTF-8"), "{text}");
    // The offset of the offending line.
    assert!(text.contains("byte 5"), "{text}");
    // Valid multi-byte characters are fine, even when a split boundary cuts through them.
    std::fs::write(&f, "héllo wörld\nçà et là\n日本語のテキスト\n").unwrap();
    for parts in [1, 3, 17, 60] {
        assert_eq!(
            ctx().text_file(s(&f), parts).unwrap().collect().unwrap(),
            strings(&["héllo wörld", "çà et là", "日本語のテキスト"]),
            "min_partitions {parts}"
        );
    }
}

#[test]
fn many_splits_read_every_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("long.txt");
    let lines: Vec<String> = (0..3000)
        .map(|i| format!("line {i} {}", "x".repeat(i % 37)))
        .collect();
    std::fs::write(&f, lines.join("\n") + "\n").unwrap();
    for parts in [1, 2, 7, 64, 500] {
        let rdd = ctx().text_file(s(&f), parts).unwrap();
        assert!(
            rdd.num_partitions() >= parts,
            "{} < {parts}",
            rdd.num_partitions()
        );
        assert_eq!(rdd.collect().unwrap(), lines, "min_partitions {parts}");
    }
}

#[test]
fn save_writes_parts_and_success_marker() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    ctx()
        .parallelize(vec![("a", 1), ("b", 2), ("c", 3)], 2)
        .save_as_text_file(&out)
        .unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["_SUCCESS", "part-00000", "part-00001"]);
    assert_eq!(
        std::fs::read_to_string(out.join("part-00000")).unwrap(),
        "(a,1)\n"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("part-00001")).unwrap(),
        "(b,2)\n(c,3)\n"
    );
    assert_eq!(std::fs::read_to_string(out.join("_SUCCESS")).unwrap(), "");
    // No temporary directory is left beside the output.
    let siblings: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(siblings.len(), 1);
}

#[test]
fn save_uses_spark_text_forms() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("forms");
    let records = vec![
        ("k".to_string(), (1i64, 2.0f64)),
        ("l".to_string(), (-3, 0.5)),
    ];
    ctx()
        .parallelize(records, 1)
        .save_as_text_file(&out)
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(out.join("part-00000")).unwrap(),
        "(k,(1,2.0))\n(l,(-3,0.5))\n"
    );
    let out = dir.path().join("options");
    ctx()
        .parallelize(vec![(1u8, Some(vec![1, 2])), (2, None)], 1)
        .save_as_text_file(&out)
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(out.join("part-00000")).unwrap(),
        "(1,Some([1, 2]))\n(2,None)\n"
    );
}

#[test]
fn save_into_an_existing_path_fails() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("exists");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "precious").unwrap();
    let err = ctx()
        .parallelize(vec![1, 2], 1)
        .save_as_text_file(&out)
        .unwrap_err();
    match err {
        Error::OutputExists(p) => assert_eq!(p, out),
        other => panic!("expected OutputExists, got {other:?}"),
    }
    assert_eq!(
        std::fs::read_to_string(out.join("keep.txt")).unwrap(),
        "precious"
    );
    // A file in the way too.
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    assert!(matches!(
        ctx().parallelize(vec![1], 1).save_as_text_file(&file),
        Err(Error::OutputExists(_))
    ));
    // Saving twice to a new path: the second fails.
    let fresh = dir.path().join("fresh");
    ctx()
        .parallelize(vec![1], 1)
        .save_as_text_file(&fresh)
        .unwrap();
    assert!(matches!(
        ctx().parallelize(vec![2], 1).save_as_text_file(&fresh),
        Err(Error::OutputExists(_))
    ));
    assert_eq!(
        std::fs::read_to_string(fresh.join("part-00000")).unwrap(),
        "1\n"
    );
}

#[test]
fn failed_save_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("broken");
    let err = ctx()
        .parallelize(vec![1, 2, 3, 4], 2)
        .map(|x| {
            if x == 4 {
                panic!("cannot format {x}");
            }
            x
        })
        .save_as_text_file(&out)
        .unwrap_err();
    assert!(matches!(err, Error::TaskFailed { .. }), "{err:?}");
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "temporary files removed"
    );
}

#[test]
fn save_then_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("words");
    let words: Vec<String> = (0..500).map(|i| format!("w{i}")).collect();
    ctx()
        .parallelize(words.clone(), 4)
        .save_as_text_file(&out)
        .unwrap();
    assert_eq!(
        ctx().text_file(s(&out), 1).unwrap().collect().unwrap(),
        words
    );
    assert_eq!(
        ctx().text_file(s(&out), 9).unwrap().collect().unwrap(),
        words
    );
    // An empty RDD saves as _SUCCESS only, and reads back empty.
    let empty_out = dir.path().join("empty");
    ctx()
        .empty::<String>()
        .save_as_text_file(&empty_out)
        .unwrap();
    assert!(empty_out.join("_SUCCESS").exists());
    assert_eq!(
        ctx().text_file(s(&empty_out), 2).unwrap().count().unwrap(),
        0
    );
    // Word count round trip.
    let counts_out = dir.path().join("counts");
    ctx()
        .text_file(s(&out), 3)
        .unwrap()
        .map(|w| (w.len(), 1u32))
        .reduce_by_key_into(2, |a, b| a + b)
        .save_as_text_file(&counts_out)
        .unwrap();
    let mut lines = ctx()
        .text_file(s(&counts_out), 1)
        .unwrap()
        .collect()
        .unwrap();
    lines.sort();
    assert_eq!(lines, strings(&["(2,10)", "(3,90)", "(4,400)"]));
}

fn line_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        4 => "[a-zé ]{1,30}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every line exactly once, in order, whatever the split size: lines cross split
    /// boundaries, splits start inside `\r\n`, empty lines sit on boundaries.
    #[test]
    fn every_line_exactly_once(
        files in prop::collection::vec(
            (prop::collection::vec(line_strategy(), 0..40), any::<bool>(), any::<bool>()),
            1..4,
        ),
        min_partitions in 1usize..80,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut want = Vec::new();
        for (i, (lines, crlf, trailing)) in files.iter().enumerate() {
            let sep = if *crlf { "\r\n" } else { "\n" };
            let mut text = lines.join(sep);
            if *trailing && !lines.is_empty() {
                text.push_str(sep);
            }
            // Without a trailing separator, a final empty line is no line at all.
            let mut expect = lines.clone();
            if !*trailing && expect.last().is_some_and(String::is_empty) {
                expect.pop();
            }
            want.extend(expect);
            std::fs::write(dir.path().join(format!("f{i:02}.txt")), text).unwrap();
        }
        let rdd = ctx().text_file(s(dir.path()), min_partitions).unwrap();
        prop_assert_eq!(rdd.collect().unwrap(), want.clone());
        prop_assert_eq!(rdd.count().unwrap(), want.len() as u64);
    }
}
