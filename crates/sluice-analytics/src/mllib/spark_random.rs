//! Spark's random number generators, bit for bit, so that a sampled mini-batch holds the
//! same records as Spark's: `java.util.Random`, Spark's `XORShiftRandom` (seeded through
//! MurmurHash3), and the Bernoulli sampler of `RDD.sample(false, fraction, seed)` with its
//! gap sampling for small fractions.

/// `java.util.Random`: the 48-bit linear congruential generator.
#[derive(Debug, Clone)]
pub struct JavaRandom {
    seed: u64,
}

const MULTIPLIER: u64 = 0x5_DEEC_E66D;
const MASK48: u64 = (1 << 48) - 1;

impl JavaRandom {
    /// `new java.util.Random(seed)`.
    pub fn new(seed: i64) -> Self {
        JavaRandom {
            seed: (seed as u64 ^ MULTIPLIER) & MASK48,
        }
    }

    fn next(&mut self, bits: u32) -> i32 {
        self.seed = (self.seed.wrapping_mul(MULTIPLIER).wrapping_add(0xB)) & MASK48;
        (self.seed >> (48 - bits)) as i64 as i32
    }

    /// `nextLong()`.
    pub fn next_long(&mut self) -> i64 {
        let hi = self.next(32) as i64;
        let lo = self.next(32) as i64;
        (hi << 32).wrapping_add(lo)
    }
}

/// MurmurHash3 (x86, 32-bit) of `data` with `seed`, as Scala's `MurmurHash3.bytesHash`.
pub fn murmur3_bytes(data: &[u8], seed: u32) -> u32 {
    let mix_k = |k: u32| {
        k.wrapping_mul(0xcc9e_2d51)
            .rotate_left(15)
            .wrapping_mul(0x1b87_3593)
    };
    let mut h = seed;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        h = (h ^ mix_k(k))
            .rotate_left(13)
            .wrapping_mul(5)
            .wrapping_add(0xe654_6b64);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut k = 0u32;
        for (i, b) in tail.iter().enumerate() {
            k ^= u32::from(*b) << (8 * i);
        }
        h ^= mix_k(k);
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// Scala's `MurmurHash3.arraySeed`.
const ARRAY_SEED: u32 = 0x3c07_4a61;

/// Spark's `XORShiftRandom`: a xorshift generator behind `java.util.Random`'s interface.
#[derive(Debug, Clone)]
pub struct XorShiftRandom {
    seed: i64,
}

impl XorShiftRandom {
    /// A generator seeded as Spark's `setSeed(seed)` (through `hashSeed`).
    pub fn new(seed: i64) -> Self {
        let bytes = seed.to_be_bytes();
        let low = murmur3_bytes(&bytes, ARRAY_SEED);
        let high = murmur3_bytes(&bytes, low);
        XorShiftRandom {
            seed: ((u64::from(high) << 32) | u64::from(low)) as i64,
        }
    }

    fn next(&mut self, bits: u32) -> i32 {
        let mut s = self.seed ^ (self.seed << 21);
        s ^= ((s as u64) >> 35) as i64;
        s ^= s << 4;
        self.seed = s;
        (s & ((1i64 << bits) - 1)) as i32
    }

    /// `nextDouble()`: 53 random bits in `[0, 1)`.
    pub fn next_double(&mut self) -> f64 {
        let hi = (self.next(26) as i64) << 27;
        let lo = self.next(27) as i64;
        (hi + lo) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Fractions at most this small are sampled by skipping gaps (Spark's
/// `RandomSampler.defaultMaxGapSamplingFraction`).
const MAX_GAP_SAMPLING_FRACTION: f64 = 0.4;
/// Spark's `RandomSampler.rngEpsilon`.
const RNG_EPSILON: f64 = 5e-11;

/// The sampler of one partition of `RDD.sample(false, fraction, seed)`: says, record by
/// record, whether Spark keeps it.
#[derive(Debug, Clone)]
pub struct BernoulliSampler {
    fraction: f64,
    rng: XorShiftRandom,
    /// Gap sampling: records still to drop, once started.
    gap: Option<i64>,
    lnq: f64,
}

impl BernoulliSampler {
    /// The sampler Spark uses for partition `partition` of `rdd.sample(false, fraction,
    /// seed)`.
    pub fn for_partition(fraction: f64, seed: i64, partition: usize) -> Self {
        let mut seeds = JavaRandom::new(seed);
        let mut part_seed = 0;
        for _ in 0..=partition {
            part_seed = seeds.next_long();
        }
        BernoulliSampler {
            fraction,
            rng: XorShiftRandom::new(part_seed),
            gap: None,
            lnq: (-fraction).ln_1p(),
        }
    }

    /// Whether the next record is kept.
    pub fn keep(&mut self) -> bool {
        if self.fraction <= 0.0 {
            return false;
        }
        if self.fraction >= 1.0 {
            return true;
        }
        if self.fraction <= MAX_GAP_SAMPLING_FRACTION {
            let left = match self.gap {
                Some(n) => n,
                None => self.advance(),
            };
            if left > 0 {
                self.gap = Some(left - 1);
                false
            } else {
                self.advance();
                true
            }
        } else {
            self.rng.next_double() <= self.fraction
        }
    }

    /// Draws the number of records to drop before the next kept one.
    fn advance(&mut self) -> i64 {
        let u = self.rng.next_double().max(RNG_EPSILON);
        // Scala's `Double.toInt`: truncation, saturating at Int's range.
        let n = (u.ln() / self.lnq) as i32 as i64;
        self.gap = Some(n);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_random_matches_the_jdk() {
        // new java.util.Random(42).nextLong() and the next one, from the JDK.
        let mut r = JavaRandom::new(42);
        assert_eq!(r.next_long(), -5_025_562_857_975_149_833);
        assert_eq!(r.next_long(), -5_843_495_416_241_995_736);
    }

    #[test]
    fn murmur3_matches_the_reference_vectors() {
        assert_eq!(murmur3_bytes(b"", 0), 0);
        assert_eq!(murmur3_bytes(b"", 1), 0x514e_28b7);
        assert_eq!(murmur3_bytes(b"test", 0), 0xba6b_d213);
        assert_eq!(murmur3_bytes(b"Hello, world!", 1234), 0xfaf6_cdb3);
    }

    #[test]
    fn fractions_outside_zero_one_keep_nothing_or_everything() {
        let mut none = BernoulliSampler::for_partition(0.0, 1, 0);
        let mut all = BernoulliSampler::for_partition(1.0, 1, 0);
        assert!((0..100).all(|_| !none.keep() && all.keep()));
        let mut half = BernoulliSampler::for_partition(0.5, 43, 1);
        let kept = (0..10_000).filter(|_| half.keep()).count();
        assert!((4_700..5_300).contains(&kept), "{kept}");
        let mut tenth = BernoulliSampler::for_partition(0.1, 43, 1);
        let kept = (0..10_000).filter(|_| tenth.keep()).count();
        assert!((850..1_150).contains(&kept), "{kept}");
    }
}
