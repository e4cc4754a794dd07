//! `to_debug_string`: the lineage of an RDD with its stage boundaries, in the layout of
//! Spark's `toDebugString`.
//!
//! ```text
//! (2) ShuffledRDD[4] at reduce_by_key []
//!  +-(2) MapPartitionsRDD[3] at map []
//!     |  MapPartitionsRDD[2] at flat_map []
//!     |  ParallelCollectionRDD[0] at parallelize [MemoryOnly]
//! ```
//!
//! `+-(n)` marks a shuffle dependency (a new stage with `n` partitions); `|` continues the
//! same stage. The brackets show the storage level of persisted RDDs.

use std::fmt::Write as _;
use std::sync::Arc;

use super::{Dependency, Rdd, RddBase};
use crate::data::Data;

fn describe(rdd: &dyn RddBase) -> String {
    let level = rdd
        .storage_level()
        .map(|l| format!("{l:?}"))
        .unwrap_or_default();
    format!(
        "{}[{}] at {} [{}]",
        rdd.kind(),
        rdd.id(),
        rdd.op_name(),
        level
    )
}

/// Writes the lineage below `rdd`, depth first, without recursion (lineages can be long).
fn children(rdd: &dyn RddBase, indent: &str, out: &mut String) {
    // Each entry: a dependency to print and the indent of its line.
    let mut stack: Vec<(Dependency, String)> = rdd
        .dependencies()
        .iter()
        .rev()
        .map(|d| (d.clone(), indent.to_string()))
        .collect();
    while let Some((dep, indent)) = stack.pop() {
        let (node, child_indent) = match &dep {
            Dependency::Narrow(p) => {
                let _ = writeln!(out, "{indent}|  {}", describe(&**p));
                (Arc::clone(p), indent.clone())
            }
            Dependency::Shuffle(s) => {
                let p = s.parent();
                let _ = writeln!(out, "{indent}+-({}) {}", p.num_partitions(), describe(&*p));
                (p, format!("{indent}   "))
            }
        };
        for d in node.dependencies().iter().rev() {
            stack.push((d.clone(), child_indent.clone()));
        }
    }
}

impl<T: Data> Rdd<T> {
    /// The lineage of this RDD, one line per node, with stage boundaries (see the module
    /// docs for the layout).
    pub fn to_debug_string(&self) -> String {
        let mut out = String::new();
        let base = self.base();
        let _ = writeln!(out, "({}) {}", self.num_partitions(), describe(&*base));
        children(&*base, " ", &mut out);
        out
    }
}

/// One RDD of a lineage graph, for drawing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineageNode {
    /// The RDD's id.
    pub id: usize,
    /// Its kind (`ShuffledRDD`, ...).
    pub kind: String,
    /// The operation that made it.
    pub name: String,
    /// Number of partitions.
    pub partitions: usize,
    /// Its stage, counted from the result stage (0) towards the sources.
    pub stage: usize,
    /// Its parents' ids, with `true` for a shuffle dependency (a stage boundary).
    pub parents: Vec<(usize, bool)>,
}

impl<T: Data> Rdd<T> {
    /// The lineage as a list of nodes (this RDD first), each with its parents and its stage:
    /// the structure that [`to_debug_string`](Rdd::to_debug_string) prints, for drawing.
    pub fn lineage(&self) -> Vec<LineageNode> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut stack: Vec<(Arc<dyn RddBase>, usize)> = vec![(self.base(), 0)];
        while let Some((rdd, stage)) = stack.pop() {
            if !seen.insert(rdd.id()) {
                continue;
            }
            let mut parents = Vec::new();
            for dep in rdd.dependencies() {
                match dep {
                    Dependency::Narrow(p) => {
                        parents.push((p.id(), false));
                        stack.push((Arc::clone(p), stage));
                    }
                    Dependency::Shuffle(s) => {
                        let p = s.parent();
                        parents.push((p.id(), true));
                        stack.push((p, stage + 1));
                    }
                }
            }
            out.push(LineageNode {
                id: rdd.id(),
                kind: rdd.kind().to_string(),
                name: rdd.op_name(),
                partitions: rdd.num_partitions(),
                stage,
                parents,
            });
        }
        out
    }
}
