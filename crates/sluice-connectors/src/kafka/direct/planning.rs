//! Planning a batch against the broker: which partitions, where a new stream starts, each
//! batch's offset ranges (the broker asked without the source's lock, the ranges decided by
//! the pure functions of [`offsets`](super::super::offsets)), and offset commits.

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice_core::Result;
use sluice_streaming::Time;

use super::super::client::MetadataClient;
use super::super::offsets::{
    max_messages_per_partition, plan_ranges, rate_of, OffsetRange, OffsetReset, StartingOffsets,
    TopicPartition,
};
use super::source::{DirectSource, Planned};
use super::ConsumerStrategy;

impl<K, V> DirectSource<K, V> {
    pub(super) fn partitions(&self, client: &MetadataClient) -> Result<Vec<TopicPartition>> {
        match &self.strategy {
            ConsumerStrategy::Assign(tps) => Ok(tps.clone()),
            ConsumerStrategy::Subscribe(topics) => {
                let mut v = Vec::new();
                for t in topics {
                    for p in client.partitions(t)? {
                        v.push(TopicPartition::new(t.clone(), p));
                    }
                }
                Ok(v)
            }
        }
    }

    /// Resolves where a new stream starts.
    pub(super) fn starting_offsets(&self) -> Result<BTreeMap<TopicPartition, i64>> {
        let client = &self.client;
        let tps = self.partitions(client)?;
        let committed = match &self.starting {
            StartingOffsets::Committed { .. } => Some(client.committed(&tps)?),
            _ => None,
        };
        let mut out = BTreeMap::new();
        for tp in tps {
            let (lo, hi) = client.watermarks(&tp)?;
            let reset = |r: OffsetReset| match r {
                OffsetReset::Earliest => lo,
                OffsetReset::Latest => hi,
            };
            let off = match &self.starting {
                StartingOffsets::Earliest => lo,
                StartingOffsets::Latest => hi,
                StartingOffsets::Committed { otherwise } => committed
                    .as_ref()
                    .and_then(|c| c.get(&tp).copied().flatten())
                    .unwrap_or_else(|| reset(*otherwise)),
                StartingOffsets::Specific(m) => m.get(&tp).copied().unwrap_or(lo),
            };
            out.insert(tp, off);
        }
        Ok(out)
    }

    /// Plans batch `time` from the current position: a snapshot under the lock, the broker
    /// asked without it, the plan stored under it again (only this thread moves the position).
    pub(super) fn plan(&self, time: Time) -> Result<()> {
        let (mut current, latest_rate) = {
            let st = self.state.lock();
            (st.current.clone(), st.latest_rate)
        };
        let client = &self.client;
        // Partitions added since the last batch start at their earliest offset.
        if matches!(self.strategy, ConsumerStrategy::Subscribe(_)) {
            for tp in self.partitions(client)? {
                if let std::collections::btree_map::Entry::Vacant(e) = current.entry(tp) {
                    let (lo, _) = client.watermarks(e.key())?;
                    e.insert(lo);
                }
            }
        }
        let mut latest = BTreeMap::new();
        for tp in current.keys() {
            latest.insert(tp.clone(), client.watermarks(tp)?.1);
        }
        let rate = self.backpressure.enabled.then_some(if latest_rate > 0.0 {
            latest_rate
        } else {
            self.backpressure.initial_rate
        });
        let lag: BTreeMap<_, _> = current
            .iter()
            .map(|(tp, c)| (tp.clone(), latest.get(tp).copied().unwrap_or(*c) - c))
            .collect();
        let max = max_messages_per_partition(&lag, rate, self.settings.rate, self.batch_interval);
        let ranges = plan_ranges(&current, &latest, max.as_ref());
        for r in &ranges {
            current.insert(r.topic_partition(), r.until_offset);
        }
        let rate_limit = max
            .as_ref()
            .map(|m| rate_of(m, self.batch_interval).round() as u64);
        let mut st = self.state.lock();
        st.current = current;
        st.planned.insert(
            time,
            Planned {
                ranges: Arc::new(ranges),
                rate_limit,
            },
        );
        st.last_error = None;
        Ok(())
    }

    /// Commits offsets to the group; a failure is counted and kept, not dropped.
    pub(super) fn commit(&self, offsets: &BTreeMap<TopicPartition, i64>, sync: bool) -> Result<()> {
        let r = self.client.commit(offsets, sync);
        if let Err(e) = &r {
            let mut st = self.state.lock();
            st.commit_failures += 1;
            st.last_commit_error = Some(e.to_string());
            if let Some(b) = self.binding.get() {
                b.report_error(format!("offset commit failed: {e}"), st.commit_failures);
            }
        }
        r
    }

    pub(super) fn until_offsets(ranges: &[OffsetRange]) -> BTreeMap<TopicPartition, i64> {
        ranges
            .iter()
            .map(|r| (r.topic_partition(), r.until_offset))
            .collect()
    }
}
