//! numpy's legacy `RandomState` (MT19937 and its polar-method Gaussians), bit for bit, so that
//! `StreamingKMeans::set_random_centers(dim, weight, seed)` draws the centers `pyspark.mllib`
//! draws with `numpy.random.RandomState(seed).randn(k, dim)`.

const N: usize = 624;
const M: usize = 397;

/// `numpy.random.RandomState(seed)`.
#[derive(Debug, Clone)]
pub struct RandomState {
    mt: Box<[u32; N]>,
    pos: usize,
    gauss: Option<f64>,
}

impl RandomState {
    /// Seeded as numpy seeds from an integer in `0..2³²`.
    pub fn new(seed: u32) -> Self {
        let mut mt = Box::new([0u32; N]);
        mt[0] = seed;
        for i in 1..N {
            let prev = mt[i - 1];
            mt[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        RandomState {
            mt,
            pos: N,
            gauss: None,
        }
    }

    fn refill(&mut self) {
        let mt = &mut self.mt;
        for i in 0..N {
            let y = (mt[i] & 0x8000_0000) | (mt[(i + 1) % N] & 0x7fff_ffff);
            let mut v = mt[(i + M) % N] ^ (y >> 1);
            if y & 1 != 0 {
                v ^= 0x9908_b0df;
            }
            mt[i] = v;
        }
        self.pos = 0;
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        if self.pos >= N {
            self.refill();
        }
        let mut y = self.mt[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// A double in `[0, 1)` from 53 random bits (numpy's `random_sample`).
    pub fn random_sample(&mut self) -> f64 {
        let a = f64::from(self.next_u32() >> 5);
        let b = f64::from(self.next_u32() >> 6);
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// A standard normal draw (numpy's legacy polar method, which caches its second value).
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// `randn(rows, cols)`: row-major standard normal draws.
    pub fn randn(&mut self, rows: usize, cols: usize) -> Vec<Vec<f64>> {
        (0..rows)
            .map(|_| (0..cols).map(|_| self.standard_normal()).collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy() {
        // numpy.random.RandomState(0): randint draws and randn(3).
        let mut r = RandomState::new(5489);
        // The reference MT19937 output for the default seed 5489.
        assert_eq!(r.next_u32(), 3_499_211_612);
        assert_eq!(r.next_u32(), 581_869_302);
        let mut z = RandomState::new(0);
        let v = z.randn(1, 3);
        // numpy.random.RandomState(0).randn(3)
        let want = [
            1.764_052_345_967_664,
            0.400_157_208_367_223_3,
            0.978_737_984_105_739_2,
        ];
        for (a, b) in v[0].iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{a} vs {b}");
        }
    }
}
