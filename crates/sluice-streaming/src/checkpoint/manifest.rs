//! What a checkpoint holds, and the pure planning of incremental checkpoints.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The index of one checkpoint: written last, atomically, so a checkpoint exists exactly when
/// its manifest does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The checkpoint format version.
    pub format_version: u32,
    /// Checkpoint number, increasing.
    pub sequence: u64,
    /// The job's batch interval (ms).
    pub batch_interval_ms: i64,
    /// The graph's zero time (ms): batch times are `zero + k × interval`.
    pub zero_time_ms: i64,
    /// The last batch whose effects the checkpoint includes (ms).
    pub batch_time_ms: i64,
    /// State of each stateful operator, by name.
    pub operators: BTreeMap<String, OperatorState>,
    /// What each source needs to continue (for example the files it already selected), by
    /// source name.
    pub sources: BTreeMap<String, serde_json::Value>,
}

/// The checkpointed state of one operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorState {
    /// The kind of operator (`update_state_by_key`, `map_with_state`).
    pub kind: String,
    /// The key type's name.
    pub key_type: String,
    /// The state type's name.
    pub state_type: String,
    /// Number of key groups.
    pub num_groups: usize,
    /// For each key group with state: its files, a full snapshot then deltas, in order.
    pub groups: BTreeMap<usize, Vec<String>>,
}

/// What to write for one key group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupWrite {
    /// A full snapshot, starting a new chain.
    Full,
    /// The changes since the previous checkpoint, appended to the chain.
    Delta,
}

/// Decides, for each changed key group, whether to write a full snapshot or a delta: a delta
/// when the group has a chain shorter than `full_every`, a full snapshot otherwise (no chain
/// yet, or the chain is long and reading it back would be slow, or the store asks for one in
/// `forced_full` because it stopped recording the group's changes).
///
/// ```
/// use std::collections::BTreeMap;
/// use sluice_streaming::checkpoint::manifest::{plan_groups, GroupWrite};
/// let mut chains = BTreeMap::new();
/// chains.insert(0usize, vec!["full".to_string(), "d1".to_string()]);
/// let plan = plan_groups(Some(&chains), &[0, 1], &[], 3);
/// assert_eq!(plan, vec![(0, GroupWrite::Delta), (1, GroupWrite::Full)]);
/// let plan = plan_groups(Some(&chains), &[0], &[], 2);
/// assert_eq!(plan, vec![(0, GroupWrite::Full)]);
/// // A store that no longer knows a group's changes asks for it in full.
/// let plan = plan_groups(Some(&chains), &[0], &[0], 3);
/// assert_eq!(plan, vec![(0, GroupWrite::Full)]);
/// ```
pub fn plan_groups(
    previous: Option<&BTreeMap<usize, Vec<String>>>,
    changed: &[usize],
    forced_full: &[usize],
    full_every: usize,
) -> Vec<(usize, GroupWrite)> {
    changed
        .iter()
        .map(|&g| {
            let chain_len = previous.and_then(|p| p.get(&g)).map_or(0, Vec::len);
            let w = if chain_len == 0 || chain_len >= full_every.max(1) || forced_full.contains(&g)
            {
                GroupWrite::Full
            } else {
                GroupWrite::Delta
            };
            (g, w)
        })
        .collect()
}

/// Files under the checkpoint directory that no kept manifest refers to (state files only).
pub fn unreferenced<'a>(kept: &[Manifest], state_files: &'a [String]) -> Vec<&'a String> {
    let live: BTreeSet<&String> = kept
        .iter()
        .flat_map(|m| m.operators.values())
        .flat_map(|o| o.groups.values())
        .flatten()
        .collect();
    state_files.iter().filter(|f| !live.contains(f)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(files: &[&str]) -> Manifest {
        let mut groups = BTreeMap::new();
        groups.insert(0, files.iter().map(|s| s.to_string()).collect());
        let mut operators = BTreeMap::new();
        operators.insert(
            "counts".to_string(),
            OperatorState {
                kind: "update_state_by_key".into(),
                key_type: "String".into(),
                state_type: "u64".into(),
                num_groups: 128,
                groups,
            },
        );
        Manifest {
            format_version: 1,
            sequence: 1,
            batch_interval_ms: 1000,
            zero_time_ms: 0,
            batch_time_ms: 1000,
            operators,
            sources: BTreeMap::new(),
        }
    }

    #[test]
    fn files_of_kept_manifests_survive() {
        let kept = vec![manifest(&["a", "b"]), manifest(&["c"])];
        let all: Vec<String> = ["a", "b", "c", "old1", "old2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let gone: Vec<&String> = unreferenced(&kept, &all);
        assert_eq!(gone, vec!["old1", "old2"]);
    }
}
