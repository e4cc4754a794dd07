#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Persistence: caching under a small memory budget (blocks that do not fit, LRU eviction of
//! other RDDs' blocks), `MemoryAndDisk` and `DiskOnly` round trips, `unpersist`, dropping a
//! cached RDD, and that a cached RDD is not recomputed.
//!
//! Every test builds its own context, so the block store and counters it checks are its own.
//! Records are `i64`s: a cached block of `n` records is estimated at `8 * n` bytes, so a
//! partition of 2000 records takes 16000 bytes and four fit in a 64 KiB budget.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sluice_core::{Context, Rdd, StorageLevel};

mod common;
use common::{context_with, spilling_context};

const BUDGET: u64 = 64 << 10;

/// A context with a [`BUDGET`] of memory, spilling into a new temporary directory.
fn small_memory() -> (Context, tempfile::TempDir) {
    let (ctx, dir) = spilling_context("64k");
    assert_eq!(ctx.settings().storage_memory_bytes, BUDGET);
    (ctx, dir)
}

/// An RDD of `parts * 2000` records whose every computed record bumps `counter`.
fn counted(ctx: &Context, offset: i64, parts: usize, counter: &Arc<AtomicUsize>) -> Rdd<i64> {
    let c = Arc::clone(counter);
    ctx.range(offset, offset + 2000 * parts as i64, 1, parts)
        .map(move |x| {
            c.fetch_add(1, Ordering::SeqCst);
            x
        })
}

fn expected(offset: i64, parts: usize) -> Vec<i64> {
    (offset..offset + 2000 * parts as i64).collect()
}

#[test]
fn cached_rdd_is_not_recomputed() {
    let ctx = Context::local(2).unwrap();
    let computed = Arc::new(AtomicUsize::new(0));
    let rdd = counted(&ctx, 0, 4, &computed).cache();
    assert_eq!(rdd.storage_level(), Some(StorageLevel::MemoryOnly));
    assert_eq!(rdd.count().unwrap(), 8000);
    assert_eq!(computed.load(Ordering::SeqCst), 8000);
    let hits = ctx.metrics().block_hits;
    assert_eq!(rdd.collect().unwrap(), expected(0, 4));
    assert_eq!(
        rdd.map(|x| x + 1).reduce(|a, b| a + b).unwrap(),
        Some(32_004_000)
    );
    assert_eq!(
        computed.load(Ordering::SeqCst),
        8000,
        "served from the cache"
    );
    assert_eq!(ctx.metrics().block_hits - hits, 8);
    assert_eq!(ctx.storage_memory_used(), 8 * 8000);
    assert_eq!(ctx.metrics().blocks_evicted, 0);
    assert_eq!(ctx.metrics().blocks_not_stored, 0);
}

#[test]
fn partially_computed_cache_fills_in_later() {
    let ctx = Context::local(2).unwrap();
    let computed = Arc::new(AtomicUsize::new(0));
    let rdd = counted(&ctx, 0, 4, &computed).cache();
    // take(1) computes (and caches) only the first partition.
    assert_eq!(rdd.take(1).unwrap(), vec![0]);
    assert_eq!(computed.load(Ordering::SeqCst), 2000);
    assert_eq!(rdd.count().unwrap(), 8000);
    assert_eq!(computed.load(Ordering::SeqCst), 8000);
    assert_eq!(rdd.collect().unwrap(), expected(0, 4));
    assert_eq!(computed.load(Ordering::SeqCst), 8000);
}

#[test]
fn an_rdd_bigger_than_memory_keeps_what_fits() {
    let (ctx, _dir) = small_memory();
    let computed = Arc::new(AtomicUsize::new(0));
    // 8 blocks of 16000 bytes against a 65536-byte budget: 4 fit, the rest are not stored
    // (blocks of one RDD never evict each other).
    let a = counted(&ctx, 0, 8, &computed).cache();
    assert_eq!(a.collect().unwrap(), expected(0, 8));
    let m = ctx.metrics();
    assert_eq!(m.blocks_not_stored, 4);
    assert_eq!(m.blocks_evicted, 0);
    assert_eq!(ctx.storage_memory_used(), 4 * 16000);
    // Only the partitions that were not stored are recomputed.
    assert_eq!(a.collect().unwrap(), expected(0, 8));
    assert_eq!(computed.load(Ordering::SeqCst), 16000 + 4 * 2000);
    assert!(ctx.storage_memory_used() <= BUDGET);
}

#[test]
fn caching_another_rdd_evicts_lru_blocks_and_results_stay_correct() {
    let (ctx, _dir) = small_memory();
    let ca = Arc::new(AtomicUsize::new(0));
    let cb = Arc::new(AtomicUsize::new(0));
    let a = counted(&ctx, 0, 8, &ca).cache();
    let b = counted(&ctx, 1_000_000, 8, &cb).cache();
    assert_eq!(a.count().unwrap(), 16000);
    assert_eq!(b.count().unwrap(), 16000);
    let m = ctx.metrics();
    assert!(m.blocks_evicted > 0, "{m:?}");
    assert!(m.blocks_not_stored > 0, "{m:?}");
    assert!(ctx.storage_memory_used() <= BUDGET);
    // Re-collecting either gives the right records, recomputing what is not cached.
    for _ in 0..2 {
        assert_eq!(a.collect().unwrap(), expected(0, 8));
        assert_eq!(b.collect().unwrap(), expected(1_000_000, 8));
        assert!(ctx.storage_memory_used() <= BUDGET);
    }
    assert!(
        ca.load(Ordering::SeqCst) > 16000,
        "a was evicted, hence recomputed"
    );
    // Joined together (both read within one job).
    let ka = a.map(|x| (x % 1000, 1u32));
    let kb = b.map(|x| (x % 1000, 1u32));
    let j = ka
        .reduce_by_key(|x, y| x + y)
        .join(&kb.reduce_by_key(|x, y| x + y));
    let got = j.collect().unwrap();
    assert_eq!(got.len(), 1000);
    assert!(got.iter().all(|(_, (x, y))| *x == 16 && *y == 16));
}

#[test]
fn a_block_bigger_than_the_budget_is_not_cached() {
    let (ctx, _dir) = small_memory();
    let computed = Arc::new(AtomicUsize::new(0));
    // One partition of 20000 records = 160000 bytes > 64 KiB.
    let c = Arc::clone(&computed);
    let big = ctx
        .range(0, 20_000, 1, 1)
        .map(move |x| {
            c.fetch_add(1, Ordering::SeqCst);
            x
        })
        .cache();
    assert_eq!(big.count().unwrap(), 20_000);
    assert_eq!(big.count().unwrap(), 20_000);
    assert_eq!(computed.load(Ordering::SeqCst), 40_000);
    assert_eq!(ctx.metrics().blocks_not_stored, 2);
    assert_eq!(ctx.storage_memory_used(), 0);
}

#[test]
fn memory_and_disk_spills_instead_of_dropping() {
    let (ctx, _dir) = small_memory();
    let computed = Arc::new(AtomicUsize::new(0));
    let a = counted(&ctx, 0, 8, &computed).persist(StorageLevel::MemoryAndDisk);
    assert_eq!(a.storage_level(), Some(StorageLevel::MemoryAndDisk));
    assert_eq!(a.collect().unwrap(), expected(0, 8));
    let m = ctx.metrics();
    assert_eq!(m.blocks_not_stored, 0);
    assert!(m.blocks_written_to_disk > 0, "{m:?}");
    // Every block is held (in memory or on disk): nothing is recomputed.
    assert_eq!(a.collect().unwrap(), expected(0, 8));
    assert_eq!(a.count().unwrap(), 16000);
    assert_eq!(computed.load(Ordering::SeqCst), 16000);

    // Another MemoryAndDisk RDD evicts a's memory blocks to disk; still no recomputation.
    let cb = Arc::new(AtomicUsize::new(0));
    let b = counted(&ctx, 500_000, 8, &cb).persist(StorageLevel::MemoryAndDisk);
    assert_eq!(b.count().unwrap(), 16000);
    assert!(ctx.metrics().blocks_evicted > 0);
    assert_eq!(a.collect().unwrap(), expected(0, 8));
    assert_eq!(b.collect().unwrap(), expected(500_000, 8));
    assert_eq!(computed.load(Ordering::SeqCst), 16000);
    assert_eq!(cb.load(Ordering::SeqCst), 16000);
    assert!(ctx.storage_memory_used() <= BUDGET);
}

#[test]
fn disk_only_round_trip() {
    let (ctx, dir) = small_memory();
    let computed = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&computed);
    let words = ctx
        .parallelize(
            vec!["alpha", "beta", "gamma", "delta", "epsilon"]
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>(),
            3,
        )
        .map(move |w| {
            c.fetch_add(1, Ordering::SeqCst);
            (w.len(), w)
        })
        .persist(StorageLevel::DiskOnly);
    let want: Vec<(usize, String)> = vec![
        (5, "alpha".into()),
        (4, "beta".into()),
        (5, "gamma".into()),
        (5, "delta".into()),
        (7, "epsilon".into()),
    ];
    assert_eq!(words.collect().unwrap(), want);
    assert_eq!(ctx.metrics().blocks_written_to_disk, 3);
    assert_eq!(ctx.storage_memory_used(), 0);
    assert_eq!(words.collect().unwrap(), want, "read back from disk");
    assert_eq!(computed.load(Ordering::SeqCst), 5);
    // The blocks live under sluice.local.dir, and go away with unpersist.
    let files = count_files(dir.path());
    assert_eq!(files, 3);
    words.unpersist();
    assert_eq!(words.storage_level(), None);
    assert_eq!(count_files(dir.path()), 0);
    assert_eq!(words.collect().unwrap(), want);
    assert_eq!(
        computed.load(Ordering::SeqCst),
        10,
        "recomputed after unpersist"
    );
}

fn count_files(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            n += count_files(&e.path());
        } else {
            n += 1;
        }
    }
    n
}

#[test]
fn unpersist_frees_memory_and_stops_caching() {
    let ctx = Context::local(2).unwrap();
    let computed = Arc::new(AtomicUsize::new(0));
    let rdd = counted(&ctx, 0, 2, &computed).cache();
    assert_eq!(rdd.count().unwrap(), 4000);
    assert_eq!(ctx.storage_memory_used(), 32000);
    rdd.unpersist();
    assert_eq!(ctx.storage_memory_used(), 0);
    assert_eq!(rdd.count().unwrap(), 4000);
    assert_eq!(rdd.count().unwrap(), 4000);
    assert_eq!(computed.load(Ordering::SeqCst), 12000);
    assert_eq!(ctx.storage_memory_used(), 0);
    // Caching again works.
    rdd.cache();
    assert_eq!(rdd.count().unwrap(), 4000);
    assert_eq!(rdd.count().unwrap(), 4000);
    assert_eq!(computed.load(Ordering::SeqCst), 16000);
}

#[test]
fn dropping_a_cached_rdd_frees_its_blocks() {
    let ctx = Context::local(2).unwrap();
    let computed = Arc::new(AtomicUsize::new(0));
    let rdd = counted(&ctx, 0, 2, &computed).cache();
    let child = rdd.map(|x| x * 2);
    assert_eq!(child.count().unwrap(), 4000);
    assert_eq!(ctx.storage_memory_used(), 32000);
    drop(rdd);
    // The child still holds the cached parent.
    assert_eq!(ctx.storage_memory_used(), 32000);
    assert_eq!(child.count().unwrap(), 4000);
    assert_eq!(computed.load(Ordering::SeqCst), 4000);
    drop(child);
    assert_eq!(ctx.storage_memory_used(), 0);
}

#[test]
fn cached_shuffle_output_and_downstream_reuse() {
    let ctx = Context::local(2).unwrap();
    let computed = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&computed);
    let sums = ctx
        .range(0, 1000, 1, 4)
        .map(move |x| {
            c.fetch_add(1, Ordering::SeqCst);
            (x % 10, x)
        })
        .reduce_by_key(|a, b| a + b)
        .cache();
    let mut first = sums.collect().unwrap();
    first.sort_unstable();
    assert_eq!(first.len(), 10);
    assert_eq!(first[0], (0, (0..1000).step_by(10).sum()));
    let stages = ctx.metrics().stages;
    // Fully cached: the job needs no map stage at all.
    assert_eq!(sums.values().reduce(|a, b| a + b).unwrap(), Some(499_500));
    assert_eq!(ctx.metrics().stages - stages, 1);
    assert_eq!(computed.load(Ordering::SeqCst), 1000);
}

/// A one-partition cached RDD of `n` records (`8 * n` bytes), counting computed records.
fn single(ctx: &Context, offset: i64, n: i64, counter: &Arc<AtomicUsize>) -> Rdd<i64> {
    let c = Arc::clone(counter);
    ctx.range(offset, offset + n, 1, 1)
        .map(move |x| {
            c.fetch_add(1, Ordering::SeqCst);
            x
        })
        .cache()
}

#[test]
fn eviction_takes_the_least_recently_used_block() {
    let (ctx, _dir) = small_memory();
    let counters: Vec<Arc<AtomicUsize>> = (0..5).map(|_| Arc::new(AtomicUsize::new(0))).collect();
    // Five one-block RDDs of 16000 bytes; four fit.
    let rdds: Vec<Rdd<i64>> = (0..5)
        .map(|i| single(&ctx, i as i64 * 10_000, 2000, &counters[i]))
        .collect();
    for r in &rdds[..4] {
        assert_eq!(r.count().unwrap(), 2000);
    }
    assert_eq!(ctx.metrics().blocks_evicted, 0);
    // Touch rdds[0]: rdds[1] is now the least recently used.
    assert_eq!(rdds[0].count().unwrap(), 2000);
    assert_eq!(rdds[4].count().unwrap(), 2000);
    assert_eq!(ctx.metrics().blocks_evicted, 1);
    let computed = |i: usize| counters[i].load(Ordering::SeqCst);
    // rdds[0], [2], [3], [4] are cached; [1] is recomputed.
    for i in [0, 2, 3, 4] {
        assert_eq!(rdds[i].count().unwrap(), 2000);
        assert_eq!(computed(i), 2000, "rdd {i} was recomputed");
    }
    assert_eq!(
        rdds[1].collect().unwrap(),
        (10_000..12_000).collect::<Vec<_>>()
    );
    assert_eq!(computed(1), 4000);
}

#[test]
fn a_block_that_cannot_fit_evicts_nothing() {
    let (ctx, _dir) = small_memory();
    let ca = Arc::new(AtomicUsize::new(0));
    // a: 8000 bytes.
    let a = single(&ctx, 0, 1000, &ca);
    assert_eq!(a.count().unwrap(), 1000);
    // b: blocks of 56000 and 16000 bytes. Whichever comes second cannot fit even if `a`
    // is evicted (8000 + 56000 + 16000 > 65536), so `a` should stay.
    let b = ctx
        .parallelize_partitions(vec![(0..7000).collect::<Vec<i64>>(), (0..2000).collect()])
        .map(|x| x + 1)
        .cache();
    assert_eq!(b.count().unwrap(), 9000);
    assert_eq!(ctx.metrics().blocks_not_stored, 1);
    assert_eq!(
        ctx.metrics().blocks_evicted,
        0,
        "evicted a block without making room"
    );
    assert_eq!(a.count().unwrap(), 1000);
    assert_eq!(ca.load(Ordering::SeqCst), 1000, "a was recomputed");
}

#[test]
fn shuffled_cached_rdd_evicted_is_rebuilt_from_shuffle_output() {
    let (ctx, _dir) = small_memory();
    let computed = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&computed);
    let sums = ctx
        .range(0, 16_000, 1, 4)
        .map(move |x| {
            c.fetch_add(1, Ordering::SeqCst);
            (x % 4000, x)
        })
        .reduce_by_key_into(4, |a, b| a + b)
        .cache();
    assert_eq!(sums.count().unwrap(), 4000);
    // Another RDD evicts sums' blocks.
    let other = Arc::new(AtomicUsize::new(0));
    let o = counted(&ctx, 0, 8, &other).cache();
    assert_eq!(o.count().unwrap(), 16000);
    assert!(ctx.metrics().blocks_evicted > 0);
    let skipped = ctx.metrics().stages_skipped;
    let total: i64 = sums.values().collect().unwrap().into_iter().sum();
    assert_eq!(total, (0..16_000).sum::<i64>());
    // The map side did not run again: the shuffle output was reused.
    assert_eq!(computed.load(Ordering::SeqCst), 16_000);
    assert!(ctx.metrics().stages_skipped > skipped);
}

#[test]
fn block_files_are_removed_with_the_context() {
    let dir = tempfile::tempdir().unwrap();
    {
        let ctx = context_with(
            "local[2]",
            &[("sluice.local.dir", dir.path().to_str().unwrap())],
        );
        let rdd = ctx.range(0, 100, 1, 3).persist(StorageLevel::DiskOnly);
        assert_eq!(rdd.count().unwrap(), 100);
        assert_eq!(count_files(dir.path()), 3);
        let kept = rdd.map(|x| x * 2);
        drop(rdd);
        assert_eq!(count_files(dir.path()), 3, "still reachable through `kept`");
        assert_eq!(kept.count().unwrap(), 100);
        drop(kept);
        assert_eq!(count_files(dir.path()), 0);
        let again = ctx.range(0, 10, 1, 2).persist(StorageLevel::DiskOnly);
        assert_eq!(again.count().unwrap(), 10);
        assert_eq!(count_files(dir.path()), 2);
    }
    // Context and RDDs gone: the block directory is gone too.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
