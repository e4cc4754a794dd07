//! The `sluice` command-line program.
//!
//! `sluice wordcount` counts the words of a text file, a directory or a generated corpus (the
//! embedded default source: nothing to download) with the RDD API and prints the most frequent
//! words.

use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use sluice::prelude::*;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "Sluice: micro-batch stream processing with Spark's model"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Count words with the RDD API and print the most frequent ones.
    Wordcount(WordcountArgs),
}

#[derive(clap::Args)]
struct WordcountArgs {
    /// A text file, directory or glob to count; without it, a generated corpus is used.
    #[arg(long)]
    input: Option<String>,
    /// Lines of generated text (when no --input is given).
    #[arg(long, default_value_t = 200_000)]
    lines: usize,
    /// Seed of the generated text.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// How many of the most frequent words to print.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Master: local, local[N] or local[*].
    #[arg(long, default_value = "local[*]")]
    master: String,
    /// Number of partitions.
    #[arg(long)]
    partitions: Option<usize>,
    /// Write all counts as text files into this directory (must not exist).
    #[arg(long)]
    output: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
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

fn wordcount(args: WordcountArgs) -> Result<()> {
    let ctx = Context::new(
        Conf::new()
            .set_master(&args.master)
            .set_app_name("wordcount"),
    )?;
    let parts = args.partitions.unwrap_or(ctx.worker_threads() * 2).max(1);
    let started = Instant::now();
    let lines = match &args.input {
        Some(path) => ctx.text_file(path, parts)?,
        None => {
            let corpus = sluice::corpus::Corpus::standard();
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
    let top = counts.take_ordered_by(args.top, |a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)))?;
    let total: u64 = counts.map(|(_, n)| n).fold(0, |a, b| a + b)?;
    let distinct = counts.count()?;
    println!(
        "{total} words, {distinct} distinct, counted in {:.1} ms on {} worker threads",
        (Instant::now() - started).as_secs_f64() * 1e3,
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
