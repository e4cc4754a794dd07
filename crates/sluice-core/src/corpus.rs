//! A seeded generator of text with a Zipf-like word distribution: the embedded default source
//! of the `sluice` demo, the examples and the benchmarks, so nothing has to be downloaded.
//!
//! Word `r` (rank 0 is the most frequent) is drawn with probability proportional to
//! `1 / (r + 1)^s`. Words are pronounceable letter strings derived from the rank, so the same
//! vocabulary size always yields the same words, and the same seed the same text.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

const CONSONANTS: &[u8] = b"bcdfghjklmnprstvwz";
const VOWELS: &[u8] = b"aeiou";

/// A vocabulary with Zipf-like word frequencies.
///
/// ```
/// use sluice_core::corpus::Corpus;
/// let c = Corpus::new(1000, 1.0);
/// let lines = c.lines(42, 3, 10);
/// assert_eq!(lines.len(), 3);
/// assert_eq!(lines[0].split(' ').count(), 10);
/// assert_eq!(lines, c.lines(42, 3, 10)); // seeded: the same text every time
/// ```
#[derive(Debug, Clone)]
pub struct Corpus {
    words: Vec<String>,
    cdf: Vec<f64>,
}

/// The word of rank `r`: consonant-vowel syllables spelling `r + 1` in base 90.
pub fn word_for_rank(r: usize) -> String {
    let mut n = r + 1;
    let mut s = String::new();
    while n > 0 {
        let d = n % 90;
        n /= 90;
        s.push(CONSONANTS[d % CONSONANTS.len()] as char);
        s.push(VOWELS[d / CONSONANTS.len()] as char);
    }
    s
}

impl Corpus {
    /// A vocabulary of `vocab_size` words with Zipf exponent `exponent` (1.0 is classic).
    pub fn new(vocab_size: usize, exponent: f64) -> Self {
        let vocab_size = vocab_size.max(1);
        let words = (0..vocab_size).map(word_for_rank).collect();
        let mut cdf = Vec::with_capacity(vocab_size);
        let mut total = 0.0;
        for r in 0..vocab_size {
            total += 1.0 / ((r + 1) as f64).powf(exponent);
            cdf.push(total);
        }
        for c in &mut cdf {
            *c /= total;
        }
        Corpus { words, cdf }
    }

    /// The default corpus of the demo and benchmarks: 100,000 words, exponent 1.0.
    pub fn standard() -> Self {
        Corpus::new(100_000, 1.0)
    }

    /// Number of distinct words.
    pub fn vocab_size(&self) -> usize {
        self.words.len()
    }

    /// The word of a rank.
    pub fn word(&self, rank: usize) -> &str {
        &self.words[rank.min(self.words.len() - 1)]
    }

    /// Draws a word rank.
    pub fn sample_rank(&self, rng: &mut impl Rng) -> usize {
        let u: f64 = rng.gen();
        self.cdf
            .partition_point(|&c| c < u)
            .min(self.words.len() - 1)
    }

    /// Writes one line of `words_per_line` space-separated words.
    pub fn write_line(&self, rng: &mut impl Rng, words_per_line: usize, out: &mut String) {
        for i in 0..words_per_line {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&self.words[self.sample_rank(rng)]);
        }
    }

    /// Line number `index` of the text seeded by `seed`: computable on its own, so a source can
    /// replay any range of lines.
    pub fn line_at(&self, seed: u64, index: u64, words_per_line: usize) -> String {
        let mut rng = Pcg64::seed_from_u64(seed ^ crate::hash::fmix64(index.wrapping_add(1)));
        let mut s = String::with_capacity(words_per_line * 7);
        self.write_line(&mut rng, words_per_line, &mut s);
        s
    }

    /// `n` lines of `words_per_line` words from a seed.
    pub fn lines(&self, seed: u64, n: usize, words_per_line: usize) -> Vec<String> {
        let mut gen = self.generator(seed, words_per_line);
        (0..n).map(|_| gen.next_line()).collect()
    }

    /// An endless, seeded line generator.
    pub fn generator(&self, seed: u64, words_per_line: usize) -> LineGenerator {
        LineGenerator {
            corpus: self.clone(),
            rng: Pcg64::seed_from_u64(seed),
            words_per_line,
        }
    }
}

/// An endless, seeded source of lines (see [`Corpus::generator`]).
#[derive(Debug, Clone)]
pub struct LineGenerator {
    corpus: Corpus,
    rng: Pcg64,
    words_per_line: usize,
}

impl LineGenerator {
    /// The next line.
    pub fn next_line(&mut self) -> String {
        let mut s = String::with_capacity(self.words_per_line * 7);
        self.corpus
            .write_line(&mut self.rng, self.words_per_line, &mut s);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_distinct_and_frequencies_skewed() {
        let c = Corpus::new(10_000, 1.0);
        let set: std::collections::HashSet<_> = (0..10_000).map(word_for_rank).collect();
        assert_eq!(set.len(), 10_000);
        let mut rng = Pcg64::seed_from_u64(1);
        let mut top = 0;
        for _ in 0..10_000 {
            if c.sample_rank(&mut rng) == 0 {
                top += 1;
            }
        }
        // P(rank 0) = 1 / H(10000) ≈ 0.102
        assert!((800..1250).contains(&top), "{top}");
    }
}
