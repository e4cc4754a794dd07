//! What a direct stream puts into the checkpoint: the offset ranges of each batch, recorded
//! before it runs (so a restarted job re-reads exactly them), and the offsets to resume from
//! as of a checkpointed batch.

use serde::{Deserialize, Serialize};
use sluice_core::Result;
use sluice_streaming::source::Replay;
use sluice_streaming::Time;

use super::super::offsets::TopicPartition;
use super::source::{DirectSource, Planned};

/// Where each partition resumes, as of a checkpointed batch.
#[derive(Serialize, Deserialize)]
pub(super) struct Resume {
    offsets: Vec<(TopicPartition, i64)>,
}

impl<K: Send + Sync + 'static, V: Send + Sync + 'static> Replay for DirectSource<K, V> {
    type Position = Planned;
    type State = Resume;

    fn position(&self, time: Time) -> Option<Planned> {
        self.state.lock().planned.get(&time).cloned()
    }

    fn seek(&self, time: Time, p: Planned) -> Result<()> {
        let mut st = self.state.lock();
        for r in p.ranges.iter() {
            st.current.insert(r.topic_partition(), r.until_offset);
        }
        st.positioned = true;
        st.planned.insert(time, p);
        Ok(())
    }

    fn state(&self, time: Time) -> Option<Resume> {
        let st = self.state.lock();
        let p = st.planned.get(&time)?;
        Some(Resume {
            offsets: Self::until_offsets(&p.ranges).into_iter().collect(),
        })
    }

    fn restore(&self, state: Resume) -> Result<()> {
        let mut st = self.state.lock();
        st.current = state.offsets.into_iter().collect();
        st.positioned = true;
        Ok(())
    }
}
