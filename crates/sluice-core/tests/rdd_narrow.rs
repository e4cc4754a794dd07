#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Narrow transformations with hand-computed expectations: `map`, `flat_map`, `filter`,
//! `map_partitions`, `map_partitions_with_index`, `glom`, `key_by`, `map_values`,
//! `flat_map_values`, `keys`, `values`, `sample`, and the sources `range`, `empty`,
//! `parallelize`.

use sluice_core::Rdd;

mod common;
use common::ctx;

fn nums(n: i32, parts: usize) -> Rdd<i32> {
    ctx().parallelize((1..=n).collect(), parts)
}

#[test]
fn map_flat_map_filter() {
    let r = nums(6, 3);
    assert_eq!(
        r.map(|x| x * 10).collect().unwrap(),
        vec![10, 20, 30, 40, 50, 60]
    );
    assert_eq!(
        r.map(|x| x.to_string()).collect().unwrap(),
        vec!["1", "2", "3", "4", "5", "6"]
    );
    assert_eq!(
        r.flat_map(|x| vec![x; (x % 3) as usize]).collect().unwrap(),
        vec![1, 2, 2, 4, 5, 5]
    );
    assert_eq!(r.filter(|x| x % 2 == 0).collect().unwrap(), vec![2, 4, 6]);
    assert_eq!(r.filter(|_| false).collect().unwrap(), Vec::<i32>::new());
    // Fused chain, partitions kept.
    let chain = r
        .map(|x| x + 1)
        .filter(|x| x % 3 != 0)
        .flat_map(|x| [x, -x]);
    assert_eq!(chain.num_partitions(), 3);
    assert_eq!(chain.collect().unwrap(), vec![2, -2, 4, -4, 5, -5, 7, -7]);
    assert_eq!(
        chain.collect_partitions().unwrap(),
        vec![vec![2, -2], vec![4, -4, 5, -5], vec![7, -7]]
    );
}

#[test]
fn map_partitions_and_with_index() {
    let r = nums(7, 3); // [1,2] [3,4] [5,6,7]
    let sums = r.map_partitions(|it| std::iter::once(it.sum::<i32>()));
    assert_eq!(sums.collect().unwrap(), vec![3, 7, 18]);
    let tagged = r.map_partitions_with_index(|i, it| it.map(move |x| (i, x)));
    assert_eq!(
        tagged.collect().unwrap(),
        vec![(0, 1), (0, 2), (1, 3), (1, 4), (2, 5), (2, 6), (2, 7)]
    );
    // A partition function may produce more or fewer records than it reads.
    let firsts = r.map_partitions(|mut it| it.next());
    assert_eq!(firsts.collect().unwrap(), vec![1, 3, 5]);
    let counts = ctx()
        .parallelize_partitions(vec![vec![1], vec![], vec![2, 3]])
        .map_partitions_with_index(|i, it| vec![(i, it.count())]);
    assert_eq!(counts.collect().unwrap(), vec![(0, 1), (1, 0), (2, 2)]);
}

#[test]
fn glom_shows_partitions_including_empty_ones() {
    assert_eq!(
        nums(5, 2).glom().collect().unwrap(),
        vec![vec![1, 2], vec![3, 4, 5]]
    );
    assert_eq!(
        nums(2, 4).glom().collect().unwrap(),
        vec![vec![], vec![1], vec![], vec![2]]
    );
    let big = ctx().parallelize((0..5000).collect::<Vec<u32>>(), 2).glom();
    let parts = big.collect().unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0], (0..2500).collect::<Vec<_>>());
    assert_eq!(parts[1], (2500..5000).collect::<Vec<_>>());
}

#[test]
fn key_value_narrow_operations() {
    let words = ctx().parallelize(vec!["apple", "bob", "cherry", "ax"], 2);
    let keyed = words.key_by(|w| w.len());
    assert_eq!(
        keyed.collect().unwrap(),
        vec![(5, "apple"), (3, "bob"), (6, "cherry"), (2, "ax")]
    );
    assert_eq!(keyed.keys().collect().unwrap(), vec![5, 3, 6, 2]);
    assert_eq!(
        keyed.values().collect().unwrap(),
        vec!["apple", "bob", "cherry", "ax"]
    );
    assert_eq!(
        keyed.map_values(|w| w.to_uppercase()).collect().unwrap(),
        vec![
            (5, "APPLE".to_string()),
            (3, "BOB".to_string()),
            (6, "CHERRY".to_string()),
            (2, "AX".to_string())
        ]
    );
    assert_eq!(
        keyed
            .flat_map_values(|w| w.chars().take(2).collect::<Vec<_>>())
            .collect()
            .unwrap(),
        vec![
            (5, 'a'),
            (5, 'p'),
            (3, 'b'),
            (3, 'o'),
            (6, 'c'),
            (6, 'h'),
            (2, 'a'),
            (2, 'x')
        ]
    );
    // A value mapped to nothing drops the pair.
    assert_eq!(
        keyed
            .flat_map_values(|w| if w.len() > 3 { vec![w] } else { vec![] })
            .count()
            .unwrap(),
        2
    );
}

#[test]
fn value_operations_keep_the_partitioner_and_key_operations_drop_it() {
    let part = ctx()
        .parallelize(vec![(1, 'a'), (2, 'b'), (3, 'c')], 2)
        .partition_by(std::sync::Arc::new(sluice_core::HashPartitioner::new(4)));
    assert_eq!(part.partitioner(), Some("hash:4"));
    assert_eq!(part.map_values(|c| c as u32).partitioner(), Some("hash:4"));
    assert_eq!(
        part.flat_map_values(|c| [c, c]).partitioner(),
        Some("hash:4")
    );
    assert_eq!(part.filter(|p| p.0 > 1).partitioner(), Some("hash:4"));
    assert_eq!(part.map(|(k, v)| (k + 1, v)).partitioner(), None);
    assert_eq!(part.keys().map(|k| (k, ())).partitioner(), None);
    assert_eq!(ctx().parallelize(vec![(1, 2)], 1).partitioner(), None);
}

#[test]
fn sample_is_seeded_and_bounded() {
    let r = ctx().parallelize((0..2000).collect::<Vec<i32>>(), 4);
    let a = r.sample(false, 0.3, 42).collect().unwrap();
    let b = r.sample(false, 0.3, 42).collect().unwrap();
    assert_eq!(a, b, "same seed, same sample");
    assert!(
        a.windows(2).all(|w| w[0] < w[1]),
        "without replacement: a subsequence"
    );
    // Roughly the fraction (600 expected; very loose bounds, but deterministic anyway).
    assert!((300..900).contains(&a.len()), "{}", a.len());
    let c = r.sample(false, 0.3, 43).collect().unwrap();
    assert_ne!(a, c, "another seed, another sample");

    assert!(r.sample(false, 0.0, 1).collect().unwrap().is_empty());
    assert!(r.sample(true, 0.0, 1).collect().unwrap().is_empty());
    assert_eq!(
        r.sample(false, 1.0, 1).collect().unwrap(),
        (0..2000).collect::<Vec<_>>()
    );
    assert!(r.sample(false, -1.0, 1).collect().unwrap().is_empty());
    assert!(r.sample(false, f64::NAN, 1).collect().unwrap().is_empty());

    // With replacement: records may repeat, but only records of the input appear, in order.
    let w = r.sample(true, 1.5, 7).collect().unwrap();
    assert_eq!(w, r.sample(true, 1.5, 7).collect().unwrap());
    assert!(w.windows(2).all(|p| p[0] <= p[1]));
    assert!(
        w.windows(2).any(|p| p[0] == p[1]),
        "a mean of 1.5 repeats records"
    );
    assert!((2000..4000).contains(&w.len()), "{}", w.len());
}

#[test]
fn range_counts_up_and_down() {
    let c = ctx();
    assert_eq!(c.range(0, 5, 1, 2).collect().unwrap(), vec![0, 1, 2, 3, 4]);
    assert_eq!(c.range(0, 10, 3, 3).collect().unwrap(), vec![0, 3, 6, 9]);
    assert_eq!(c.range(10, 0, -3, 2).collect().unwrap(), vec![10, 7, 4, 1]);
    assert_eq!(
        c.range(-2, -6, -1, 4).collect().unwrap(),
        vec![-2, -3, -4, -5]
    );
    assert_eq!(c.range(5, 5, 1, 2).count().unwrap(), 0);
    assert_eq!(c.range(5, 0, 1, 2).count().unwrap(), 0);
    assert_eq!(c.range(0, 5, -1, 2).count().unwrap(), 0);
    assert_eq!(c.range(0, 5, 0, 2).count().unwrap(), 0);
    let r = c.range(0, 10, 1, 3);
    assert_eq!(r.num_partitions(), 3);
    assert_eq!(
        r.glom().collect().unwrap(),
        vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8, 9]]
    );
    // Near the ends of i64.
    assert_eq!(
        c.range(i64::MAX - 2, i64::MAX, 1, 2).collect().unwrap(),
        vec![i64::MAX - 2, i64::MAX - 1]
    );
    assert_eq!(
        c.range(i64::MIN + 2, i64::MIN, -1, 1).collect().unwrap(),
        vec![i64::MIN + 2, i64::MIN + 1]
    );
    assert_eq!(c.range(0, 100_000, 1, 4).count().unwrap(), 100_000);
    assert_eq!(
        c.range(0, 100_000, 1, 4).reduce(|a, b| a + b).unwrap(),
        Some(4_999_950_000)
    );
}

#[test]
fn empty_and_trivial_sources() {
    let c = ctx();
    let e: Rdd<String> = c.empty();
    assert_eq!(e.num_partitions(), 0);
    assert!(e.is_empty().unwrap());
    assert_eq!(e.first().unwrap(), None);
    assert_eq!(e.map(|s| s.len()).collect().unwrap(), Vec::<usize>::new());
    assert_eq!(e.glom().count().unwrap(), 0);
    assert_eq!(e.coalesce(3).count().unwrap(), 0);
    // parallelize with zero partitions gives one partition.
    let one = c.parallelize(vec![1, 2], 0);
    assert_eq!(one.num_partitions(), 1);
    assert_eq!(c.parallelize(Vec::<u8>::new(), 3).num_partitions(), 3);
    assert!(c.parallelize(Vec::<u8>::new(), 3).is_empty().unwrap());
    assert_eq!(
        c.parallelize_partitions(Vec::<Vec<u8>>::new())
            .num_partitions(),
        0
    );
}

#[test]
fn names_ids_and_debug() {
    let r = nums(3, 2).map(|x| x + 1);
    assert_eq!(r.name(), "map");
    let named = r.set_name("plus one");
    assert_eq!(named.id(), r.id());
    assert_eq!(r.name(), "plus one", "the name is shared by all handles");
    let other = nums(3, 2);
    assert_ne!(other.id(), r.id());
    let dbg = format!("{r:?}");
    assert!(
        dbg.contains("MapPartitionsRDD") && dbg.contains("plus one"),
        "{dbg}"
    );
    assert!(dbg.contains("2 partitions"), "{dbg}");
}
