//! The DAG scheduler: cuts a job's lineage into stages at shuffle dependencies and runs them
//! parents first.
//!
//! Planning ([`plan`]) is pure: it walks the graph and returns the stages in an order where
//! every stage comes after the stages it reads from. Running (`run_job`) then computes only
//! what is missing: a shuffle whose map outputs are all present is not run again, and a
//! persisted RDD whose partitions are all cached hides its own parents.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::data::Data;
use crate::error::{Error, Result};
use crate::rdd::{ChunkIter, Dependency, Rdd, RddBase, ShuffleDepBase};
use crate::scheduler::executor::StageDesc;
use crate::scheduler::task::TaskContext;

/// A stage: the RDDs computed in one task per partition, ending at `rdd`.
pub(crate) struct Stage {
    /// The last RDD of the stage (for a map stage, the shuffle's parent).
    pub rdd: Arc<dyn RddBase>,
    /// For a map stage, the shuffle it writes; `None` for the result stage.
    pub shuffle: Option<Arc<dyn ShuffleDepBase>>,
    /// Indices (into the plan) of the stages this one reads from.
    pub parents: Vec<usize>,
}

/// Plans the stages of a job computing `final_rdd`. The result stage is last; every stage
/// comes after its parents.
pub(crate) fn plan(final_rdd: Arc<dyn RddBase>) -> Vec<Stage> {
    let mut stages = Vec::new();
    let mut by_shuffle = HashMap::new();
    add_stage(final_rdd, None, &mut stages, &mut by_shuffle);
    stages
}

fn add_stage(
    rdd: Arc<dyn RddBase>,
    shuffle: Option<Arc<dyn ShuffleDepBase>>,
    stages: &mut Vec<Stage>,
    by_shuffle: &mut HashMap<usize, usize>,
) -> usize {
    let mut parents = Vec::new();
    for dep in shuffle_parents(&rdd) {
        let id = dep.shuffle_id();
        let idx = match by_shuffle.get(&id) {
            Some(&i) => i,
            None => {
                let i = add_stage(dep.parent(), Some(dep), stages, by_shuffle);
                by_shuffle.insert(id, i);
                i
            }
        };
        if !parents.contains(&idx) {
            parents.push(idx);
        }
    }
    stages.push(Stage {
        rdd,
        shuffle,
        parents,
    });
    stages.len() - 1
}

/// The RDDs of a stage: `rdd` and its ancestors through narrow dependencies, stopping at
/// persisted RDDs whose partitions are all cached.
pub(crate) fn stage_rdds(rdd: &Arc<dyn RddBase>) -> Vec<Arc<dyn RddBase>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut stack = vec![Arc::clone(rdd)];
    while let Some(r) = stack.pop() {
        if !seen.insert(r.id()) {
            continue;
        }
        let fully_cached =
            r.storage_level().is_some() && (0..r.num_partitions()).all(|p| r.is_cached(p));
        if !fully_cached {
            for d in r.dependencies() {
                if let Dependency::Narrow(p) = d {
                    stack.push(Arc::clone(p));
                }
            }
        }
        out.push(r);
    }
    out
}

/// The longest chain of narrow dependencies a task of the stage ending at `rdd` computes
/// (1 for a stage of one RDD), counting no further down than persisted RDDs whose partitions
/// are all cached. Walks the graph without recursion.
pub(crate) fn stage_depth(rdd: &Arc<dyn RddBase>) -> usize {
    // Post-order over the stage's RDDs: an RDD's depth is one more than its deepest parent's.
    let mut depth: HashMap<usize, usize> = HashMap::new();
    let mut stack: Vec<(Arc<dyn RddBase>, bool)> = vec![(Arc::clone(rdd), false)];
    while let Some((r, parents_done)) = stack.pop() {
        if depth.contains_key(&r.id()) {
            continue;
        }
        let fully_cached =
            r.storage_level().is_some() && (0..r.num_partitions()).all(|p| r.is_cached(p));
        let parents: Vec<&Arc<dyn RddBase>> = if fully_cached {
            Vec::new()
        } else {
            r.dependencies()
                .iter()
                .filter_map(|d| match d {
                    Dependency::Narrow(p) => Some(p),
                    Dependency::Shuffle(_) => None,
                })
                .collect()
        };
        if parents_done {
            let below = parents
                .iter()
                .filter_map(|p| depth.get(&p.id()))
                .max()
                .copied()
                .unwrap_or(0);
            depth.insert(r.id(), below + 1);
        } else {
            let pending: Vec<Arc<dyn RddBase>> = parents
                .into_iter()
                .filter(|p| !depth.contains_key(&p.id()))
                .cloned()
                .collect();
            stack.push((r, true));
            stack.extend(pending.into_iter().map(|p| (p, false)));
        }
    }
    depth.get(&rdd.id()).copied().unwrap_or(1)
}

/// Refuses a stage whose tasks would chain more narrow operations than the context allows:
/// each is a level of the worker's stack, and overflowing it would abort the process.
fn check_depth(ctx: &crate::Context, rdd: &Arc<dyn RddBase>) -> Result<()> {
    let limit = ctx.inner.settings.lineage_max_depth;
    let depth = stage_depth(rdd);
    if depth > limit {
        return Err(Error::InvalidArgument(format!(
            "the lineage of {} chains {depth} narrow operations in one task, more than \
             {} = {limit}: persist and materialize (or checkpoint) an RDD part-way, as in \
             Spark, or raise the limit if the worker stacks allow",
            describe(&**rdd),
            crate::conf::LINEAGE_MAX_DEPTH
        )));
    }
    Ok(())
}

/// The shuffle dependencies a stage ending at `rdd` reads.
fn shuffle_parents(rdd: &Arc<dyn RddBase>) -> Vec<Arc<dyn ShuffleDepBase>> {
    let mut out: Vec<Arc<dyn ShuffleDepBase>> = Vec::new();
    for r in stage_rdds(rdd) {
        let fully_cached =
            r.storage_level().is_some() && (0..r.num_partitions()).all(|p| r.is_cached(p));
        if fully_cached {
            continue;
        }
        for d in r.dependencies() {
            if let Dependency::Shuffle(s) = d {
                if !out.iter().any(|o| o.shuffle_id() == s.shuffle_id()) {
                    out.push(Arc::clone(s));
                }
            }
        }
    }
    out
}

/// Describes an RDD node as `Kind[id] at op`.
pub(crate) fn describe(rdd: &dyn RddBase) -> String {
    format!("{}[{}] at {}", rdd.kind(), rdd.id(), rdd.op_name())
}

/// Runs `func` over the given partitions of `rdd`, after computing every missing shuffle the
/// job depends on. Results come back in the order of `partitions`.
pub(crate) fn run_job<T, R, F>(rdd: &Rdd<T>, partitions: &[usize], func: F) -> Result<Vec<R>>
where
    T: Data,
    R: Send,
    F: Fn(ChunkIter<T>, &TaskContext) -> Result<R> + Sync,
{
    let ctx = rdd.context().clone();
    let inner = &ctx.inner;
    inner.metrics.jobs.fetch_add(1, Ordering::Relaxed);
    let stages = plan(rdd.base());
    let result_idx = stages.len() - 1;
    let mut done = vec![false; stages.len()];
    for &p in &stages[result_idx].parents {
        ensure_stage(&ctx, &stages, p, &mut done)?;
    }
    check_depth(&ctx, &stages[result_idx].rdd)?;
    for r in stage_rdds(&stages[result_idx].rdd) {
        r.prepare()?;
    }
    let desc = StageDesc {
        stage_id: inner.next_stage_id(),
        rdd: describe(&*stages[result_idx].rdd),
    };
    inner.metrics.stages.fetch_add(1, Ordering::Relaxed);
    inner
        .executor
        .run_tasks(&desc, partitions, &inner.metrics, |tc| {
            func(rdd.iterator(tc.partition, tc)?, tc)
        })
}

/// Makes sure the map outputs of stage `idx` are all present, running it (and, first, the
/// parents it needs) if not.
fn ensure_stage(
    ctx: &crate::Context,
    stages: &[Stage],
    idx: usize,
    done: &mut [bool],
) -> Result<()> {
    if done[idx] {
        return Ok(());
    }
    let stage = &stages[idx];
    let Some(dep) = &stage.shuffle else {
        return Ok(());
    };
    let inner = &ctx.inner;
    let num_maps = stage.rdd.num_partitions();
    inner.shuffles.register(dep.shuffle_id(), num_maps);
    let missing = inner.shuffles.missing(dep.shuffle_id(), num_maps);
    if missing.is_empty() {
        inner.metrics.stages_skipped.fetch_add(1, Ordering::Relaxed);
        done[idx] = true;
        return Ok(());
    }
    for &p in &stage.parents {
        ensure_stage(ctx, stages, p, done)?;
    }
    check_depth(ctx, &stage.rdd)?;
    for r in stage_rdds(&stage.rdd) {
        r.prepare()?;
    }
    dep.prepare()?;
    let desc = StageDesc {
        stage_id: inner.next_stage_id(),
        rdd: describe(&*stage.rdd),
    };
    inner.metrics.stages.fetch_add(1, Ordering::Relaxed);
    let dep = Arc::clone(dep);
    inner
        .executor
        .run_tasks(&desc, &missing, &inner.metrics, |tc| {
            let out = dep.run_map_task(tc.partition, tc)?;
            inner.shuffles.put(dep.shuffle_id(), tc.partition, out);
            Ok(())
        })?;
    done[idx] = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Context;

    #[test]
    fn narrow_chain_is_one_stage() {
        let ctx = Context::local(1).unwrap();
        let r = ctx
            .parallelize(vec![1, 2, 3], 2)
            .map(|x| x + 1)
            .filter(|x| *x > 2);
        let stages = plan(r.base());
        assert_eq!(stages.len(), 1);
        assert!(stages[0].shuffle.is_none());
        assert_eq!(stage_rdds(&stages[0].rdd).len(), 3);
    }

    #[test]
    fn shuffles_cut_stages_parents_first() {
        let ctx = Context::local(1).unwrap();
        let a = ctx
            .parallelize(vec![(1, 1), (2, 2)], 2)
            .reduce_by_key(|x, y| x + y);
        let b = ctx.parallelize(vec![(1, 'a')], 1);
        let j = a.join(&b).map(|(k, _)| (k, 1)).reduce_by_key(|x, y| x + y);
        let stages = plan(j.base());
        // reduce_by_key(a) map stage, the cogroup's map stage, the final reduce's map stage,
        // and the result stage.
        assert_eq!(stages.len(), 4);
        for (i, s) in stages.iter().enumerate() {
            assert!(
                s.parents.iter().all(|&p| p < i),
                "stage {i} before a parent"
            );
        }
        assert!(stages.last().unwrap().shuffle.is_none());
        assert!(stages[..3].iter().all(|s| s.shuffle.is_some()));
    }

    #[test]
    fn shared_shuffle_planned_once() {
        let ctx = Context::local(1).unwrap();
        let r = ctx.parallelize(vec![(1, 1)], 1).reduce_by_key(|x, y| x + y);
        let u = r.union(&r);
        let stages = plan(u.base());
        assert_eq!(stages.len(), 2);
        assert_eq!(stages[1].parents, vec![0]);
    }

    #[test]
    fn fully_cached_rdd_hides_its_parents() {
        let ctx = Context::local(1).unwrap();
        let r = ctx
            .parallelize(vec![(1, 1)], 1)
            .reduce_by_key(|x, y| x + y)
            .cache();
        assert_eq!(plan(r.map(|x| x).base()).len(), 2);
        r.count().unwrap();
        assert_eq!(plan(r.map(|x| x).base()).len(), 1);
    }
}
