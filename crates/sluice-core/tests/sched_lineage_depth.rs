#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Lineage depth: a job whose tasks would chain more narrow operations than
//! `sluice.lineage.maxDepth` is refused with an error (instead of overflowing a worker's
//! stack, which aborts the process); persisting and materializing part-way cuts the chain.

use sluice_core::{Conf, Context, Rdd};

fn ctx(max_depth: &str) -> Context {
    Context::new(
        Conf::new()
            .set_master("local[2]")
            .set("sluice.lineage.maxDepth", max_depth),
    )
    .unwrap()
}

fn chain(rdd: &Rdd<i64>, n: usize) -> Rdd<i64> {
    let mut r = rdd.clone();
    for _ in 0..n {
        r = r.map(|x| x + 1);
    }
    r
}

#[test]
fn a_chain_up_to_the_limit_runs_and_a_longer_one_is_refused() {
    let ctx = ctx("50");
    let base = ctx.parallelize((0..10i64).collect::<Vec<_>>(), 2);
    // The source plus 49 maps: 50 narrow levels.
    assert_eq!(chain(&base, 49).collect().unwrap()[0], 49);
    let err = chain(&base, 50).count().unwrap_err().to_string();
    assert!(err.contains("51 narrow operations"), "{err}");
    assert!(err.contains("sluice.lineage.maxDepth = 50"), "{err}");
}

#[test]
fn the_map_side_of_a_shuffle_is_checked_too() {
    let ctx = ctx("20");
    let base = ctx.parallelize((0..10i64).collect::<Vec<_>>(), 2);
    let deep = chain(&base, 30)
        .map(|x| (x % 3, 1i64))
        .reduce_by_key(|a, b| a + b);
    let err = deep.collect().unwrap_err().to_string();
    assert!(err.contains("narrow operations"), "{err}");
}

#[test]
fn persisting_and_materializing_part_way_cuts_the_chain() {
    let ctx = ctx("50");
    let base = ctx.parallelize((0..10i64).collect::<Vec<_>>(), 2);
    let middle = chain(&base, 40).cache();
    assert_eq!(middle.count().unwrap(), 10);
    let top = chain(&middle, 40);
    assert_eq!(top.collect().unwrap()[0], 80);
}

#[test]
fn a_bad_limit_is_a_configuration_error() {
    for bad in ["0", "-3", "deep"] {
        let err = Context::new(Conf::new().set("sluice.lineage.maxDepth", bad))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("sluice.lineage.maxDepth"), "{bad}: {err}");
    }
}

#[test]
fn the_depth_is_the_longest_path_through_a_diamond() {
    // source → 30 maps ┐
    // source → 10 maps ┴ union: the longest path is 1 + 30 + 1 = 32 levels.
    let run = |limit: &str| {
        let ctx = ctx(limit);
        let base = ctx.parallelize((0..10i64).collect::<Vec<_>>(), 2);
        chain(&base, 30).union(&chain(&base, 10)).count()
    };
    assert_eq!(run("32").unwrap(), 20);
    assert!(run("31").is_err());
}

#[test]
fn a_very_long_lineage_is_refused_and_dropped_without_overflowing_a_small_stack() {
    let ctx = ctx("5000");
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let base = ctx.parallelize(vec![1i64], 1);
            let deep = chain(&base, 200_000);
            let err = deep.count().unwrap_err().to_string();
            assert!(err.contains("200001 narrow operations"), "{err}");
            drop(deep);
            // The source is still usable after its descendants are gone.
            assert_eq!(base.count().unwrap(), 1);
        })
        .unwrap()
        .join()
        .unwrap();
}
