//! `sluice demo <scenario>`: one of the article's four scenarios on its seeded generator,
//! printing each batch's alerts (and the scenario's report lines), then how the alerts
//! compare with the injected truth.

use std::sync::Arc;

use parking_lot::Mutex;
use sluice::analytics::scenarios::ecommerce::Ecommerce;
use sluice::analytics::scenarios::finance::Finance;
use sluice::analytics::scenarios::grid::Grid;
use sluice::analytics::scenarios::traffic::Traffic;
use sluice::analytics::scenarios::{event_stream, score, Scenario};
use sluice::prelude::*;

use crate::{run_stream, streaming_context, DemoArgs};

/// The scenarios `sluice demo` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ScenarioName {
    /// Risk alerts on transactions (outliers and bursts per account).
    Finance,
    /// Conversion per item over sliding windows and trending items.
    Ecommerce,
    /// Congestion alerts and short-term speed prediction per road segment.
    Traffic,
    /// Voltage drift before a fault per substation.
    Grid,
}

/// Runs the scenario until `--batches` or a stop signal.
pub(crate) fn run(name: ScenarioName, args: &DemoArgs) -> Result<()> {
    let seed = args.seed;
    match name {
        ScenarioName::Finance => run_scenario(Finance::new(500, seed), args),
        ScenarioName::Ecommerce => run_scenario(Ecommerce::new(50, 1_000, seed), args),
        ScenarioName::Traffic => run_scenario(Traffic::new(200, seed), args),
        ScenarioName::Grid => run_scenario(Grid::new(100, seed), args),
    }
}

fn run_scenario<S: Scenario>(scenario: S, args: &DemoArgs) -> Result<()> {
    let (ssc, status) = streaming_context(&args.stream, scenario.name())?;
    let scenario = Arc::new(scenario);
    let spb = args.steps_per_batch;
    println!(
        "Sluice demo {}: {} — {} steps per batch of {} ms (seed {})",
        scenario.name(),
        scenario.description(),
        spb,
        args.stream.interval_ms,
        args.seed
    );
    let events = event_stream(&ssc, Arc::clone(&scenario), spb)?;
    let job = scenario.job(&events)?;
    let raised: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let sink = Arc::clone(&raised);
    let top = args.stream.top;
    job.alerts.foreach_rdd(move |rdd, time| {
        let mut alerts = rdd.collect()?;
        alerts.sort_by(|a, b| (a.1.t, &a.0).cmp(&(b.1.t, &b.0)));
        println!("-------------------------------------------");
        println!("Alerts at {time}: {}", alerts.len());
        for (entity, a) in alerts.iter().take(top) {
            println!(
                "  {entity} step {}: {} (score {:.1})",
                a.t, a.reason, a.score
            );
        }
        if alerts.len() > top {
            println!("  ... and {} more", alerts.len() - top);
        }
        sink.lock()
            .extend(alerts.into_iter().map(|(entity, a)| (entity, a.t)));
        Ok(())
    })?;
    if let Some(report) = job.report {
        report.print(top)?;
    }
    let models: Vec<_> = job.monitor.into_iter().collect();
    run_stream(&ssc, &status, &args.stream, &models)?;
    let steps = ssc.batches_completed() * spb;
    let s = score(&raised.lock(), &scenario.incidents(steps));
    println!(
        "{} over {steps} steps: {} alerts, {} about injected incidents (precision {:.3}); \
         {} of {} incidents detected in time (recall {:.3})",
        scenario.name(),
        s.alerts,
        s.true_alerts,
        s.precision(),
        s.detected,
        s.incidents,
        s.recall()
    );
    Ok(())
}
