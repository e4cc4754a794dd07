//! Windows: `window`, and the aggregations over windows that recompute each window from its
//! batches (`reduce_by_window`, `reduce_by_key_and_window`, `group_by_key_and_window`).
//! The incremental forms, which update the previous window with the batches entering and
//! leaving it, are in [`reduced_window`](super::reduced_window).
//!
//! A window of length `w` sliding every `s` has an RDD at every time `t` that is a multiple of
//! `s` after the zero time: the union of the parent's RDDs for the times in `(t − w, t]`. Both
//! `w` and `s` must be multiples of the parent's slide; otherwise the operation returns an
//! error naming the values, before the context starts.

use std::sync::Arc;
use std::time::Duration;

use sluice_core::{Data, Error, Key, Rdd, Result};

use super::{DStream, StreamCompute};
use crate::time::{duration_ms, is_multiple, Time};

/// Checks a window's length and slide against the parent's slide.
pub(crate) fn check_window(
    parent_slide: Duration,
    window: Duration,
    slide: Duration,
) -> Result<()> {
    if !is_multiple(window, parent_slide) {
        return Err(Error::InvalidArgument(format!(
            "the window duration ({} ms) must be a multiple of the parent stream's slide \
             duration ({} ms)",
            duration_ms(window),
            duration_ms(parent_slide)
        )));
    }
    if !is_multiple(slide, parent_slide) {
        return Err(Error::InvalidArgument(format!(
            "the slide duration ({} ms) must be a multiple of the parent stream's slide \
             duration ({} ms)",
            duration_ms(slide),
            duration_ms(parent_slide)
        )));
    }
    Ok(())
}

/// The union of the parent's RDDs in `(t − window, t]`.
struct Windowed<T: Data> {
    parent: DStream<T>,
    window: Duration,
}

impl<T: Data> StreamCompute<T> for Windowed<T> {
    fn compute(&self, time: Time) -> Result<Option<Rdd<T>>> {
        let from = time - self.window + self.parent.slide_duration();
        let rdds = self.parent.slice(from, time)?;
        for r in &rdds {
            // Each parent RDD is read by window/slide windows: compute it once.
            r.cache();
        }
        let ctx = self.parent.context();
        Ok(Some(match rdds.len() {
            0 => ctx.empty(),
            1 => rdds[0].clone(),
            _ => ctx.union(&rdds),
        }))
    }
}

impl<T: Data> DStream<T> {
    /// A stream of windows: at every multiple of `slide`, the records of the last `window` of
    /// time (the parent's RDDs for times in `(t − window, t]`).
    ///
    /// ```
    /// use sluice_streaming::{testing::run_stream, time::seconds};
    /// let out = run_stream(vec![vec![1], vec![2], vec![3]], 4, |s| {
    ///     s.window(seconds(2), seconds(1)).unwrap()
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![vec![1], vec![1, 2], vec![2, 3], vec![3]]);
    /// ```
    pub fn window(&self, window: Duration, slide: Duration) -> Result<DStream<T>> {
        self.check_can_add()?;
        check_window(self.slide_duration(), window, slide)?;
        Ok(DStream::new_node(
            &self.node.meta.env,
            "window",
            slide,
            vec![self.base()],
            window,
            Windowed {
                parent: self.clone(),
                window,
            },
        ))
    }

    /// All records of each window reduced with `f`: `reduce(f)`, then a window, then
    /// `reduce(f)` again. An empty window yields an empty RDD.
    pub fn reduce_by_window(
        &self,
        f: impl Fn(T, T) -> T + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
    ) -> Result<DStream<T>> {
        let f = Arc::new(f);
        let f2 = Arc::clone(&f);
        Ok(self
            .reduce(move |a, b| f(a, b))
            .window(window, slide)?
            .reduce(move |a, b| f2(a, b))
            .set_name("reduce_by_window"))
    }
}

impl<K: Key, V: Data> DStream<(K, V)> {
    /// Values of each key over a window, merged with `f` (recomputed from the window's batches
    /// every slide; keys absent from the window disappear), into the default number of
    /// partitions.
    pub fn reduce_by_key_and_window(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
    ) -> Result<DStream<(K, V)>> {
        let n = self.context().default_parallelism();
        self.reduce_by_key_and_window_into(f, window, slide, n)
    }

    /// [`reduce_by_key_and_window`](DStream::reduce_by_key_and_window) into `n` partitions.
    pub fn reduce_by_key_and_window_into(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
        n: usize,
    ) -> Result<DStream<(K, V)>> {
        let f = Arc::new(f);
        let f2 = Arc::clone(&f);
        Ok(self
            .reduce_by_key_into(n, move |a, b| f(a, b))
            .window(window, slide)?
            .reduce_by_key_into(n, move |a, b| f2(a, b))
            .set_name("reduce_by_key_and_window"))
    }

    /// The values of each key over a window, into the default number of partitions.
    pub fn group_by_key_and_window(
        &self,
        window: Duration,
        slide: Duration,
    ) -> Result<DStream<(K, Vec<V>)>> {
        let n = self.context().default_parallelism();
        Ok(self.group_by_key_into(n).window(window, slide)?.map_rdd(
            "group_by_key_and_window",
            move |r| {
                r.reduce_by_key_into(n, |mut a: Vec<V>, mut b: Vec<V>| {
                    a.append(&mut b);
                    a
                })
            },
        ))
    }
}
