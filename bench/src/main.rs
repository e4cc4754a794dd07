//! Sluice's benchmark harness.
//!
//! `sluice-bench wordcount` measures the RDD word count (lines → `flat_map` words → `map`
//! `(w, 1)` → `reduce_by_key` → `collect`) on a seeded corpus at 1 and 2 worker threads,
//! beside a hand-written single-threaded loop (split + hash-map count) in the same run. The
//! variants run alternately (A B C A B C ...) so that ratios hold while the machine's speed
//! drifts; the report gives medians and ratios as a Markdown table.
//!
//! `sluice-bench streaming` runs a streaming word count at 1 s, 100 ms and 10 ms batches on
//! the generator and on a queue of pre-made batches, and reports throughput, processing time
//! and scheduling delay percentiles.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use rustc_hash::FxHashMap;
use sluice::corpus::Corpus;
use sluice::prelude::*;

mod analytics;
mod event_time;
mod event_time_side;
#[cfg(feature = "kafka")]
mod kafka;
mod latency;
#[cfg(feature = "tables")]
mod parquet_write;
mod side_by_side;
mod state;
mod streaming;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "sluice-bench", about = "Sluice benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Word count: RDD at 1 and 2 threads against a hand-written loop.
    Wordcount(WordcountArgs),
    /// Streaming word count at several batch intervals, on the generator and on a queue.
    Streaming(streaming::StreamingArgs),
    /// Keyed state: map_with_state and update_state_by_key with many keys; checkpoints.
    State(state::StateArgs),
    /// Event time: a sliding event-time window with a watermark over out-of-order records.
    EventTime(event_time::EventTimeArgs),
    /// End-to-end latency over a socket at several batch intervals.
    Latency(latency::LatencyArgs),
    /// Writes the seeded corpus shared by every engine of the side-by-side benchmarks.
    Corpus(side_by_side::CorpusArgs),
    /// Workload (a) of the side-by-side benchmarks: word count over a queue of batches read
    /// from the corpus file, printing the lines the harness compares across engines.
    QueueWordcount(side_by_side::QueueArgs),
    /// Workload (a) by a hand-written multi-threaded loop (the physical limit), with the same
    /// output lines.
    HandWordcount(side_by_side::QueueArgs),
    /// Cuts a corpus file into files of N lines, one batch each for `file-wordcount`.
    SplitCorpus(side_by_side::SplitCorpusArgs),
    /// Word count over batches read from files (one file per batch), at large batch sizes.
    FileWordcount(side_by_side::FileArgs),
    /// `file-wordcount` by a hand-written multi-threaded loop, with the same output lines.
    HandFileWordcount(side_by_side::FileArgs),
    /// Workload (d) of the side-by-side benchmarks: keyed state with many keys, printing the
    /// lines the harness compares across engines.
    StateSide(side_by_side::StateSideArgs),
    /// Workload (c) of the side-by-side benchmarks: an incremental window over batches of
    /// generated keys.
    WindowSide(side_by_side::WindowSideArgs),
    /// Workload (f) of the side-by-side benchmarks: a sliding event-time window over
    /// out-of-order records, printing the windows the harness compares across engines.
    EventTimeSide(event_time_side::EventTimeSideArgs),
    /// Analytics: the lag model per key and StreamingKMeans, per batch (section (h)).
    Analytics(analytics::AnalyticsArgs),
    /// Parquet: writing records as Parquet files, Sluice against arrow-rs by hand.
    #[cfg(feature = "tables")]
    Parquet(parquet_write::ParquetArgs),
    /// Kafka: consume → count → produce through a broker, beside the raw consume rate.
    #[cfg(feature = "kafka")]
    Kafka(kafka::KafkaArgs),
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Source {
    /// Lines held in memory (`parallelize`).
    Memory,
    /// Lines read from a text file written once before the runs (`text_file`).
    File,
}

#[derive(clap::Args)]
struct WordcountArgs {
    /// Lines of 10 words.
    #[arg(long, default_value_t = 2_000_000)]
    lines: usize,
    /// Vocabulary size (Zipf-like frequencies).
    #[arg(long, default_value_t = 100_000)]
    vocab: usize,
    /// Rounds; each round runs every variant once.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Seed of the corpus.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Run only the RDD at this many threads (for profiling).
    #[arg(long)]
    only_threads: Option<usize>,
    /// Where the RDD reads its lines from.
    #[arg(long, value_enum, default_value_t = Source::Memory)]
    source: Source,
}

fn main() -> ExitCode {
    // Huge pages inflate the resident size of mimalloc's per-thread pages (see the module).
    if let Err(e) = sluice::memory::disable_transparent_huge_pages() {
        eprintln!("note: transparent huge pages stay on: {e}");
    }
    let cli = Cli::parse();
    let r = match cli.command {
        Command::Wordcount(a) => wordcount(a),
        Command::Streaming(a) => streaming::run(a),
        Command::State(a) => state::run_all(a),
        Command::EventTime(a) => event_time::run_all(a),
        Command::Latency(a) => latency::run(a),
        Command::Corpus(a) => side_by_side::corpus(a),
        Command::QueueWordcount(a) => side_by_side::queue_wordcount(a),
        Command::HandWordcount(a) => side_by_side::hand_wordcount(a),
        Command::SplitCorpus(a) => side_by_side::split_corpus(a),
        Command::FileWordcount(a) => side_by_side::file_wordcount(a),
        Command::HandFileWordcount(a) => side_by_side::hand_file_wordcount(a),
        Command::StateSide(a) => side_by_side::state_side(a),
        Command::WindowSide(a) => side_by_side::window_side(a),
        Command::EventTimeSide(a) => event_time_side::event_time_side(a),
        Command::Analytics(a) => analytics::run(a),
        #[cfg(feature = "tables")]
        Command::Parquet(a) => parquet_write::run(a),
        #[cfg(feature = "kafka")]
        Command::Kafka(a) => kafka::run(a),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The physical limit: one thread, split on spaces, count in a hash map, allocate a key only
/// for a word not seen before.
fn hand_loop<'a>(lines: impl Iterator<Item = &'a str>) -> FxHashMap<String, u64> {
    let mut counts: FxHashMap<String, u64> = FxHashMap::default();
    for line in lines {
        for w in line.split(' ') {
            if let Some(c) = counts.get_mut(w) {
                *c += 1;
            } else {
                counts.insert(w.to_owned(), 1);
            }
        }
    }
    counts
}

/// The RDD word count. Takes the input by reference: freeing the input is not part of the
/// count (nor of the hand-written loop's).
fn rdd_wordcount(lines: &Rdd<String>) -> Result<Vec<(sluice::text::SmallString, u64)>> {
    lines
        .flat_map(|l: String| sluice::text::split_small(l, ' '))
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
        .collect()
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn wordcount(a: WordcountArgs) -> Result<()> {
    let corpus = Corpus::new(a.vocab, 1.0);
    eprintln!("generating {} lines ...", a.lines);
    let lines = corpus.lines(a.seed, a.lines, 10);
    let words: u64 = lines.iter().map(|l| l.split(' ').count() as u64).sum();
    let dir = std::env::temp_dir().join(format!("sluice-bench-{}", std::process::id()));
    let file = dir.join("corpus.txt");
    if a.source == Source::File {
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating", &dir, e))?;
        std::fs::write(&file, lines.join("\n") + "\n")
            .map_err(|e| Error::io("writing", &file, e))?;
    }
    let ctx1 = Context::local(1)?;
    let ctx2 = Context::local(2)?;
    let expected = hand_loop(lines.iter().map(String::as_str));
    let mut times: [Vec<Duration>; 3] = Default::default();
    if let Some(n) = a.only_threads {
        let ctx = Context::local(n)?;
        for _ in 0..a.rounds {
            let rdd = ctx.parallelize(lines.clone(), n * 2);
            let t = Instant::now();
            let counts = rdd_wordcount(&rdd)?;
            println!("local[{n}]: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
            check(&expected, counts.len(), "rdd")?;
        }
        return Ok(());
    }
    for round in 0..a.rounds {
        // Hand-written loop.
        let t = Instant::now();
        let counts = match a.source {
            Source::Memory => hand_loop(lines.iter().map(String::as_str)),
            Source::File => {
                let text =
                    std::fs::read_to_string(&file).map_err(|e| Error::io("reading", &file, e))?;
                hand_loop(text.lines())
            }
        };
        times[0].push(t.elapsed());
        check(&expected, counts.len(), "hand loop")?;
        // RDD at 1 and 2 threads.
        for (i, ctx) in [(1, &ctx1), (2, &ctx2)] {
            let parts = ctx.worker_threads() * 2;
            let rdd = match a.source {
                Source::Memory => ctx.parallelize(lines.clone(), parts),
                Source::File => ctx.text_file(file.to_str().unwrap_or_default(), parts)?,
            };
            let t = Instant::now();
            let counts = rdd_wordcount(&rdd)?;
            times[i].push(t.elapsed());
            check(&expected, counts.len(), "rdd")?;
            if round == 0 {
                for (w, n) in counts.iter().take(1000) {
                    if expected.get(w.as_str()) != Some(n) {
                        return Err(Error::Internal(format!("count of {w} differs")));
                    }
                }
            }
        }
        eprintln!("round {} done", round + 1);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let med: Vec<Duration> = times.iter_mut().map(|t| median(t)).collect();
    let rate = |d: Duration| words as f64 / d.as_secs_f64() / 1e6;
    println!(
        "Word count, {} lines / {} words, vocabulary {}, source {}, {} rounds (medians)\n",
        a.lines,
        words,
        a.vocab,
        match a.source {
            Source::Memory => "memory",
            Source::File => "file",
        },
        a.rounds
    );
    println!("| variant | median time | Mwords/s | vs hand loop |");
    println!("|---|---:|---:|---:|");
    let names = [
        "hand-written loop, 1 thread",
        "RDD, local[1]",
        "RDD, local[2]",
    ];
    for (i, name) in names.iter().enumerate() {
        println!(
            "| {name} | {:.0} ms | {:.1} | {:.2} |",
            med[i].as_secs_f64() * 1e3,
            rate(med[i]),
            med[0].as_secs_f64() / med[i].as_secs_f64()
        );
    }
    println!(
        "\nlocal[2] / local[1] speed-up: {:.2}x",
        med[1].as_secs_f64() / med[2].as_secs_f64()
    );
    Ok(())
}

fn check(expected: &FxHashMap<String, u64>, got: usize, what: &str) -> Result<()> {
    if expected.len() != got {
        return Err(Error::Internal(format!(
            "{what} found {got} distinct words, expected {}",
            expected.len()
        )));
    }
    Ok(())
}
