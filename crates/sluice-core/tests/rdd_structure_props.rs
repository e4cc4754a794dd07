#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Property tests of the operations that rearrange partitions: `coalesce`, `union`,
//! `zip_with_index`, `cartesian`, `repartition` (partition count and balance) and `glom`.

use std::fmt::Debug;

use proptest::prelude::*;

mod common;
use common::{config, ctx, input_with, Input};

/// This file's inputs: up to `max_len` records flat or a quarter of that per partition, 1 in 4
/// partitions empty.
fn input<T: Clone + Debug + 'static>(
    elem: impl Strategy<Value = T> + Clone + 'static,
    max_len: usize,
) -> impl Strategy<Value = Input<T>> {
    input_with(elem, max_len, max_len / 4 + 1, 1)
}

fn ints() -> impl Strategy<Value = Input<i32>> {
    input(-1000i32..1000, 80)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parallelize_slices_contiguously(v in prop::collection::vec(any::<i32>(), 0..80), n in 1usize..=8) {
        let parts = ctx().parallelize(v.clone(), n).collect_partitions().unwrap();
        prop_assert_eq!(parts.len(), n);
        // Spark's slicing: partition i holds [i*len/n, (i+1)*len/n).
        for (i, p) in parts.iter().enumerate() {
            let (lo, hi) = (i * v.len() / n, (i + 1) * v.len() / n);
            prop_assert_eq!(p.as_slice(), &v[lo..hi]);
        }
    }

    #[test]
    fn coalesce_merges_contiguous_partitions(inp in ints(), n in 1usize..=10) {
        let rdd = inp.rdd();
        let c = rdd.coalesce(n);
        prop_assert_eq!(c.num_partitions(), n.min(rdd.num_partitions()));
        // Contiguous groups: the records keep their collect order.
        prop_assert_eq!(c.collect().unwrap(), inp.all());
        prop_assert_eq!(c.count().unwrap(), inp.all().len() as u64);
    }

    #[test]
    fn union_concatenates_partitions(a in ints(), b in ints()) {
        let (ra, rb) = (a.rdd(), b.rdd());
        let u = ra.union(&rb);
        prop_assert_eq!(u.num_partitions(), ra.num_partitions() + rb.num_partitions());
        let mut want = a.all();
        want.extend(b.all());
        prop_assert_eq!(u.collect().unwrap(), want.clone());
        let mut parts = ra.collect_partitions().unwrap();
        parts.extend(rb.collect_partitions().unwrap());
        prop_assert_eq!(u.collect_partitions().unwrap(), parts);
        // The context-level union of three, one of them empty.
        let u3 = ctx().union(&[ra.clone(), ctx().empty(), rb.clone()]);
        prop_assert_eq!(u3.collect().unwrap(), want);
        // Union with itself keeps duplicates.
        prop_assert_eq!(ra.union(&ra).count().unwrap(), 2 * a.all().len() as u64);
    }

    #[test]
    fn zip_with_index_numbers_in_collect_order(inp in ints()) {
        let want: Vec<(i32, u64)> =
            inp.all().into_iter().zip(0u64..).collect();
        let z = inp.rdd().zip_with_index();
        prop_assert_eq!(z.num_partitions(), inp.rdd().num_partitions());
        prop_assert_eq!(z.collect().unwrap(), want.clone());
        // After a shuffle too (the order is the shuffled RDD's).
        let shuffled = inp.rdd().map(|x| (x, ())).partition_by(
            std::sync::Arc::new(sluice_core::HashPartitioner::new(3)),
        ).keys();
        let order = shuffled.collect().unwrap();
        let z = shuffled.zip_with_index().collect().unwrap();
        prop_assert_eq!(z, order.into_iter().zip(0u64..).collect::<Vec<_>>());
    }

    #[test]
    fn cartesian_pairs_every_record(a in input(0u8..50, 20), b in input(-5i8..5, 20)) {
        let (ra, rb) = (a.rdd(), b.rdd());
        let c = ra.cartesian(&rb);
        prop_assert_eq!(c.num_partitions(), ra.num_partitions() * rb.num_partitions());
        // Partition (i, j) pairs left partition i with right partition j.
        let mut want = Vec::new();
        for lp in ra.collect_partitions().unwrap() {
            for rp in rb.collect_partitions().unwrap() {
                for x in &lp {
                    for y in &rp {
                        want.push((*x, *y));
                    }
                }
            }
        }
        prop_assert_eq!(c.collect().unwrap(), want);
        prop_assert_eq!(
            c.count().unwrap(),
            (a.all().len() * b.all().len()) as u64
        );
    }

    #[test]
    fn repartition_gives_exactly_n_balanced_partitions(
        v in prop::collection::vec(any::<i16>(), 0..200),
        from in 1usize..=4,
        n in 1usize..=8,
    ) {
        let r = ctx().parallelize(v.clone(), from).repartition(n);
        let parts = r.collect_partitions().unwrap();
        prop_assert_eq!(parts.len(), n);
        // Each input partition deals round-robin, so no output partition gets more than
        // its share plus one per input partition.
        let most = parts.iter().map(Vec::len).max().unwrap_or(0);
        prop_assert!(most <= v.len() / n + from, "{most} records in one of {n} partitions");
        let mut got: Vec<i16> = parts.concat();
        let mut want = v;
        got.sort_unstable();
        want.sort_unstable();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn glom_gives_one_vector_per_partition(inp in ints()) {
        let rdd = inp.rdd();
        let g = rdd.glom().collect().unwrap();
        prop_assert_eq!(g.len(), rdd.num_partitions());
        prop_assert_eq!(g, rdd.collect_partitions().unwrap());
        if let Input::Parts(p) = &inp {
            prop_assert_eq!(rdd.glom().collect().unwrap(), p.clone());
        }
    }
}
