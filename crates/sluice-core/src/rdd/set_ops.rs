//! Set-like operations: `distinct`, `subtract`, `intersection`. Each is one shuffle keyed by
//! the record itself.

use super::pair::Key;
use super::Rdd;

impl<T: Key> Rdd<T> {
    /// The distinct records, in the same number of partitions.
    pub fn distinct(&self) -> Rdd<T> {
        self.distinct_into(self.num_partitions().max(1))
    }

    /// The distinct records, in `n` partitions.
    pub fn distinct_into(&self, n: usize) -> Rdd<T> {
        self.map(|x| (x, ()))
            .reduce_by_key_into(n, |_, _| ())
            .keys()
            .set_name("distinct")
    }

    /// The records of this RDD that do not occur in `other`; duplicates in this RDD are kept
    /// (as in Spark).
    pub fn subtract(&self, other: &Rdd<T>) -> Rdd<T> {
        self.map(|x| (x, ()))
            .subtract_by_key(&other.map(|x| (x, ())))
            .keys()
            .set_name("subtract")
    }

    /// The records present in both RDDs, without duplicates.
    pub fn intersection(&self, other: &Rdd<T>) -> Rdd<T> {
        self.map(|x| (x, ()))
            .cogroup(&other.map(|x| (x, ())))
            .filter(|(_, (a, b))| !a.is_empty() && !b.is_empty())
            .keys()
            .set_name("intersection")
    }
}
