//! The `sluice` command-line program.
//!
//! - `sluice demo`: a streaming word count over the embedded text generator — nothing to
//!   install or start — printing each batch in Spark's format and a one-line summary per batch,
//!   until Ctrl-C, SIGTERM or SIGHUP (a graceful stop) or `--batches N`.
//! - `sluice demo finance|ecommerce|traffic|grid`: the article's scenarios on seeded
//!   generators with injected anomalies (see `sluice::analytics::scenarios`), printing the
//!   alerts of each batch and, at the end, their precision and recall against the truth.
//! - `sluice wordcount`: word count with the RDD API over a file, directory or glob (`--input`)
//!   or a generated corpus; or a streaming word count over a TCP socket (`--socket`) or a
//!   directory of new files (`--dir`).
//!
//! Streaming jobs report on standard error: a status line per batch (with bad records when a
//! receiver counted some), receivers starting, failing and stopping, and a warning when
//! batches start later than `--max-delay-ms`. A graceful stop that has to drop queued batches
//! (after `--stop-timeout-ms`) says how many and exits with an error.

mod scenario_demo;
mod status;

use std::cmp::Reverse;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use sluice::analytics::monitor::ModelMonitor;
use sluice::corpus::Corpus;
use sluice::prelude::*;
use sluice::ui::{UiConfig, UiServer};

use crate::status::Status;

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
    #[arg(long, default_value_t = 1000, value_parser = at_least_one)]
    interval_ms: u64,
    /// Run this many batches, then stop gracefully; run until Ctrl-C, SIGTERM or SIGHUP
    /// otherwise.
    #[arg(long, value_parser = at_least_one)]
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
    /// Warn when a batch starts more than this many milliseconds after its time (the job is
    /// falling behind) [default: 10 batch intervals, at least 1000].
    #[arg(long, value_parser = at_least_one)]
    max_delay_ms: Option<u64>,
    /// How long a graceful stop may take to run the batches still queued, in milliseconds;
    /// batches still queued then are dropped and the program exits with an error [default:
    /// 10 batch intervals, at least 1000].
    #[arg(long)]
    stop_timeout_ms: Option<u64>,
}

impl StreamArgs {
    /// Ten batch intervals, at least a second.
    fn ten_intervals(&self) -> Duration {
        Duration::from_millis(self.interval_ms.saturating_mul(10).max(1000))
    }

    fn max_delay(&self) -> Duration {
        self.max_delay_ms
            .map_or_else(|| self.ten_intervals(), Duration::from_millis)
    }

    fn stop_timeout(&self) -> Duration {
        self.stop_timeout_ms
            .map_or_else(|| self.ten_intervals(), Duration::from_millis)
    }
}

#[derive(clap::Args)]
pub(crate) struct DemoArgs {
    /// A scenario of the article instead of the word count.
    #[arg(value_enum)]
    scenario: Option<scenario_demo::ScenarioName>,
    /// Scenario steps per batch (a step is one record per account, segment or substation,
    /// or one step's events of the shop).
    #[arg(long, default_value_t = 10, value_parser = at_least_one)]
    steps_per_batch: u64,
    /// Lines generated per second (10 words each; the word count).
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
    /// Stream lines from a TCP server, `host:port` (an IPv6 address in brackets).
    #[arg(long, conflicts_with = "dir", value_name = "HOST:PORT", value_parser = parse_host_port)]
    socket: Option<HostPort>,
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

/// Parses a count or duration that must not be zero.
fn at_least_one(s: &str) -> std::result::Result<u64, String> {
    match s.parse::<u64>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("expected a whole number of at least 1".into()),
    }
}

/// A TCP server's address as given: a host name or address, and a port.
#[derive(Debug, Clone)]
struct HostPort {
    host: String,
    port: u16,
}

/// Parses `host:port`, refusing what could never connect (an empty host, a port that is not
/// 1 to 65535).
fn parse_host_port(s: &str) -> std::result::Result<HostPort, String> {
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| "expected host:port, for example localhost:9999".to_string())?;
    if host.is_empty() {
        return Err("the host is empty: expected host:port, for example localhost:9999".into());
    }
    if host.chars().any(char::is_whitespace) {
        return Err(format!("the host {host:?} contains white space"));
    }
    let bracketed = host.starts_with('[') && host.ends_with(']');
    if host.contains(':') && !bracketed {
        return Err(format!(
            "write an IPv6 address in brackets, for example [{host}]:{port}"
        ));
    }
    if bracketed && host.len() == 2 {
        return Err("the host is empty: expected host:port, for example localhost:9999".into());
    }
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("bad port {port:?}: expected a number from 1 to 65535"))?;
    Ok(HostPort {
        host: host.to_string(),
        port,
    })
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
fn count_words(lines: DStream<String>) -> DStream<(sluice::text::SmallString, u64)> {
    lines
        .flat_map(sluice::text::words)
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
        .transform(|rdd, _| {
            let n = rdd.num_partitions().max(1);
            Ok(rdd.sort_by(|(w, c)| (Reverse(*c), w.clone()), true, n))
        })
}

/// Sets Ctrl-C, SIGTERM and SIGHUP to ask for a graceful stop; a second one exits at once.
fn stop_on_signals(status: &Arc<Status>) -> Arc<AtomicBool> {
    let requested = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&requested);
    if let Err(e) = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    }) {
        status.note(&format!(
            "note: Ctrl-C, SIGTERM and SIGHUP will not stop the job gracefully: {e}"
        ));
    }
    requested
}

/// Runs the job: limits it to `--batches`, starts the UI (with the job's models) and the
/// context, runs until done, stops gracefully.
pub(crate) fn run_stream(
    ssc: &StreamingContext,
    status: &Arc<Status>,
    args: &StreamArgs,
    models: &[Arc<ModelMonitor>],
) -> Result<()> {
    if let Some(n) = args.batches {
        ssc.limit_batches(n)?;
    }
    let ui = start_ui(ssc, status, args)?;
    if let Some(ui) = &ui {
        for m in models {
            ui.add_model(Arc::clone(m));
        }
    }
    let stop = stop_on_signals(status);
    ssc.start()?;
    let result = run_until_done(ssc, status, args, &stop);
    // The UI waits for open connections for a bounded time only.
    if let Some(ui) = ui {
        if let Err(e) = ui.stop() {
            status.note(&format!("note: stopping the UI: {e}"));
        }
    }
    result
}

/// Waits for `--batches` or a stop signal, then stops gracefully. Batches dropped by the stop
/// (it timed out) are an error.
fn run_until_done(
    ssc: &StreamingContext,
    status: &Status,
    args: &StreamArgs,
    stop: &AtomicBool,
) -> Result<()> {
    let mut failure = None;
    loop {
        if stop.load(Ordering::SeqCst) {
            status
                .note("stopping gracefully (Ctrl-C, SIGTERM or SIGHUP again to exit at once) ...");
            break;
        }
        if args.batches.is_some_and(|n| ssc.batches_completed() >= n) {
            break;
        }
        match ssc.await_termination_timeout(Duration::from_millis(100)) {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => {
                status.note(&format!("batch failed: {e}"));
                failure.get_or_insert(e);
            }
        }
    }
    let timeout = args.stop_timeout();
    ssc.stop(StopMode::Graceful { timeout })?;
    status.finish();
    let dropped = ssc.batches_dropped();
    if dropped > 0 {
        return Err(Error::User(format!(
            "the graceful stop timed out after {} ms and dropped {dropped} queued batch(es) \
             without running them (their input is lost; --stop-timeout-ms allows more time)",
            timeout.as_millis()
        )));
    }
    status.note(&format!(
        "stopped after {} batches",
        ssc.batches_completed()
    ));
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

pub(crate) fn streaming_context(
    args: &StreamArgs,
    app: &str,
) -> Result<(StreamingContext, Arc<Status>)> {
    let ctx = Context::new(Conf::new().set_master(&args.master).set_app_name(app))?;
    let interval = Duration::from_millis(args.interval_ms);
    let ssc = StreamingContext::new(&ctx, interval)?;
    let status = Arc::new(Status::new(interval, args.max_delay()));
    ssc.add_listener(Arc::clone(&status) as Arc<dyn StreamingListener>);
    Ok((ssc, status))
}

/// Starts the web UI unless turned off; keep the returned server alive while the job runs.
fn start_ui(
    ssc: &StreamingContext,
    status: &Status,
    args: &StreamArgs,
) -> Result<Option<UiServer>> {
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
    status.note(&format!("Streaming UI at {}", ui.url()));
    Ok(Some(ui))
}

fn demo(args: DemoArgs) -> Result<()> {
    if let Some(name) = args.scenario {
        return scenario_demo::run(name, &args);
    }
    let (ssc, status) = streaming_context(&args.stream, "demo")?;
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
        .set_name("generated lines");
    count_words(lines).print(args.stream.top)?;
    run_stream(&ssc, &status, &args.stream, &[])
}

fn wordcount(args: WordcountArgs) -> Result<()> {
    if let Some(addr) = &args.socket {
        let (ssc, status) = streaming_context(&args.stream, "network word count")?;
        count_words(ssc.socket_text_stream(&addr.host, addr.port)).print(args.stream.top)?;
        return run_stream(&ssc, &status, &args.stream, &[]);
    }
    if let Some(dir) = &args.dir {
        let (ssc, status) = streaming_context(&args.stream, "directory word count")?;
        count_words(ssc.text_file_stream(dir)?).print(args.stream.top)?;
        return run_stream(&ssc, &status, &args.stream, &[]);
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
        .flat_map(sluice::text::words)
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
