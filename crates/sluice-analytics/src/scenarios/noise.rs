//! Stateless, seeded randomness for the scenario generators: every value is a hash of its
//! coordinates (seed, entity, step, purpose), so any record can be generated alone, in any
//! order, on any thread — and a replayed batch is the same batch.

/// SplitMix64's finaliser.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A hash of the coordinates.
pub fn hash(seed: u64, a: u64, b: u64, salt: u64) -> u64 {
    let mut h = mix(seed ^ 0x9e37_79b9_7f4a_7c15);
    for v in [a, b, salt] {
        h = mix(h ^ v.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    }
    h
}

/// A uniform draw in `[0, 1)`.
pub fn uniform(seed: u64, a: u64, b: u64, salt: u64) -> f64 {
    (hash(seed, a, b, salt) >> 11) as f64 / (1u64 << 53) as f64
}

/// A standard normal draw (Box–Muller on two uniforms).
pub fn normal(seed: u64, a: u64, b: u64, salt: u64) -> f64 {
    let u1 = uniform(seed, a, b, salt.wrapping_mul(2)).max(f64::MIN_POSITIVE);
    let u2 = uniform(seed, a, b, salt.wrapping_mul(2).wrapping_add(1));
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Injected incidents of one entity: in each block of `block` steps, with probability `p`,
/// one incident of `len` steps (`len < block`) starting at a hashed offset in the block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Injector {
    /// The salt that tells this kind of incident from others.
    pub salt: u64,
    /// Steps per block.
    pub block: u64,
    /// Probability of an incident in a block.
    pub p: f64,
    /// Steps per incident.
    pub len: u64,
    /// Blocks before this one have no incident (a detector's warm-up stays clean).
    pub first_block: u64,
}

impl Injector {
    /// The incident of `entity` in the block holding `step`, as `(start, end)` inclusive.
    pub fn incident_in_block(&self, seed: u64, entity: u64, step: u64) -> Option<(u64, u64)> {
        let b = step / self.block;
        if b < self.first_block || uniform(seed, entity, b, self.salt) >= self.p {
            return None;
        }
        let room = self.block.saturating_sub(self.len).max(1);
        let start = b * self.block + hash(seed, entity, b, self.salt + 1) % room;
        Some((start, start + self.len - 1))
    }

    /// Where `step` is inside an incident of `entity`: `Some(offset from its start)`.
    pub fn offset(&self, seed: u64, entity: u64, step: u64) -> Option<u64> {
        let (start, end) = self.incident_in_block(seed, entity, step)?;
        (start..=end).contains(&step).then(|| step - start)
    }

    /// Every incident of `entity` that starts before step `steps`.
    pub fn incidents(&self, seed: u64, entity: u64, steps: u64) -> Vec<(u64, u64)> {
        (0..steps.div_ceil(self.block))
            .filter_map(|b| self.incident_in_block(seed, entity, b * self.block))
            .filter(|(s, _)| *s < steps)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_deterministic_and_roughly_distributed() {
        assert_eq!(uniform(1, 2, 3, 4), uniform(1, 2, 3, 4));
        assert_ne!(uniform(1, 2, 3, 4), uniform(1, 2, 3, 5));
        let n = 20_000;
        let mean: f64 = (0..n).map(|i| normal(7, i, 0, 1)).sum::<f64>() / n as f64;
        let var: f64 = (0..n).map(|i| normal(7, i, 0, 1).powi(2)).sum::<f64>() / n as f64;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "{mean} {var}"
        );
    }

    #[test]
    fn incidents_agree_with_offsets() {
        let inj = Injector {
            salt: 9,
            block: 50,
            p: 0.5,
            len: 5,
            first_block: 1,
        };
        let list = inj.incidents(3, 11, 1_000);
        assert!(!list.is_empty());
        for step in 0..1_000 {
            let inside = list.iter().any(|(s, e)| (*s..=*e).contains(&step));
            assert_eq!(inj.offset(3, 11, step).is_some(), inside, "step {step}");
        }
    }
}
