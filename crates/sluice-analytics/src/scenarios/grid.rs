//! Fault prediction on a power grid: load, voltage and frequency per substation every step;
//! before an injected fault the voltage drifts down for 40 steps, then collapses for one
//! step. The job watches each substation's voltage with an [EWMA control
//! chart](crate::anomaly::EwmaChart) (λ = 0.1, lower limit at 4.5 σ), whose alerts are the fault
//! warnings, and reports each collapse as a fault.

use serde::{Deserialize, Serialize};
use sluice_core::Result;
use sluice_streaming::DStream;

use super::noise::{normal, uniform, Injector};
use super::{injected, Incident, Scenario, ScenarioJob};
use crate::anomaly::{EwmaChart, Side};

/// One measurement of a substation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The substation.
    pub substation: u32,
    /// The step.
    pub step: u64,
    /// Load, MW.
    pub load: f64,
    /// Voltage, per unit.
    pub voltage: f64,
    /// Frequency, Hz.
    pub frequency: f64,
}

/// The grid scenario.
#[derive(Debug, Clone)]
pub struct Grid {
    /// Substations.
    pub substations: u32,
    /// The generator's seed.
    pub seed: u64,
}

/// Steps of drift before a fault.
pub const DRIFT_STEPS: u64 = 40;

/// The drift and the fault: the fault is the incident's last step.
const FAULT: Injector = Injector {
    salt: 41,
    block: 400,
    p: 0.3,
    len: DRIFT_STEPS + 1,
    first_block: 1,
};

/// Voltage below this is a fault.
const FAULT_VOLTAGE: f64 = 0.9;

/// Steps after a fault during which the moving average is still coming back.
const RECOVERY_STEPS: u64 = 40;

impl Grid {
    /// `substations` substations from `seed`.
    pub fn new(substations: u32, seed: u64) -> Self {
        Grid { substations, seed }
    }
}

fn substation_name(s: u32) -> String {
    format!("sub-{s:03}")
}

impl Scenario for Grid {
    type Event = Measurement;

    fn name(&self) -> &'static str {
        "grid"
    }

    fn description(&self) -> String {
        format!(
            "load, voltage and frequency of {} substations, with injected faults preceded by \
             {DRIFT_STEPS} steps of voltage drift; an EWMA control chart per substation warns \
             of the drift before the fault",
            self.substations
        )
    }

    fn records_per_step(&self) -> u64 {
        u64::from(self.substations)
    }

    fn event(&self, i: u64) -> Measurement {
        let n = u64::from(self.substations);
        let (g, step) = (i % n, i / n);
        let s = self.seed;
        let capacity = 50.0 + 100.0 * uniform(s, g, 0, 1);
        let phase = (step as f64 / 288.0) * std::f64::consts::TAU;
        let load = capacity * (0.6 + 0.25 * phase.sin() + 0.03 * normal(s, g, step, 2));
        let mut voltage = 1.0 + 0.004 * normal(s, g, step, 3);
        let mut frequency = 50.0 + 0.01 * normal(s, g, step, 4);
        if let Some(k) = FAULT.offset(s, g, step) {
            if k < DRIFT_STEPS {
                voltage -= 0.03 * (k + 1) as f64 / DRIFT_STEPS as f64;
            } else {
                voltage = 0.7 + 0.1 * uniform(s, g, step, 5);
                frequency -= 0.2;
            }
        }
        Measurement {
            substation: g as u32,
            step,
            load: (load * 100.0).round() / 100.0,
            voltage: (voltage * 1e5).round() / 1e5,
            frequency: (frequency * 1e4).round() / 1e4,
        }
    }

    fn job(&self, events: &DStream<Measurement>) -> Result<ScenarioJob> {
        // The fault itself is not part of the drift the chart learns: collapsed readings are
        // reported as faults, and the chart watches the others.
        let healthy = events.filter(|m: &Measurement| m.voltage >= FAULT_VOLTAGE);
        let voltage = healthy
            .map(|m: Measurement| (substation_name(m.substation), (m.step as i64, m.voltage)));
        let alerts = EwmaChart::new(0.1, 4.5)
            .warmup(50)
            .side(Side::Below)
            .detect(&voltage)?;
        let report = events
            .filter(|m: &Measurement| m.voltage < FAULT_VOLTAGE)
            .map(|m: Measurement| {
                format!(
                    "FAULT at {} step {}: voltage {:.3} pu, frequency {:.2} Hz, load {:.1} MW",
                    substation_name(m.substation),
                    m.step,
                    m.voltage,
                    m.frequency,
                    m.load
                )
            });
        Ok(ScenarioJob {
            alerts,
            report: Some(report),
            monitor: None,
        })
    }

    fn incidents(&self, steps: u64) -> Vec<Incident> {
        // A warning counts when it comes before the fault (the incident's last step); the
        // chart may keep alerting while its average recovers.
        let name = |g: u64| substation_name(g as u32);
        injected(
            &FAULT,
            self.seed,
            self.substations.into(),
            steps,
            name,
            |start, fault| (start, fault - 1, fault + RECOVERY_STEPS),
        )
    }
}
