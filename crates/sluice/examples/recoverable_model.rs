//! A recoverable analytics job: reads lines `<key> <t> <x>` from new files in a directory,
//! fits the article's lag model to each key's series (one-step-ahead, n = 2, forgetting
//! factor 0.98) in `map_with_state`, and writes each batch's model points — status,
//! prediction, residual and coefficients — with `save_as_text_files`. Killed at any moment
//! and restarted with the same arguments, it continues from its checkpoint and its output —
//! every coefficient of every batch — ends up the same as if it had never stopped.
//!
//! `cargo run --example recoverable_model -- <input-dir> <checkpoint-dir> <output-prefix>
//! <batches> [--step]` (the arguments of `recoverable_count`).

mod common;

use sluice::analytics::lag_model::{LagModel, ModelPoint, Observation};
use sluice::prelude::*;

fn parse(line: &str) -> Option<(String, Observation)> {
    let mut it = line.split_whitespace();
    let key = it.next()?.to_string();
    let t = it.next()?.parse().ok()?;
    let x = it.next()?.parse().ok()?;
    Some((key, Observation::series(t, x)))
}

fn show(key: &str, p: &ModelPoint) -> String {
    format!(
        "{key} {} {:?} predicted={:?} residual={:?} forecast={:?} coefficients={:?}",
        p.t, p.status, p.predicted, p.residual, p.forecast, p.coefficients
    )
}

fn main() -> sluice::Result<()> {
    let (args, ctx) = common::setup("recoverable_model", "RecoverableModel")?;
    let interval = seconds(1);
    let ssc = StreamingContext::get_or_create(&args.checkpoint, || {
        let ssc = StreamingContext::new(&ctx, interval)?;
        let series = ssc
            .text_file_stream(&args.input)?
            .flat_map(|l: String| parse(&l));
        LagModel::series(2)
            .forgetting(0.98)
            .fit_on(&series)?
            .set_name("lag model")
            .transform(|rdd, _| Ok(rdd.sort_by(|(k, p)| (k.clone(), p.t), true, 1)))
            .map(|(k, p): (String, ModelPoint)| show(&k, &p))
            .save_as_text_files(&args.prefix, "")?;
        Ok(ssc)
    })?;
    common::run(&ssc, interval, args.batches)
}
