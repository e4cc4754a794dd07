#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `ToText`, the text form `save_as_text_file` writes: it promises Spark's (Scala's/Java's)
//! `toString` so that output files match Spark's.

use sluice_core::{Context, ToText};

#[test]
fn forms_that_match_scala() {
    assert_eq!(("word".to_string(), 3i64).to_text(), "(word,3)");
    assert_eq!((1u8, ('c', true)).to_text(), "(1,(c,true))");
    assert_eq!((1, 2, 3, 4, 5).to_text(), "(1,2,3,4,5)");
    assert_eq!(Some(Some(2)).to_text(), "Some(Some(2))");
    assert_eq!(None::<u8>.to_text(), "None");
    assert_eq!(().to_text(), "()");
    assert_eq!((-7i32).to_text(), "-7");
    assert_eq!(u64::MAX.to_text(), "18446744073709551615");
    assert_eq!(1.0f64.to_text(), "1.0");
    assert_eq!((-2.0f64).to_text(), "-2.0");
    assert_eq!(0.0f64.to_text(), "0.0");
    assert_eq!(0.25f64.to_text(), "0.25");
    assert_eq!(123.5f64.to_text(), "123.5");
    assert_eq!(0.001f64.to_text(), "0.001");
    assert_eq!(9_999_999.0f64.to_text(), "9999999.0");
    assert_eq!(f64::NAN.to_text(), "NaN");
    assert_eq!(1.5f32.to_text(), "1.5");
    // Sequences use Python's form (documented: Scala prints arrays as addresses).
    assert_eq!(vec![1, 2].to_text(), "[1, 2]");
    assert_eq!(Vec::<u8>::new().to_text(), "[]");
    assert_eq!(vec![("a", 1)].to_text(), "[(a,1)]");
    let boxed: Box<str> = "boxed".into();
    assert_eq!(boxed.to_text(), "boxed");
    assert_eq!(std::sync::Arc::new(5u8).to_text(), "5");
}

#[test]
fn f32_prints_its_own_shortest_form() {
    assert_eq!(0.1f32.to_text(), "0.1");
    assert_eq!(3.3f32.to_text(), "3.3");
    assert_eq!((1u8, 0.7f32).to_text(), "(1,0.7)");
}

#[test]
fn infinities_print_like_scala() {
    assert_eq!(f64::INFINITY.to_text(), "Infinity");
    assert_eq!(f64::NEG_INFINITY.to_text(), "-Infinity");
    assert_eq!(f32::INFINITY.to_text(), "Infinity");
}

#[test]
fn large_and_small_doubles_use_scientific_notation_like_scala() {
    assert_eq!(1e7f64.to_text(), "1.0E7");
    assert_eq!(12_345_678.9f64.to_text(), "1.23456789E7");
    assert_eq!(1.5e-5f64.to_text(), "1.5E-5");
    assert_eq!(1e20f64.to_text(), "1.0E20");
    assert_eq!((-2.5e-4f64).to_text(), "-2.5E-4");
}

#[test]
fn saved_files_use_the_text_forms() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let ctx = Context::local(2).unwrap();
    ctx.parallelize(vec![(1u8, 0.5f64), (2, 3.0), (3, f64::NAN)], 1)
        .save_as_text_file(&out)
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(out.join("part-00000")).unwrap(),
        "(1,0.5)\n(2,3.0)\n(3,NaN)\n"
    );
}
