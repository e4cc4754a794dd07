//! Output operations: `foreach_rdd`, `print`, `save_as_text_files`.
//!
//! Each output operation becomes one job per batch; the jobs of a batch run one at a time, in
//! the order the operations were defined. Registering an output operation after the context
//! has started is an error.

use std::sync::Arc;

use sluice_core::{Data, Rdd, Result, ToText};

use super::{DStream, DStreamBase};
use crate::graph::{Job, OutputStream};
use crate::time::Time;

type ForEachFn<T> = dyn Fn(Rdd<T>, Time) -> Result<()> + Send + Sync;

/// An output operation: a function run on the driver with each batch's RDD.
struct ForEach<T: Data> {
    id: usize,
    name: String,
    parent: DStream<T>,
    f: Arc<ForEachFn<T>>,
}

impl<T: Data> OutputStream for ForEach<T> {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn stream(&self) -> Arc<dyn DStreamBase> {
        self.parent.base()
    }
    fn generate_job(&self, time: Time) -> Result<Option<Job>> {
        let Some(rdd) = self.parent.get_or_compute(time)? else {
            return Ok(None);
        };
        let f = Arc::clone(&self.f);
        let lineage = rdd.lineage();
        Ok(Some(Job {
            output_id: self.id,
            name: self.name.clone(),
            run: Box::new(move || f(rdd, time)),
            lineage,
        }))
    }
}

/// The text `print` writes for a batch: a header with the batch time, the first `num`
/// records, `...` if there were more, and a blank line (Spark's exact format).
///
/// ```
/// use sluice_streaming::dstream::output::format_print;
/// use sluice_streaming::time::Time;
/// let text = format_print(Time::from_millis(2000), &[1, 2, 3], 2);
/// assert_eq!(text, "-------------------------------------------\nTime: 2000 ms\n\
///                   -------------------------------------------\n1\n2\n...\n\n");
/// ```
pub fn format_print<T: ToText>(time: Time, first: &[T], num: usize) -> String {
    let mut s = String::new();
    s.push_str("-------------------------------------------\n");
    s.push_str(&format!("Time: {time}\n"));
    s.push_str("-------------------------------------------\n");
    for x in first.iter().take(num) {
        x.write_text(&mut s);
        s.push('\n');
    }
    if first.len() > num {
        s.push_str("...\n");
    }
    s.push('\n');
    s
}

/// The directory name of a batch's output: `prefix-TIME_IN_MS[.suffix]` (just the time when
/// the prefix is empty), as Spark names it.
///
/// ```
/// use sluice_streaming::dstream::output::batch_file_name;
/// use sluice_streaming::time::Time;
/// assert_eq!(batch_file_name("out/counts", "txt", Time::from_millis(3000)), "out/counts-3000.txt");
/// assert_eq!(batch_file_name("", "", Time::from_millis(3000)), "3000");
/// ```
pub fn batch_file_name(prefix: &str, suffix: &str, time: Time) -> String {
    let mut name = time.millis().to_string();
    if !prefix.is_empty() {
        name = format!("{prefix}-{name}");
    }
    if !suffix.is_empty() {
        name = format!("{name}.{suffix}");
    }
    name
}

impl<T: Data> DStream<T> {
    /// Runs `f` on the driver with every batch's RDD and time (Spark's `foreachRDD`). Actions
    /// inside `f` run on the worker pool; an error fails the batch's output operation.
    pub fn foreach_rdd(
        &self,
        f: impl Fn(Rdd<T>, Time) -> Result<()> + Send + Sync + 'static,
    ) -> Result<()> {
        self.register_output("foreach_rdd", Arc::new(f))
    }

    fn register_output(&self, name: &str, f: Arc<ForEachFn<T>>) -> Result<()> {
        self.check_can_add()?;
        let env = &self.node.meta.env;
        let id = env.next_output_id();
        env.register_output(Arc::new(ForEach {
            id,
            name: format!("{name} at {}", self.name()),
            parent: self.clone(),
            f,
        }));
        Ok(())
    }

    /// Prints the first `num` records of every batch to standard output, in Spark's format
    /// (see [`format_print`]).
    pub fn print(&self, num: usize) -> Result<()>
    where
        T: ToText,
    {
        self.register_output(
            "print",
            Arc::new(move |rdd: Rdd<T>, time| {
                let first = rdd.take(num + 1)?;
                let text = format_print(time, &first, num);
                use std::io::Write as _;
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
                Ok(())
            }),
        )
    }

    /// Saves every batch as a text-file directory named `prefix-TIME_IN_MS[.suffix]` (see
    /// [`batch_file_name`]), one directory per batch even when the batch is empty, as in
    /// Spark. Each directory is written completely before it appears, and writing a batch
    /// again replaces it, so a re-run batch leaves the same output. The temporary directories
    /// a killed earlier run left beside these outputs are removed here.
    pub fn save_as_text_files(&self, prefix: &str, suffix: &str) -> Result<()>
    where
        T: ToText,
    {
        let (prefix, suffix) = (prefix.to_string(), suffix.to_string());
        let p = std::path::Path::new(&prefix);
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => std::path::Path::new("."),
        };
        let name = p.file_name().map(|n| n.to_string_lossy().to_string());
        // Object storage has no temporaries to clean: outputs are written in place there.
        if !prefix.contains("://") || prefix.starts_with("file://") {
            sluice_core::internals::remove_stale_temporaries(
                dir,
                &format!("{}-", name.unwrap_or_default()),
            )?;
        }
        self.register_output(
            "save_as_text_files",
            Arc::new(move |rdd: Rdd<T>, time| {
                rdd.save_as_text_file_replacing(batch_file_name(&prefix, &suffix, time))
            }),
        )
    }
}
