//! Risk on transactions: each account pays amounts around its own level; the generator
//! injects single outliers (an amount 15–40 times the usual) and bursts (five payments in a
//! row 6–10 times the usual). The job scores each payment's log-amount against the account's
//! last 30 with a [rolling z-score](crate::anomaly::RollingZScore) and raises a risk alert
//! beyond 4.5 σ above.

use serde::{Deserialize, Serialize};
use sluice_core::Result;
use sluice_streaming::DStream;

use super::noise::{normal, uniform, Injector};
use super::{injected, whole, Incident, Scenario, ScenarioJob};
use crate::anomaly::{RollingZScore, Side};

/// One payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transaction {
    /// The paying account.
    pub account: u32,
    /// The step (one payment per account per step).
    pub step: u64,
    /// The amount.
    pub amount: f64,
}

/// The finance scenario.
#[derive(Debug, Clone)]
pub struct Finance {
    /// Accounts (payments per step).
    pub accounts: u32,
    /// The generator's seed.
    pub seed: u64,
}

const OUTLIER: Injector = Injector {
    salt: 11,
    block: 250,
    p: 0.5,
    len: 1,
    first_block: 0,
};
const BURST: Injector = Injector {
    salt: 13,
    block: 300,
    p: 0.3,
    len: 5,
    first_block: 0,
};

impl Finance {
    /// `accounts` accounts from `seed`.
    pub fn new(accounts: u32, seed: u64) -> Self {
        Finance { accounts, seed }
    }
}

impl Scenario for Finance {
    type Event = Transaction;

    fn name(&self) -> &'static str {
        "finance"
    }

    fn description(&self) -> String {
        format!(
            "payments of {} accounts, one per account per step, with injected outliers and \
             bursts; risk alerts by a rolling z-score of the log-amount (last 30, beyond 4.5 σ above)",
            self.accounts
        )
    }

    fn records_per_step(&self) -> u64 {
        u64::from(self.accounts)
    }

    fn event(&self, i: u64) -> Transaction {
        let n = u64::from(self.accounts);
        let (a, step) = (i % n, i / n);
        let s = self.seed;
        let level = (3.0 + 1.5 * uniform(s, a, 0, 1)).exp();
        let mut amount = level * (0.3 * normal(s, a, step, 2)).exp();
        if OUTLIER.offset(s, a, step).is_some() {
            amount *= 15.0 + 25.0 * uniform(s, a, step, 3);
        }
        if BURST.offset(s, a, step).is_some() {
            amount *= 6.0 + 4.0 * uniform(s, a, step, 4);
        }
        Transaction {
            account: a as u32,
            step,
            amount: (amount * 100.0).round() / 100.0,
        }
    }

    fn job(&self, events: &DStream<Transaction>) -> Result<ScenarioJob> {
        let scored = events.map(|t: Transaction| {
            (
                format!("acct-{:04}", t.account),
                (t.step as i64, t.amount.ln()),
            )
        });
        let alerts = RollingZScore::new(30, 4.5)
            .min_points(10)
            .side(Side::Above)
            .detect(&scored)?;
        Ok(ScenarioJob {
            alerts,
            report: None,
            monitor: None,
        })
    }

    fn incidents(&self, steps: u64) -> Vec<Incident> {
        let name = |a: u64| format!("acct-{a:04}");
        let mut out = injected(
            &OUTLIER,
            self.seed,
            self.accounts.into(),
            steps,
            name,
            whole,
        );
        out.extend(injected(
            &BURST,
            self.seed,
            self.accounts.into(),
            steps,
            name,
            whole,
        ));
        out
    }
}
