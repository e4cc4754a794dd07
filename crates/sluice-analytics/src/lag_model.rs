//! The time-series model of the article, fitted online per key:
//! `y_t = Σ_{i=0..n} a_i x_{t−i} + Σ_j c_j e_{t,j} + b`.
//!
//! Each key keeps its last `n + 1` inputs and a [recursive least-squares
//! fit](crate::rls::RecursiveLeastSquares) of `a_0..a_n`, the coefficients `c_j` of optional
//! exogenous inputs `e_t`, and the intercept `b`. The state lives in `map_with_state`, so it is
//! checkpointed with the stream and a batch costs O(records in the batch), whatever the
//! number of keys.
//!
//! Two forms:
//! - [`LagModel::regression`]: the article's form. Each record carries its own target `y_t`;
//!   the model predicts it from `x_t, x_{t−1}, …, x_{t−n}` (and `e_t`) before learning from it.
//! - [`LagModel::series`]: one-step-ahead forecasting of a single series. The target of the
//!   regressors at `t` is the next value `x_{t+step}`, learned when it arrives.
//!
//! A key's records must come in time order (as they do from a Kafka partition keyed by the
//! key): `t` is an integer step index (or a timestamp with a fixed `step`). A record whose
//! `t` is not after the key's last one is refused; a jump of more than one step starts the
//! key's inputs over (its coefficients are kept).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sluice_core::Key;
use sluice_streaming::state::{State, StateSpec};
use sluice_streaming::MapWithState;
use sluice_streaming::{DStream, Time};

use crate::linalg::dot;
use crate::rls::{RecursiveLeastSquares, RlsRejection, MAX_MAGNITUDE};

/// One input of a key's series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The time step (consecutive records differ by the model's `step`).
    pub t: i64,
    /// The input `x_t`.
    pub x: f64,
    /// The target `y_t` (required by [`LagModel::regression`], ignored by [`LagModel::series`]).
    pub y: Option<f64>,
    /// Exogenous inputs `e_t` (as many as the model's [`exogenous`](LagModel::exogenous)).
    pub exog: Vec<f64>,
}

impl Observation {
    /// A point of a single series.
    pub fn series(t: i64, x: f64) -> Self {
        Observation {
            t,
            x,
            y: None,
            exog: Vec::new(),
        }
    }

    /// An input with its target.
    pub fn with_target(t: i64, x: f64, y: f64) -> Self {
        Observation {
            t,
            x,
            y: Some(y),
            exog: Vec::new(),
        }
    }

    /// The same observation with exogenous inputs.
    pub fn exogenous(mut self, exog: Vec<f64>) -> Self {
        self.exog = exog;
        self
    }
}

/// Why a record was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rejection {
    /// `x`, `y` or an exogenous input is NaN or infinite.
    NonFinite,
    /// A value is beyond ±1e100.
    OutOfRange,
    /// `t` is not after the key's previous record.
    OutOfOrder,
    /// A regression record without its target.
    MissingTarget,
    /// The number of exogenous inputs differs from the model's.
    WrongExogenous,
}

/// What the model could do with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PointStatus {
    /// The record was learned and the coefficients are determined.
    Fitted,
    /// The key has fewer than `n + 1` consecutive inputs: nothing to regress on yet.
    Warming,
    /// The inputs so far do not determine every coefficient (too few points, or a constant
    /// input): no coefficients, no prediction.
    Singular,
    /// The record was refused; the key's state is unchanged.
    Rejected(Rejection),
}

/// What the model emits for each record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelPoint {
    /// The record's time step.
    pub t: i64,
    /// The value the model predicts: `y_t` (regression) or `x_t` (series).
    pub actual: f64,
    /// The model's prediction of `actual`, made before it learned from it.
    pub predicted: Option<f64>,
    /// `actual − predicted`.
    pub residual: Option<f64>,
    /// Series form: the forecast of the next value, by the updated model.
    pub forecast: Option<f64>,
    /// `[a_0, …, a_n, c_1, …, c_m, b]` after learning from this record.
    pub coefficients: Option<Vec<f64>>,
    /// The standard deviation of the key's recent residuals, before this record's (for
    /// "residual beyond k σ" alerts; `None` until 10 residuals were seen).
    pub sigma: Option<f64>,
    /// What happened to the record.
    pub status: PointStatus,
}

/// Per-key counts of records the model could not use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCounts {
    /// Records learned from.
    pub learned: u64,
    /// Records refused.
    pub rejected: u64,
    /// Times the key's inputs started over after a gap in `t`.
    pub gaps: u64,
}

/// The state of one key: its recent inputs, its fit and its residual statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LagState {
    fit: RecursiveLeastSquares,
    /// The most recent input first; at most `n + 1`.
    lags: Vec<f64>,
    /// Series form: the exogenous inputs of the newest regressors.
    exog: Vec<f64>,
    last_t: Option<i64>,
    /// Series form: the forecast of the value at `last_t + step`.
    pending: Option<f64>,
    residual_square_mean: f64,
    residuals: u64,
    /// Counts of what happened to the key's records.
    pub counts: KeyCounts,
}

impl LagState {
    /// The coefficients `[a_0, …, a_n, c_1, …, c_m, b]`, when determined.
    pub fn coefficients(&self) -> Option<Vec<f64>> {
        self.fit.coefficients()
    }
}

/// Residuals seen before `sigma` is reported.
const SIGMA_WARMUP: u64 = 10;

/// The model's settings: the number of lags `n`, exogenous inputs, forgetting factor, time
/// step and the window of the residuals' standard deviation.
///
/// ```
/// use sluice_analytics::lag_model::{LagModel, Observation};
/// use sluice_streaming::testing::run_stream;
///
/// // x_{t+1} = 0.5 x_t + 1, per key: the model recovers a_0 = 0.5, b = 1.
/// let mut x = 0.0;
/// let series: Vec<(String, Observation)> = (0..20)
///     .map(|t| {
///         let o = Observation::series(t, x);
///         x = 0.5 * x + 1.0 + if t % 3 == 0 { 0.25 } else { 0.0 };
///         ("sensor".to_string(), o)
///     })
///     .collect();
/// let model = LagModel::series(0);
/// let out = run_stream(vec![series], 1, move |s| model.fit_on(&s).unwrap().stream()).unwrap();
/// let last = &out[0].last().unwrap().1;
/// assert!(last.coefficients.is_some());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LagModel {
    lags: usize,
    exogenous: usize,
    forgetting: f64,
    step: i64,
    regression: bool,
    sigma_alpha: f64,
}

impl LagModel {
    /// The article's form with `n` past lags (`n + 1` inputs `x_t..x_{t−n}`): each record
    /// carries its target `y_t`.
    pub fn regression(n: usize) -> Self {
        LagModel {
            lags: n,
            exogenous: 0,
            forgetting: 1.0,
            step: 1,
            regression: true,
            sigma_alpha: 2.0 / 51.0,
        }
    }

    /// One-step-ahead forecasting of a series from its last `n + 1` values.
    pub fn series(n: usize) -> Self {
        LagModel {
            regression: false,
            ..LagModel::regression(n)
        }
    }

    /// The number of exogenous inputs each record carries (default 0).
    pub fn exogenous(mut self, m: usize) -> Self {
        self.exogenous = m;
        self
    }

    /// The forgetting factor λ in `(0, 1]` (default 1: every point counts the same).
    pub fn forgetting(mut self, lambda: f64) -> Self {
        self.forgetting = lambda;
        self
    }

    /// The difference of `t` between consecutive records (default 1).
    pub fn step(mut self, step: i64) -> Self {
        self.step = step;
        self
    }

    /// The residuals' standard deviation is an exponentially weighted mean over about this
    /// many recent residuals (default 50).
    pub fn sigma_window(mut self, points: usize) -> Self {
        self.sigma_alpha = 2.0 / (points.max(1) as f64 + 1.0);
        self
    }

    /// The number of coefficients: `n + 1 + m + 1`.
    pub fn dim(&self) -> usize {
        self.lags + 1 + self.exogenous + 1
    }

    /// Checks the settings.
    pub fn validate(&self) -> sluice_core::Result<()> {
        let bad = |m: String| Err(sluice_core::Error::InvalidArgument(m));
        if !(self.forgetting > 0.0 && self.forgetting <= 1.0) {
            return bad(format!(
                "lag model: the forgetting factor must be in (0, 1], got {}",
                self.forgetting
            ));
        }
        if self.step <= 0 {
            return bad(format!(
                "lag model: the time step must be positive, got {}",
                self.step
            ));
        }
        Ok(())
    }

    /// A fresh state for a key.
    pub fn new_state(&self) -> LagState {
        LagState {
            fit: RecursiveLeastSquares::empty(self.dim(), self.forgetting),
            lags: Vec::with_capacity(self.lags + 1),
            exog: Vec::new(),
            last_t: None,
            pending: None,
            residual_square_mean: 0.0,
            residuals: 0,
            counts: KeyCounts::default(),
        }
    }

    /// Folds one record into a key's state and says what the model made of it. Pure: the
    /// whole model is this function applied record by record.
    pub fn observe(&self, state: &mut LagState, o: &Observation) -> ModelPoint {
        let actual = if self.regression {
            o.y.unwrap_or(f64::NAN)
        } else {
            o.x
        };
        let reject = |state: &mut LagState, why: Rejection| {
            state.counts.rejected += 1;
            ModelPoint {
                t: o.t,
                actual,
                predicted: None,
                residual: None,
                forecast: None,
                coefficients: None,
                sigma: None,
                status: PointStatus::Rejected(why),
            }
        };
        if self.regression && o.y.is_none() {
            return reject(state, Rejection::MissingTarget);
        }
        if o.exog.len() != self.exogenous {
            return reject(state, Rejection::WrongExogenous);
        }
        let values = || {
            std::iter::once(o.x)
                .chain(o.y)
                .chain(o.exog.iter().copied())
        };
        if values().any(|v| !v.is_finite()) {
            return reject(state, Rejection::NonFinite);
        }
        if values().any(|v| v.abs() > MAX_MAGNITUDE) {
            return reject(state, Rejection::OutOfRange);
        }
        match state.last_t {
            Some(last) if o.t <= last => return reject(state, Rejection::OutOfOrder),
            Some(last) if o.t != last.saturating_add(self.step) => {
                state.counts.gaps += 1;
                state.lags.clear();
                state.pending = None;
            }
            _ => {}
        }
        state.last_t = Some(o.t);
        let sigma = (state.residuals >= SIGMA_WARMUP).then(|| state.residual_square_mean.sqrt());
        let full = self.lags + 1;
        let mut predicted = None;
        let mut learned = None;
        if self.regression {
            push_lag(&mut state.lags, o.x, full);
            if state.lags.len() == full {
                let row = self.regressors(&state.lags, &o.exog);
                predicted = state.fit.coefficients().map(|b| dot(&b, &row));
                learned = Some(state.fit.update(&row, actual));
            }
        } else {
            if state.lags.len() == full {
                predicted = state.pending;
                let row = self.regressors(&state.lags, &state.exog);
                learned = Some(state.fit.update(&row, actual));
            }
            push_lag(&mut state.lags, o.x, full);
            state.exog.clone_from(&o.exog);
        }
        if let Some(Err(e)) = learned {
            // The values were checked above; a refusal here is the fit's own range guard.
            let why = match e {
                RlsRejection::NonFinite => Rejection::NonFinite,
                RlsRejection::OutOfRange | RlsRejection::WrongDimension => Rejection::OutOfRange,
            };
            return reject(state, why);
        }
        let coefficients = state.fit.coefficients();
        let forecast = if self.regression || state.lags.len() < full {
            None
        } else {
            coefficients
                .as_ref()
                .map(|b| dot(b, &self.regressors(&state.lags, &state.exog)))
        };
        state.pending = forecast;
        let residual = predicted.map(|p| actual - p);
        if let Some(r) = residual {
            let a = self.sigma_alpha;
            state.residual_square_mean = if state.residuals == 0 {
                r * r
            } else {
                (1.0 - a) * state.residual_square_mean + a * r * r
            };
            state.residuals += 1;
        }
        let status = if learned.is_none() {
            PointStatus::Warming
        } else if coefficients.is_none() {
            PointStatus::Singular
        } else {
            PointStatus::Fitted
        };
        if learned.is_some() {
            state.counts.learned += 1;
        }
        ModelPoint {
            t: o.t,
            actual,
            predicted,
            residual,
            forecast,
            coefficients,
            sigma,
            status,
        }
    }

    /// `[x_t, …, x_{t−n}, e_t…, 1]` from the lags (newest first).
    fn regressors(&self, lags: &[f64], exog: &[f64]) -> Vec<f64> {
        let mut row = Vec::with_capacity(self.dim());
        row.extend_from_slice(lags);
        row.extend_from_slice(exog);
        row.push(1.0);
        row
    }

    /// The `map_with_state` spec of the model, for adding a timeout, an initial state or a
    /// number of partitions before [`DStream::map_with_state`].
    pub fn state_spec<K: Key>(&self) -> StateSpec<K, Observation, LagState, (K, ModelPoint)> {
        let model = self.clone();
        StateSpec::function(
            move |_t: Time, k: &K, o: Option<Observation>, s: &mut State<LagState>| {
                let o = o?;
                if s.is_timing_out() {
                    return None;
                }
                if !s.exists() {
                    s.update(model.new_state()).ok()?;
                }
                // In place: the key's state (R is d² numbers) is not copied per record.
                let point = model.observe(s.get_mut().ok()?, &o);
                Some((k.clone(), point))
            },
        )
    }

    /// Fits the model per key of `stream`: one [`ModelPoint`] per record; the keys'
    /// [`LagState`]s in the result's `state_snapshots()`. An error for invalid settings.
    pub fn fit_on<K>(
        &self,
        stream: &DStream<(K, Observation)>,
    ) -> sluice_core::Result<MapWithState<K, LagState, (K, ModelPoint)>>
    where
        K: Key + Serialize + DeserializeOwned,
    {
        self.validate()?;
        Ok(stream.map_with_state(self.state_spec()))
    }
}

fn push_lag(lags: &mut Vec<f64>, x: f64, full: usize) {
    lags.insert(0, x);
    lags.truncate(full);
}
