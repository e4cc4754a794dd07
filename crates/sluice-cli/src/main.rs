//! The `sluice` command-line program.
//!
//! - `sluice demo`: a streaming word count over the embedded text generator — nothing to
//!   install or start — printing each batch in Spark's format and a one-line summary per batch,
//!   until Ctrl-C (a graceful stop) or `--batches N`.
//! - `sluice wordcount`: word count with the RDD API over a file, directory or glob (`--input`)
//!   or a generated corpus; or a streaming word count over a TCP socket (`--socket`) or a
//!   directory of new files (`--dir`).

use std::cmp::Reverse;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use sluice::corpus::Corpus;
use sluice::prelude::*;
use sluice::ui::{UiConfig, UiServer};
use sluice::BatchInfo;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "Sluice: micro-batch stream processing with Spark Streaming's model"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Streaming word count over the embedded text generator.
    Demo(DemoArgs),
    /// Word count: batch (RDD) over files or a generated corpus, or streaming over a socket or
    /// a directory.
    Wordcount(WordcountArgs),
}

#[derive(clap::Args)]
struct StreamArgs {
    /// Batch interval in milliseconds.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// Stop (gracefully) after this many batches; run until Ctrl-C otherwise.
    #[arg(long)]
    batches: Option<u64>,
    /// Records of each batch to print.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Master: `local`, `local[N]` or `local[*]`.
    #[arg(long, default_value = "local[*]")]
    master: String,
    /// Port of the web UI (the next free one is used if it is taken; 0 picks any).
    #[arg(long, default_value_t = 4040)]
    ui_port: u16,
    /// Do not start the web UI.
    #[arg(long)]
    no_ui: bool,
}

#[derive(clap::Args)]
struct DemoArgs {
    /// Lines generated per second (10 words each).
    #[arg(long, default_value_t = 20_000)]
    rate: u64,
    /// Seed of the generated text.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[command(flatten)]
    stream: StreamArgs,
}

#[derive(clap::Args)]
struct WordcountArgs {
    /// A text file, directory or glob to count with the RDD API.
    #[arg(long, conflicts_with_all = ["socket", "dir"])]
    input: Option<String>,
    /// Stream lines from a TCP server, `host:port`.
    #[arg(long, conflicts_with = "dir")]
    socket: Option<String>,
    /// Stream the lines of new files appearing in this directory.
    #[arg(long)]
    dir: Option<String>,
    /// Lines of generated text (batch mode without --input).
    #[arg(long, default_value_t = 200_000)]
    lines: usize,
    /// Seed of the generated text.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of partitions (batch mode).
    #[arg(long)]
    partitions: Option<usize>,
    /// Write all counts as text files into this directory (batch mode; must not exist).
    #[arg(long)]
    output: Option<String>,
    #[command(flatten)]
    stream: StreamArgs,
}

fn main() -> ExitCode {
    // Huge pages inflate the resident size of mimalloc's per-thread pages (see the module).
    if let Err(e) = sluice::memory::disable_transparent_huge_pages() {
        eprintln!("note: transparent huge pages stay on: {e}");
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo(args),
        Command::Wordcount(args) => wordcount(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Splits lines into `(word, 1)` pairs and counts them per batch, largest counts first.
fn count_words(lines: DStream<String>) -> DStream<(String, u64)> {
    lines
        .flat_map(|l: String| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
        .transform(|rdd, _| {
            let n = rdd.num_partitions().max(1);
            Ok(rdd.sort_by(|(w, c)| (Reverse(*c), w.clone()), true, n))
        })
}

/// Shows the job's progress: a live status line on a terminal, a plain line per batch
/// otherwise (both on standard error, beside the batches printed on standard output).
struct Status {
    tty: bool,
    totals: parking_lot::Mutex<(u64, u64)>,
}

impl Status {
    fn new() -> Self {
        use std::io::IsTerminal;
        Status {
            tty: std::io::stderr().is_terminal(),
            totals: parking_lot::Mutex::new((0, 0)),
        }
    }
}

impl StreamingListener for Status {
    fn on_batch_completed(&self, b: &BatchInfo) {
        let ms = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1e3);
        let (batches, records) = {
            let mut t = self.totals.lock();
            t.0 += 1;
            t.1 += b.num_records();
            *t
        };
        let failed = b.num_failed_output_ops();
        let line = format!(
            "batch {}: {} records, processing {:.1} ms, scheduling delay {:.1} ms | {} batches, {} records{}",
            b.batch_time,
            b.num_records(),
            ms(b.processing_delay),
            ms(b.scheduling_delay),
            batches,
            records,
            if failed > 0 {
                format!(" | {failed} output operation(s) FAILED")
            } else {
                String::new()
            }
        );
        if self.tty {
            eprint!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
    }
}

/// Runs a started context until `--batches` or Ctrl-C, then stops it gracefully.
fn run_until_done(ssc: &StreamingContext, args: &StreamArgs) -> Result<()> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    // A second Ctrl-C while stopping falls through to the default (exit).
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    let mut failure = None;
    loop {
        if interrupted.load(Ordering::SeqCst) {
            eprintln!("stopping gracefully (Ctrl-C again to exit at once) ...");
            break;
        }
        if args.batches.is_some_and(|n| ssc.batches_completed() >= n) {
            break;
        }
        match ssc.await_termination_timeout(Duration::from_millis(100)) {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => {
                eprintln!("batch failed: {e}");
                failure.get_or_insert(e);
            }
        }
    }
    let timeout = Duration::from_millis(args.interval_ms.saturating_mul(10).max(1000));
    ssc.stop(StopMode::Graceful { timeout })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn streaming_context(args: &StreamArgs, app: &str) -> Result<StreamingContext> {
    let ctx = Context::new(Conf::new().set_master(&args.master).set_app_name(app))?;
    let ssc = StreamingContext::new(&ctx, Duration::from_millis(args.interval_ms.max(1)))?;
    ssc.add_listener(Arc::new(Status::new()));
    Ok(ssc)
}

/// Starts the web UI unless turned off; keep the returned server alive while the job runs.
fn start_ui(ssc: &StreamingContext, args: &StreamArgs) -> Result<Option<UiServer>> {
    if args.no_ui {
        return Ok(None);
    }
    let ui = UiServer::start(
        ssc,
        &UiConfig {
            port: args.ui_port,
            ..UiConfig::default()
        },
    )?;
    eprintln!("Streaming UI at {}", ui.url());
    Ok(Some(ui))
}

fn demo(args: DemoArgs) -> Result<()> {
    let ssc = streaming_context(&args.stream, "demo")?;
    let corpus = Arc::new(Corpus::standard());
    let seed = args.seed;
    println!(
        "Sluice demo: word count over {} generated lines/s (10 words each, vocabulary {}), \
         batches of {} ms",
        args.rate,
        corpus.vocab_size(),
        args.stream.interval_ms
    );
    let lines = ssc
        .rate_stream(args.rate, None, move |i| corpus.line_at(seed, i, 10))
        .name("generated lines");
    count_words(lines).print(args.stream.top)?;
    let _ui = start_ui(&ssc, &args.stream)?;
    ssc.start()?;
    run_until_done(&ssc, &args.stream)
}

fn wordcount(args: WordcountArgs) -> Result<()> {
    if let Some(addr) = &args.socket {
        let (host, port) = addr
            .rsplit_once(':')
            .and_then(|(h, p)| p.parse::<u16>().ok().map(|p| (h.to_string(), p)))
            .ok_or_else(|| {
                Error::InvalidArgument(format!("--socket wants host:port, got {addr}"))
            })?;
        let ssc = streaming_context(&args.stream, "network word count")?;
        count_words(ssc.socket_text_stream(&host, port)).print(args.stream.top)?;
        let _ui = start_ui(&ssc, &args.stream)?;
        ssc.start()?;
        return run_until_done(&ssc, &args.stream);
    }
    if let Some(dir) = &args.dir {
        let ssc = streaming_context(&args.stream, "directory word count")?;
        count_words(ssc.text_file_stream(dir)?).print(args.stream.top)?;
        let _ui = start_ui(&ssc, &args.stream)?;
        ssc.start()?;
        return run_until_done(&ssc, &args.stream);
    }
    batch_wordcount(&args)
}

fn batch_wordcount(args: &WordcountArgs) -> Result<()> {
    let ctx = Context::new(
        Conf::new()
            .set_master(&args.stream.master)
            .set_app_name("wordcount"),
    )?;
    let parts = args.partitions.unwrap_or(ctx.worker_threads() * 2).max(1);
    let started = Instant::now();
    let lines = match &args.input {
        Some(path) => ctx.text_file(path, parts)?,
        None => {
            let corpus = Corpus::standard();
            println!(
                "Generated corpus: {} lines of 10 words from a vocabulary of {} (seed {})",
                args.lines,
                corpus.vocab_size(),
                args.seed
            );
            ctx.parallelize(corpus.lines(args.seed, args.lines, 10), parts)
        }
    };
    let counts = lines
        .flat_map(|l: String| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
        .cache();
    let top = counts.take_ordered_by(args.stream.top, |a, b| {
        b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0))
    })?;
    let total: u64 = counts.map(|(_, n)| n).fold(0, |a, b| a + b)?;
    let distinct = counts.count()?;
    println!(
        "{total} words, {distinct} distinct, counted in {:.1} ms on {} worker threads",
        started.elapsed().as_secs_f64() * 1e3,
        ctx.worker_threads()
    );
    println!("Top {} words:", top.len());
    for (w, n) in &top {
        println!("{n:>10}  {w}");
    }
    if let Some(out) = &args.output {
        counts.save_as_text_file(out)?;
        println!("Counts written to {out}");
    }
    Ok(())
}
