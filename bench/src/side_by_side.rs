//! Sluice's side of the side-by-side benchmarks (`bench/run.sh`): the shared seeded corpus,
//! and workload (a), word count over a queue of pre-made batches, with the same output lines
//! as the Spark program (`bench/spark/QueueWordCount.java`) so the harness can compare them.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sluice::corpus::Corpus;
use sluice::prelude::*;
use sluice::text::{split_owned, split_small};
use sluice::BatchInfo;

/// A context on a step clock (batches back to back) with 1 s batches.
pub(crate) fn step_context(threads: usize) -> Result<(Context, StreamingContext)> {
    let ctx = Context::new(
        Conf::new()
            .set_master(format!("local[{threads}]"))
            .set("sluice.streaming.clock", "step"),
    )?;
    let ssc = StreamingContext::new(&ctx, seconds(1))?;
    Ok((ctx, ssc))
}

/// The first `limit` lines a job's output operation produces, numbered from 0 (the step clock
/// may run empty batches after the workload's before the stop; their lines are not kept).
struct Recorder {
    lines: Mutex<Vec<String>>,
    next: AtomicU64,
    limit: u64,
}

impl Recorder {
    fn new(limit: usize) -> Arc<Self> {
        Arc::new(Recorder {
            lines: Mutex::new(Vec::new()),
            next: AtomicU64::new(0),
            limit: limit as u64,
        })
    }

    /// Keeps `line(i)` if this is output `i` below the limit.
    fn record(&self, line: impl FnOnce(u64) -> String) {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if i < self.limit {
            self.lines.lock().push(line(i));
        }
    }
}

/// The median of some durations, in whole milliseconds (0 for none).
fn median_ms(mut d: Vec<Duration>) -> u128 {
    d.sort();
    d.get(d.len() / 2).map_or(0, Duration::as_millis)
}

/// Starts the job, waits for `batches` batches, stops it and prints the recorded lines.
fn run_batches(ssc: &StreamingContext, batches: usize, recorded: &Recorder) -> Result<()> {
    ssc.start()?;
    let last = Time::from_millis(batches as i64 * 1000);
    while !ssc.await_batch(last, Duration::from_secs(5))? {}
    ssc.stop(StopMode::Immediate)?;
    for r in recorded.lines.lock().iter() {
        println!("{r}");
    }
    Ok(())
}

/// Options of `corpus`.
#[derive(clap::Args)]
pub struct CorpusArgs {
    /// Output file.
    #[arg(long)]
    out: String,
    /// Lines of 10 words.
    #[arg(long, default_value_t = 200_000)]
    lines: usize,
    /// Seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// Writes the corpus file.
pub fn corpus(a: CorpusArgs) -> Result<()> {
    let c = Corpus::standard();
    let file = std::fs::File::create(&a.out).map_err(|e| Error::io("creating", &a.out, e))?;
    let mut w = std::io::BufWriter::new(file);
    let mut g = c.generator(a.seed, 10);
    for _ in 0..a.lines {
        writeln!(w, "{}", g.next_line()).map_err(|e| Error::io("writing", &a.out, e))?;
    }
    w.flush().map_err(|e| Error::io("writing", &a.out, e))
}

/// Options of `queue-wordcount` (the same as the Spark program's arguments).
#[derive(clap::Args)]
pub struct QueueArgs {
    /// The corpus file.
    #[arg(long)]
    file: String,
    /// Batches.
    #[arg(long, default_value_t = 10)]
    batches: usize,
    /// Lines per batch.
    #[arg(long, default_value_t = 50_000)]
    lines_per_batch: usize,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// How Sluice's program splits lines into words: `small` (`split_small`, the word count's
    /// idiom, no allocation per word), `string` (`split_owned`, a `String` per word) or `naive`
    /// (a vector of `String`s per line).
    #[arg(long, value_enum, default_value_t = Words::Small)]
    words: Words,
}

/// The word type of Sluice's word count.
#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum Words {
    /// `split_small`: `SmallString` words.
    Small,
    /// `split_owned`: `String` words.
    String,
    /// `l.split(' ').map(String::from).collect::<Vec<_>>()`: a vector per line and a `String`
    /// per word (what a new user writes first).
    Naive,
}

/// Sums processing times and notes when the first batch completed.
struct Sum {
    total: Mutex<Duration>,
    started: Instant,
    first_batch: Mutex<Option<Duration>>,
}

impl StreamingListener for Sum {
    fn on_batch_completed(&self, b: &BatchInfo) {
        *self.total.lock() += b.processing_delay.unwrap_or_default();
        self.first_batch
            .lock()
            .get_or_insert_with(|| self.started.elapsed());
    }
}

/// The lines of each batch: batch `b` is lines `[b·n, b·n + n)` of the file, wrapping at its
/// end as the other engines' programs do. Reads the file twice, a line at a time (to count its
/// lines, then to pick the batches' lines), so that only the batches are ever held in memory.
fn read_batches(file: &str, batches: usize, per_batch: usize) -> Result<Vec<Vec<String>>> {
    use std::io::BufRead;
    let open = || -> Result<std::io::BufReader<std::fs::File>> {
        let f = std::fs::File::open(file).map_err(|e| Error::io("opening", file, e))?;
        Ok(std::io::BufReader::new(f))
    };
    let mut total = 0usize;
    for line in open()?.lines() {
        line.map_err(|e| Error::io("reading", file, e))?;
        total += 1;
    }
    let n = per_batch.min(total).max(1);
    let starts: Vec<usize> = (0..batches)
        .map(|b| (b * n) % (total.max(n) - n + 1))
        .collect();
    let mut out: Vec<Vec<String>> = (0..batches).map(|_| Vec::with_capacity(n)).collect();
    for (i, line) in open()?.lines().enumerate() {
        let line = line.map_err(|e| Error::io("reading", file, e))?;
        for (b, &start) in starts.iter().enumerate() {
            if (start..start + n).contains(&i) {
                out[b].push(line.clone());
            }
        }
    }
    Ok(out)
}

/// Counts the words of each batch and records the batch's distinct and total words.
fn count_words<W: Data + std::hash::Hash + Eq>(
    words: DStream<W>,
    partitions: usize,
    results: &Arc<Recorder>,
    counted: &Arc<AtomicU64>,
) -> Result<()> {
    let (r2, w2) = (Arc::clone(results), Arc::clone(counted));
    words
        .map(|w| (w, 1u64))
        .reduce_by_key_into(partitions, |x, y| x + y)
        .foreach_rdd(move |rdd, _| {
            let (distinct, total) = rdd
                .map(|(_, c)| (1u64, c))
                .fold((0, 0), |x, y| (x.0 + y.0, x.1 + y.1))?;
            w2.fetch_add(total, Ordering::Relaxed);
            r2.record(|i| format!("BATCH {i} {distinct} {total}"));
            Ok(())
        })
}

/// Counts the words of each queued batch of lines (split as `words` says), runs the batches
/// back to back, and prints the recorded lines and the RESULT line.
fn run_queue_wordcount(
    ssc: &StreamingContext,
    queue: &RddQueue<String>,
    batches: usize,
    threads: usize,
    words_of: Words,
    started: Instant,
) -> Result<()> {
    let results = Recorder::new(batches);
    let words = Arc::new(AtomicU64::new(0));
    let lines = ssc.queue_stream(queue, true, None);
    match words_of {
        Words::Small => count_words(
            lines.flat_map(|l: String| split_small(l, ' ')),
            threads,
            &results,
            &words,
        )?,
        Words::String => count_words(
            lines.flat_map(|l: String| split_owned(l, ' ')),
            threads,
            &results,
            &words,
        )?,
        Words::Naive => count_words(
            lines.flat_map(|l: String| l.split(' ').map(String::from).collect::<Vec<_>>()),
            threads,
            &results,
            &words,
        )?,
    }
    let sum = Arc::new(Sum {
        total: Mutex::new(Duration::ZERO),
        started,
        first_batch: Mutex::new(None),
    });
    ssc.add_listener(sum.clone());
    let t0 = Instant::now();
    run_batches(ssc, batches, &results)?;
    let wall = t0.elapsed();
    println!(
        "RESULT engine=sluice batches={} words={} processing_ms={} wall_ms={} first_batch_ms={}",
        batches,
        words.load(Ordering::Relaxed),
        sum.total.lock().as_millis(),
        wall.as_millis(),
        sum.first_batch.lock().map_or(-1, |d| d.as_millis() as i64)
    );
    Ok(())
}

/// Runs workload (a) back to back on a step clock.
pub fn queue_wordcount(a: QueueArgs) -> Result<()> {
    let started = Instant::now();
    let (ctx, ssc) = step_context(a.threads)?;
    let queue = RddQueue::new();
    for batch in read_batches(&a.file, a.batches, a.lines_per_batch)? {
        queue.push(ctx.parallelize(batch, a.threads));
    }
    run_queue_wordcount(&ssc, &queue, a.batches, a.threads, a.words, started)
}

/// Workload (a) by a hand-written program, the physical limit at the same number of threads:
/// each batch's lines are split among `threads` scoped threads that count words into hash
/// maps keyed by borrowed `&str` (no allocation per word), merged at the end of the batch.
/// Prints the same lines as the engines; its processing time is the sum of the batches' times.
pub fn hand_wordcount(a: QueueArgs) -> Result<()> {
    let started = Instant::now();
    let text = std::fs::read_to_string(&a.file).map_err(|e| Error::io("reading", &a.file, e))?;
    let lines: Vec<&str> = text.lines().collect();
    let n = a.lines_per_batch.min(lines.len()).max(1);
    let threads = a.threads.max(1);
    let mut processing = Duration::ZERO;
    let mut words = 0u64;
    let mut first_batch = None;
    for b in 0..a.batches {
        let start = (b * n) % (lines.len() - n + 1);
        let batch = &lines[start..start + n];
        let t0 = Instant::now();
        let (distinct, count) = hand_count(batch, threads);
        processing += t0.elapsed();
        first_batch.get_or_insert_with(|| started.elapsed());
        words += count;
        println!("BATCH {b} {distinct} {count}");
    }
    println!(
        "RESULT engine=hand batches={} words={words} processing_ms={} wall_ms={} first_batch_ms={}",
        a.batches,
        processing.as_millis(),
        started.elapsed().as_millis(),
        first_batch.map_or(-1, |d| d.as_millis() as i64)
    );
    Ok(())
}

/// Options of `split-corpus`.
#[derive(clap::Args)]
pub struct SplitCorpusArgs {
    /// The corpus file.
    #[arg(long)]
    file: String,
    /// Lines per output file (one batch each).
    #[arg(long)]
    lines_per_file: usize,
    /// The directory to write `part-NNNNN.txt` into (created; must not hold other files).
    #[arg(long)]
    out: String,
}

/// Cuts the corpus into files of `lines_per_file` lines, in order (the last may be shorter).
pub fn split_corpus(a: SplitCorpusArgs) -> Result<()> {
    use std::io::BufRead;
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io("creating", &a.out, e))?;
    let f = std::fs::File::open(&a.file).map_err(|e| Error::io("opening", &a.file, e))?;
    let mut out: Option<std::io::BufWriter<std::fs::File>> = None;
    let (mut in_file, mut files) = (0usize, 0usize);
    for line in std::io::BufReader::new(f).lines() {
        let line = line.map_err(|e| Error::io("reading", &a.file, e))?;
        if out.is_none() || in_file == a.lines_per_file.max(1) {
            if let Some(mut w) = out.take() {
                w.flush().map_err(|e| Error::io("writing", &a.out, e))?;
            }
            let path = format!("{}/part-{files:05}.txt", a.out);
            let file = std::fs::File::create(&path).map_err(|e| Error::io("creating", &path, e))?;
            out = Some(std::io::BufWriter::new(file));
            files += 1;
            in_file = 0;
        }
        if let Some(w) = out.as_mut() {
            writeln!(w, "{line}").map_err(|e| Error::io("writing", &a.out, e))?;
        }
        in_file += 1;
    }
    if let Some(mut w) = out {
        w.flush().map_err(|e| Error::io("writing", &a.out, e))?;
    }
    Ok(())
}

/// Options of `file-wordcount` and `hand-file-wordcount`.
#[derive(clap::Args)]
pub struct FileArgs {
    /// A directory of text files: each file is one batch, in name order.
    #[arg(long)]
    dir: String,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// How Sluice's program splits lines into words (see `queue-wordcount`).
    #[arg(long, value_enum, default_value_t = Words::Small)]
    words: Words,
}

/// The files of a directory, in name order.
fn batch_files(dir: &str) -> Result<Vec<std::path::PathBuf>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io("listing", dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// Word count over batches read from files: each batch is `text_file` of one file (read in
/// the batch, so reading counts in its processing time, as in Spark's program), back to back
/// on a step clock.
pub fn file_wordcount(a: FileArgs) -> Result<()> {
    let started = Instant::now();
    let (ctx, ssc) = step_context(a.threads)?;
    let files = batch_files(&a.dir)?;
    let queue = RddQueue::new();
    for f in &files {
        queue.push(ctx.text_files(std::slice::from_ref(f), a.threads, "batch file")?);
    }
    run_queue_wordcount(&ssc, &queue, files.len(), a.threads, a.words, started)
}

/// The hand-written word count of one batch's lines on `threads` scoped threads: hash maps
/// keyed by borrowed `&str` (no allocation per word), merged at the end. Returns the
/// distinct words and the total.
fn hand_count(batch: &[&str], threads: usize) -> (u64, u64) {
    let chunk = batch.len().div_ceil(threads.max(1));
    let maps: Vec<rustc_hash::FxHashMap<&str, u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = batch
            .chunks(chunk.max(1))
            .map(|part| {
                s.spawn(move || {
                    let mut m = rustc_hash::FxHashMap::default();
                    for l in part {
                        for w in l.split(' ') {
                            *m.entry(w).or_insert(0u64) += 1;
                        }
                    }
                    m
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut maps = maps.into_iter();
    let mut total = maps.next().unwrap_or_default();
    for m in maps {
        for (w, c) in m {
            *total.entry(w).or_insert(0) += c;
        }
    }
    (total.len() as u64, total.values().sum::<u64>())
}

/// `file-wordcount` by a hand-written program: each batch reads its file whole, checks it is
/// UTF-8, and counts its lines' words with [`hand_count`]. Reading counts in the batch's time.
pub fn hand_file_wordcount(a: FileArgs) -> Result<()> {
    let started = Instant::now();
    let files = batch_files(&a.dir)?;
    let (mut processing, mut words, mut first_batch) = (Duration::ZERO, 0u64, None);
    for (b, f) in files.iter().enumerate() {
        let t0 = Instant::now();
        let text = std::fs::read_to_string(f).map_err(|e| Error::io("reading", f, e))?;
        let lines: Vec<&str> = text.lines().collect();
        let (distinct, count) = hand_count(&lines, a.threads);
        processing += t0.elapsed();
        first_batch.get_or_insert_with(|| started.elapsed());
        words += count;
        println!("BATCH {b} {distinct} {count}");
    }
    println!(
        "RESULT engine=hand batches={} words={words} processing_ms={} wall_ms={} first_batch_ms={}",
        files.len(),
        processing.as_millis(),
        started.elapsed().as_millis(),
        first_batch.map_or(-1, |d| d.as_millis() as i64)
    );
    Ok(())
}

/// Options of `state-side` (the same as the Spark program's arguments).
#[derive(clap::Args)]
pub struct StateSideArgs {
    /// `update` (update_state_by_key) or `map` (map_with_state).
    #[arg(long)]
    mode: String,
    /// Keys in the initial state.
    #[arg(long, default_value_t = 1_000_000)]
    keys: u64,
    /// Updates per batch.
    #[arg(long, default_value_t = 100_000)]
    updates: u64,
    /// Batches.
    #[arg(long, default_value_t = 6)]
    batches: usize,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

/// Processing delays of the completed batches, and when the first one completed.
struct Delays {
    delays: Mutex<Vec<Duration>>,
    started: Instant,
    first_batch: Mutex<Option<Duration>>,
}

impl Delays {
    fn new(started: Instant) -> Self {
        Delays {
            delays: Mutex::new(Vec::new()),
            started,
            first_batch: Mutex::new(None),
        }
    }

    /// Milliseconds from the program's start to the first completed batch (-1: none).
    fn first_batch_ms(&self) -> i64 {
        self.first_batch.lock().map_or(-1, |d| d.as_millis() as i64)
    }
}

impl StreamingListener for Delays {
    fn on_batch_completed(&self, b: &BatchInfo) {
        self.delays
            .lock()
            .push(b.processing_delay.unwrap_or_default());
        self.first_batch
            .lock()
            .get_or_insert_with(|| self.started.elapsed());
    }
}

/// Runs workload (d): batch `b` holds records `i` in `[b·U, (b+1)·U)` with key
/// `(i · 2654435761) mod K` and value 1, from an initial state of K keys at 0.
pub fn state_side(a: StateSideArgs) -> Result<()> {
    use sluice::streaming::state::{State, StateSpec};
    let started = Instant::now();
    let (ctx, ssc) = step_context(a.threads)?;
    let (keys, updates) = (a.keys, a.updates);
    let queue = RddQueue::new();
    for b in 0..a.batches as i64 {
        let u = updates as i64;
        queue.push(
            ctx.range(b * u, (b + 1) * u, 1, a.threads)
                .map(|i| i as u64),
        );
    }
    let initial = ctx
        .range(0, keys as i64, 1, a.threads)
        .map(|k| (k as u64, 0u64));
    let records = ssc
        .queue_stream(&queue, true, None)
        .map(move |i| (i.wrapping_mul(2_654_435_761) % keys, 1u64));
    let state = if a.mode == "update" {
        records.update_state_by_key_with(
            |_t, _k, vs: &[u64], s: Option<&u64>| {
                Some(s.copied().unwrap_or(0) + vs.iter().sum::<u64>())
            },
            Some(a.threads),
            Some(initial),
        )
    } else {
        let spec = StateSpec::function(|_t, _k: &u64, v: Option<u64>, s: &mut State<u64>| {
            let n = s.get_option().copied().unwrap_or(0) + v.unwrap_or(0);
            s.update(n).ok()?;
            Some(n)
        })
        .initial_state(initial)
        .num_partitions(a.threads);
        records.map_with_state(spec).state_snapshots()
    };
    let results = Recorder::new(a.batches);
    let r2 = Arc::clone(&results);
    state.foreach_rdd(move |rdd, _| {
        let (n, sum) = rdd
            .map(|(_, c)| (1u64, c))
            .fold((0, 0), |x, y| (x.0 + y.0, x.1 + y.1))?;
        r2.record(|i| format!("STATE {i} {n} {sum}"));
        Ok(())
    })?;
    let delays = Arc::new(Delays::new(started));
    ssc.add_listener(delays.clone());
    run_batches(&ssc, a.batches, &results)?;
    let d: Vec<Duration> = delays
        .delays
        .lock()
        .iter()
        .skip(1)
        .take(a.batches - 1)
        .copied()
        .collect();
    println!(
        "RESULT engine=sluice mode={} first_batch_ms={} median_batch_ms={}",
        a.mode,
        delays.first_batch_ms(),
        median_ms(d)
    );
    Ok(())
}

/// Options of `window-side` (the same as the Spark program's arguments).
#[derive(clap::Args)]
pub struct WindowSideArgs {
    /// Distinct keys.
    #[arg(long, default_value_t = 10_000)]
    keys: u64,
    /// Records per batch.
    #[arg(long, default_value_t = 50_000)]
    per_batch: u64,
    /// Batches (1 s each; a window of 10 s slides every 2 s).
    #[arg(long, default_value_t = 12)]
    batches: usize,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

/// Runs workload (c): `reduce_by_key_and_window` with an inverse, window 10 s, slide 2 s.
pub fn window_side(a: WindowSideArgs) -> Result<()> {
    let started = Instant::now();
    let (ctx, ssc) = step_context(a.threads)?;
    let (keys, u) = (a.keys, a.per_batch as i64);
    let queue = RddQueue::new();
    for b in 0..a.batches as i64 {
        queue.push(
            ctx.range(b * u, (b + 1) * u, 1, a.threads)
                .map(|i| i as u64),
        );
    }
    let windows = ssc
        .queue_stream(&queue, true, None)
        .map(move |i| (i.wrapping_mul(2_654_435_761) % keys, 1i64))
        .reduce_by_key_and_window_inv_with(
            |x, y| x + y,
            |x, y| x - y,
            seconds(10),
            seconds(2),
            Some(a.threads),
            None,
        )?;
    let results = Recorder::new(a.batches / 2);
    let r2 = Arc::clone(&results);
    windows.foreach_rdd(move |rdd, _| {
        let (n, sum) = rdd
            .map(|(_, c)| (u64::from(c != 0), c))
            .fold((0, 0), |x, y| (x.0 + y.0, x.1 + y.1))?;
        r2.record(|i| format!("WINDOW {i} {n} {sum}"));
        Ok(())
    })?;
    let delays = Arc::new(Delays::new(started));
    ssc.add_listener(delays.clone());
    run_batches(&ssc, a.batches, &results)?;
    // Window batches are the even seconds: every other batch, starting with the second.
    let d: Vec<Duration> = delays
        .delays
        .lock()
        .iter()
        .take(a.batches)
        .skip(1)
        .step_by(2)
        .copied()
        .collect();
    // The summed processing time of the workload's batches (empty ones may follow).
    let processing: Duration = delays.delays.lock().iter().take(a.batches).sum();
    println!(
        "RESULT engine=sluice first_batch_ms={} median_window_batch_ms={} batches={} processing_ms={:.1}",
        delays.first_batch_ms(),
        median_ms(d),
        a.batches,
        processing.as_secs_f64() * 1000.0
    );
    Ok(())
}
