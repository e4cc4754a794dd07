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

fn children(rdd: &dyn RddBase, indent: &str, out: &mut String) {
    for dep in rdd.dependencies() {
        match dep {
            Dependency::Narrow(p) => {
                let _ = writeln!(out, "{indent}|  {}", describe(&**p));
                children(&**p, indent, out);
            }
            Dependency::Shuffle(s) => {
                let p = s.parent();
                let _ = writeln!(out, "{indent}+-({}) {}", p.num_partitions(), describe(&*p));
                children(&*p, &format!("{indent}   "), out);
            }
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
