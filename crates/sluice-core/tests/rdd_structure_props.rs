#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Property tests of the operations that rearrange partitions: `coalesce`, `union`,
//! `zip_with_index`, `cartesian`, `repartition` (partition count and balance) and `glom`.

use std::fmt::Debug;
use std::sync::OnceLock;

use proptest::prelude::*;
use sluice_core::{Context, Data, Rdd};

fn ctx() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| Context::local(2).unwrap())
}

#[derive(Debug, Clone)]
enum Input<T> {
    Flat(Vec<T>, usize),
    Parts(Vec<Vec<T>>),
}

impl<T: Data> Input<T> {
    fn rdd(&self) -> Rdd<T> {
        match self {
            Input::Flat(v, n) => ctx().parallelize(v.clone(), *n),
            Input::Parts(p) => ctx().parallelize_partitions(p.clone()),
        }
    }

    fn all(&self) -> Vec<T> {
        match self {
            Input::Flat(v, _) => v.clone(),
            Input::Parts(p) => p.concat(),
        }
    }
}

fn input<T: Clone + Debug + 'static>(
    elem: impl Strategy<Value = T> + Clone + 'static,
    max_len: usize,
) -> impl Strategy<Value = Input<T>> {
    let flat = (prop::collection::vec(elem.clone(), 0..max_len), 1usize..=8)
        .prop_map(|(v, n)| Input::Flat(v, n));
    let parts = prop::collection::vec(
        prop_oneof![
            1 => Just(Vec::new()),
            3 => prop::collection::vec(elem, 0..max_len / 4 + 1),
        ],
        1..=8,
    )
    .prop_map(Input::Parts);
    prop_oneof![flat, parts]
}

fn ints() -> impl Strategy<Value = Input<i32>> {
    input(-1000i32..1000, 80)
}

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(64)
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
