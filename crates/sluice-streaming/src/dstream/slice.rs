//! `slice`: the RDDs a stream generated between two times.

use sluice_core::{Data, Error, Rdd, Result};

use super::DStream;
use crate::time::Time;

impl<T: Data> DStream<T> {
    /// The stream's RDDs for every batch time from `from` to `to`, both inclusive (endpoints
    /// are floored to multiples of the slide after the zero time). Times before the first batch
    /// are skipped. Fails before the context has started.
    pub fn slice(&self, from: Time, to: Time) -> Result<Vec<Rdd<T>>> {
        let zero = (*self.node.meta.zero_time.lock()).ok_or_else(|| {
            Error::IllegalState(format!(
                "{} has not been initialized: slice needs a started streaming context",
                self.name()
            ))
        })?;
        let slide = self.slide_duration();
        let from = from.floor_from(slide, zero);
        let to = to.floor_from(slide, zero);
        let mut out = Vec::new();
        let mut t = from;
        while t <= to {
            if t > zero {
                if let Some(r) = self.get_or_compute(t)? {
                    out.push(r);
                }
            }
            t = t + slide;
        }
        Ok(out)
    }
}
