//! User behaviour in e-commerce: click, cart and purchase events over a catalogue whose
//! popularity follows a power law; the generator injects trends (an item clicked five times
//! as often for 20 steps). The job reports each item's conversion (purchases per click) over
//! a sliding window of 10 batches, and flags trending items by a
//! [rolling z-score](crate::anomaly::RollingZScore) of their clicks per step.

use std::cmp::Reverse;

use serde::{Deserialize, Serialize};
use sluice_core::Result;
use sluice_streaming::DStream;

use super::noise::{uniform, Injector};
use super::{batches, injected, whole, Incident, Scenario, ScenarioJob};
use crate::anomaly::{RollingZScore, Side};

/// What a user did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Viewed the item.
    Click,
    /// Put it in the cart.
    Cart,
    /// Bought it.
    Purchase,
}

/// One user event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The item.
    pub item: u32,
    /// The step.
    pub step: u64,
    /// The action.
    pub action: Action,
}

/// The e-commerce scenario.
#[derive(Debug, Clone)]
pub struct Ecommerce {
    /// Items in the catalogue.
    pub items: u32,
    /// Events per step.
    pub events_per_step: u64,
    /// The generator's seed.
    pub seed: u64,
}

const TREND: Injector = Injector {
    salt: 21,
    block: 200,
    p: 0.25,
    len: 20,
    first_block: 1,
};

impl Ecommerce {
    /// `items` items, `events_per_step` events per step, from `seed`.
    pub fn new(items: u32, events_per_step: u64, seed: u64) -> Self {
        Ecommerce {
            items,
            events_per_step,
            seed,
        }
    }

    fn weight(&self, item: u64, step: u64) -> f64 {
        let base = 1.0 / ((item + 1) as f64).powf(0.6);
        if TREND.offset(self.seed, item, step).is_some() {
            base * 5.0
        } else {
            base
        }
    }
}

fn item_name(item: u32) -> String {
    format!("item-{item:03}")
}

impl Scenario for Ecommerce {
    type Event = Event;

    fn name(&self) -> &'static str {
        "ecommerce"
    }

    fn description(&self) -> String {
        format!(
            "{} events per step over {} items (click, cart, purchase), with injected trends; \
             conversion per item over sliding windows, trending items by a rolling z-score of \
             clicks per step (last 40, beyond 5 σ above)",
            self.events_per_step, self.items
        )
    }

    fn records_per_step(&self) -> u64 {
        self.events_per_step
    }

    fn event(&self, i: u64) -> Event {
        let step = i / self.events_per_step;
        let s = self.seed;
        let n = u64::from(self.items);
        let total: f64 = (0..n).map(|k| self.weight(k, step)).sum();
        let mut u = uniform(s, i, 0, 1) * total;
        let mut item = n - 1;
        for k in 0..n {
            let w = self.weight(k, step);
            if u < w {
                item = k;
                break;
            }
            u -= w;
        }
        let conversion = 0.02 + 0.06 * uniform(s, item, 0, 2);
        let v = uniform(s, i, 0, 3);
        let action = if v < conversion {
            Action::Purchase
        } else if v < conversion + 0.15 {
            Action::Cart
        } else {
            Action::Click
        };
        Event {
            item: item as u32,
            step,
            action,
        }
    }

    fn job(&self, events: &DStream<Event>) -> Result<ScenarioJob> {
        let clicks = events
            .filter(|e: &Event| e.action == Action::Click)
            .map(|e: Event| ((e.item, e.step), 1u64))
            .reduce_by_key(|a, b| a + b)
            .map(|((item, step), n): ((u32, u64), u64)| (item_name(item), (step as i64, n as f64)));
        let alerts = RollingZScore::new(40, 5.0)
            .min_points(10)
            .side(Side::Above)
            .detect(&clicks)?;
        let interval = events.slide_duration();
        let funnel = events
            .map(|e: Event| {
                let c = match e.action {
                    Action::Click => (1u64, 0u64, 0u64),
                    Action::Cart => (0, 1, 0),
                    Action::Purchase => (0, 0, 1),
                };
                (e.item, c)
            })
            .reduce_by_key_and_window(
                |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2),
                batches(interval, 10),
                interval,
            )?;
        // Best conversion first (at least 50 clicks in the window); the demo prints the top.
        let report = funnel
            .filter(|(_, c): &(u32, (u64, u64, u64))| c.0 >= 50)
            .transform(|rdd, _| {
                Ok(rdd.sort_by(
                    |(item, (clicks, _, purchases))| {
                        (Reverse(purchases * 1_000_000 / (*clicks).max(1)), *item)
                    },
                    true,
                    1,
                ))
            })
            .map(|(item, (clicks, carts, purchases))| {
                format!(
                    "{}: conversion {:.1}% ({purchases} purchases / {clicks} clicks, {carts} \
                     carts) over the last 10 batches",
                    item_name(item),
                    100.0 * purchases as f64 / clicks as f64
                )
            });
        Ok(ScenarioJob {
            alerts,
            report: Some(report),
            monitor: None,
        })
    }

    fn incidents(&self, steps: u64) -> Vec<Incident> {
        let name = |k: u64| item_name(k as u32);
        injected(&TREND, self.seed, self.items.into(), steps, name, whole)
    }
}
