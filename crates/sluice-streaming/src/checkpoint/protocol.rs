//! The checkpoint protocol's decisions, as pure functions apart from any I/O: when a
//! checkpoint is due, whether a stopping job needs a last one, what interval a job
//! checkpoints at, and whether a checkpoint fits the job that wants to restore it. The job's
//! checkpointer gathers the facts, calls these, and does the file I/O.

use std::time::Duration;

use super::format::FORMAT_VERSION;
use super::manifest::Manifest;

/// The checkpoint interval of a job: the shortest one a stream asked for, or Spark's default,
/// the smallest multiple of the batch interval of at least 10 s.
///
/// ```
/// use std::time::Duration;
/// use sluice_streaming::checkpoint::protocol::checkpoint_interval;
/// let ms = Duration::from_millis;
/// assert_eq!(checkpoint_interval(ms(3000), None), ms(12_000));
/// assert_eq!(checkpoint_interval(ms(1000), Some(ms(2000))), ms(2000));
/// ```
pub fn checkpoint_interval(batch_interval: Duration, asked: Option<Duration>) -> Duration {
    asked.unwrap_or_else(|| {
        let b = batch_interval.as_millis().max(1);
        let k = 10_000u128.div_ceil(b);
        Duration::from_millis(u64::try_from(k * b).unwrap_or(u64::MAX))
    })
}

/// Whether a checkpoint is due after batch `time_ms`, for a job whose batch times count from
/// `zero_ms`: when `time − zero` is a multiple of the checkpoint interval.
///
/// ```
/// use std::time::Duration;
/// use sluice_streaming::checkpoint::protocol::is_due;
/// let every_2s = Duration::from_secs(2);
/// assert!(!is_due(10_000, 11_000, every_2s));
/// assert!(is_due(10_000, 12_000, every_2s));
/// ```
pub fn is_due(zero_ms: i64, time_ms: i64, interval: Duration) -> bool {
    let i = i64::try_from(interval.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    (time_ms - zero_ms) % i == 0
}

/// After a graceful stop: the batch to checkpoint, if the last completed batch is newer than
/// the last checkpoint (so that a restart does not redo it).
///
/// ```
/// use sluice_streaming::checkpoint::protocol::final_checkpoint;
/// assert_eq!(final_checkpoint(Some(5000), Some(4000)), Some(5000));
/// assert_eq!(final_checkpoint(Some(4000), Some(4000)), None);
/// assert_eq!(final_checkpoint(None, None), None);
/// ```
pub fn final_checkpoint(
    last_completed_ms: Option<i64>,
    last_checkpoint_ms: Option<i64>,
) -> Option<i64> {
    let t = last_completed_ms?;
    last_checkpoint_ms.is_none_or(|c| c < t).then_some(t)
}

/// A stateful operator of the job, as the fit check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorShape {
    /// Its name.
    pub name: String,
    /// The kind of operator.
    pub kind: String,
    /// The key type's name.
    pub key_type: String,
    /// The state type's name.
    pub state_type: String,
    /// Its number of key groups.
    pub num_groups: usize,
}

/// Whether `manifest` fits a job with this batch interval (ms) and these operators: the same
/// format version and batch interval, and every operator on both sides with the same kind,
/// key type, state type and number of key groups. The error says what differs, naming the
/// operator.
///
/// ```
/// use std::collections::BTreeMap;
/// use sluice_streaming::checkpoint::manifest::Manifest;
/// use sluice_streaming::checkpoint::protocol::check_fit;
/// let m = Manifest {
///     format_version: sluice_streaming::checkpoint::format::FORMAT_VERSION,
///     sequence: 1,
///     batch_interval_ms: 1000,
///     zero_time_ms: 0,
///     batch_time_ms: 2000,
///     operators: BTreeMap::new(),
///     sources: BTreeMap::new(),
/// };
/// assert!(check_fit(&m, 1000, &[]).is_ok());
/// assert!(check_fit(&m, 500, &[]).unwrap_err().contains("batch interval of 1000 ms"));
/// ```
pub fn check_fit(
    manifest: &Manifest,
    batch_interval_ms: i64,
    operators: &[OperatorShape],
) -> Result<(), String> {
    if manifest.format_version != FORMAT_VERSION {
        return Err(format!(
            "checkpoint format version {}; this build reads version {FORMAT_VERSION}",
            manifest.format_version
        ));
    }
    if manifest.batch_interval_ms != batch_interval_ms {
        return Err(format!(
            "the checkpoint was written with a batch interval of {} ms, the job has {} ms",
            manifest.batch_interval_ms, batch_interval_ms
        ));
    }
    for name in manifest.operators.keys() {
        if !operators.iter().any(|o| &o.name == name) {
            return Err(format!(
                "the checkpoint has state for operator {name:?}, which the job does not have \
                 (was it renamed or removed?)"
            ));
        }
    }
    for op in operators {
        let name = &op.name;
        let Some(st) = manifest.operators.get(name) else {
            return Err(format!(
                "operator {name:?} has no state in the checkpoint (is it new, or was it \
                 renamed?)"
            ));
        };
        let checks = [
            ("kind", &st.kind, &op.kind),
            ("key type", &st.key_type, &op.key_type),
            ("state type", &st.state_type, &op.state_type),
        ];
        for (what, theirs, ours) in checks {
            if theirs != ours {
                return Err(format!(
                    "operator {name:?}: the checkpoint's {what} is {theirs}, the job's is {ours}"
                ));
            }
        }
        if st.num_groups != op.num_groups {
            return Err(format!(
                "operator {name:?}: the checkpoint has {} key groups, the job {}",
                st.num_groups, op.num_groups
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::checkpoint::manifest::OperatorState;

    fn shape(name: &str) -> OperatorShape {
        OperatorShape {
            name: name.into(),
            kind: "update_state_by_key".into(),
            key_type: "String".into(),
            state_type: "u64".into(),
            num_groups: 128,
        }
    }

    fn manifest_with(ops: &[OperatorShape]) -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            sequence: 3,
            batch_interval_ms: 1000,
            zero_time_ms: 0,
            batch_time_ms: 6000,
            operators: ops
                .iter()
                .map(|o| {
                    (
                        o.name.clone(),
                        OperatorState {
                            kind: o.kind.clone(),
                            key_type: o.key_type.clone(),
                            state_type: o.state_type.clone(),
                            num_groups: o.num_groups,
                            groups: BTreeMap::new(),
                        },
                    )
                })
                .collect(),
            sources: BTreeMap::new(),
        }
    }

    #[test]
    fn every_difference_is_named() {
        let m = manifest_with(&[shape("counts")]);
        assert!(check_fit(&m, 1000, &[shape("counts")]).is_ok());
        let e = check_fit(&m, 1000, &[]).unwrap_err();
        assert!(
            e.contains("\"counts\"") && e.contains("renamed or removed"),
            "{e}"
        );
        let e = check_fit(&m, 1000, &[shape("counts"), shape("new")]).unwrap_err();
        assert!(e.contains("\"new\"") && e.contains("no state"), "{e}");
        let other = OperatorShape {
            state_type: "i64".into(),
            ..shape("counts")
        };
        let e = check_fit(&m, 1000, &[other]).unwrap_err();
        assert!(e.contains("state type is u64, the job's is i64"), "{e}");
        let other = OperatorShape {
            num_groups: 64,
            ..shape("counts")
        };
        let e = check_fit(&m, 1000, &[other]).unwrap_err();
        assert!(e.contains("128 key groups, the job 64"), "{e}");
        let old = Manifest {
            format_version: 1,
            ..m
        };
        assert!(check_fit(&old, 1000, &[shape("counts")])
            .unwrap_err()
            .contains("format version 1"));
    }

    #[test]
    fn checkpoints_fall_on_multiples_of_the_interval_after_zero() {
        let every = Duration::from_millis(3000);
        let due: Vec<i64> = (1..=9)
            .map(|k| 500 + k * 1000)
            .filter(|&t| is_due(500, t, every))
            .collect();
        assert_eq!(due, vec![3500, 6500, 9500]);
    }
}
