//! Text helpers for record pipelines.
//!
//! The usual way to turn a line into words in a `flat_map` —
//! `line.split(' ').map(String::from).collect::<Vec<_>>()` — builds a vector per line (and
//! grows it a few times) only to hand it to the engine, which moves the words out again. The
//! line is owned by the closure, so a borrowing `split` cannot be returned from it.
//! [`split_owned`] is the owned counterpart of [`str::split`]: an iterator that keeps the line
//! and yields its pieces one by one, so `flat_map` takes them straight into its output.
//!
//! Each piece of `split_owned` is still a `String`, one allocation per word, which a word
//! count then hashes through a pointer and frees once its count is merged. [`split_small`]
//! yields [`SmallString`]s instead: a string of up to 24 bytes (nearly every word) is held
//! inside the value, so a word costs no allocation, its bytes sit in the combine table's own
//! slot, and dropping it frees nothing. It hashes, compares, orders, serializes and prints as
//! the same text as a `String`, so keys land in the same partitions and checkpoints hold the
//! same bytes. [`words`] is the same for `split_whitespace`.

/// A string that keeps up to 24 bytes inline and longer ones on the heap (the
/// [`compact_str`](https://docs.rs/compact_str) crate's `CompactString`), the same size as a
/// `String`. It derefs to `str`; `SmallString::from("w")`, `s.as_str()` and `s.to_string()`
/// convert, and `HashMap<SmallString, _>::get("w")` looks up by `&str`.
///
/// ```
/// use sluice_core::text::SmallString;
/// let w = SmallString::from("stream");
/// assert_eq!(w, "stream");
/// assert!(!w.is_heap_allocated());
/// ```
pub use compact_str::CompactString as SmallString;

/// Splits an owned line on `sep`, yielding owned pieces: the same pieces, in the same order,
/// as `line.split(sep)` (so an empty line yields one empty piece, and a trailing separator a
/// trailing empty piece).
///
/// ```
/// use sluice_core::text::split_owned;
/// let words: Vec<String> = split_owned("to be or".to_string(), ' ').collect();
/// assert_eq!(words, ["to", "be", "or"]);
/// assert_eq!(split_owned(String::new(), ' ').collect::<Vec<_>>(), [""]);
/// ```
pub fn split_owned(line: String, sep: char) -> SplitOwned<String> {
    SplitOwned::new(line, sep)
}

/// Splits an owned line on `sep` as [`split_owned`] does, yielding each piece as a
/// [`SmallString`]: no allocation for a piece of up to 24 bytes. The word count's idiom:
///
/// ```
/// use sluice_core::text::split_small;
/// use sluice_core::Context;
/// let ctx = Context::local(2).unwrap();
/// let mut counts = ctx
///     .parallelize(vec!["to be or".to_string(), "not to be".to_string()], 2)
///     .flat_map(|l: String| split_small(l, ' '))
///     .map(|w| (w, 1u64))
///     .reduce_by_key(|a, b| a + b)
///     .collect()
///     .unwrap();
/// counts.sort();
/// assert_eq!(counts[0], ("be".into(), 2));
/// assert_eq!(counts.len(), 4);
/// ```
pub fn split_small(line: String, sep: char) -> SplitOwned<SmallString> {
    SplitOwned::new(line, sep)
}

/// The iterator of [`split_owned`] (pieces as `String`) and [`split_small`] (pieces as
/// [`SmallString`]).
#[derive(Debug, Clone)]
pub struct SplitOwned<T = String> {
    line: String,
    /// Where the next piece starts; `None` once the last piece has been yielded.
    pos: Option<usize>,
    sep: char,
    sep_len: usize,
    piece: std::marker::PhantomData<fn() -> T>,
}

impl<T> SplitOwned<T> {
    fn new(line: String, sep: char) -> Self {
        let mut buf = [0u8; 4];
        let sep_len = sep.encode_utf8(&mut buf).len();
        SplitOwned {
            line,
            pos: Some(0),
            sep,
            sep_len,
            piece: std::marker::PhantomData,
        }
    }

    /// The offset of the next separator at or after `from`.
    #[inline]
    fn next_sep(&self, from: usize) -> Option<usize> {
        let rest = self.line.get(from..)?;
        let at = if self.sep.is_ascii() {
            memchr::memchr(self.sep as u8, rest.as_bytes())
        } else {
            rest.find(self.sep)
        };
        at.map(|i| from + i)
    }
}

impl<T: for<'a> From<&'a str>> Iterator for SplitOwned<T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        let start = self.pos?;
        match self.next_sep(start) {
            Some(end) => {
                self.pos = Some(end + self.sep_len);
                self.line.get(start..end).map(T::from)
            }
            None => {
                self.pos = None;
                self.line.get(start..).map(T::from)
            }
        }
    }
}

impl<T: for<'a> From<&'a str>> std::iter::FusedIterator for SplitOwned<T> {}

/// The words of an owned line as [`SmallString`]s: the same pieces, in the same order, as
/// `line.split_whitespace()` (runs of Unicode white space separate words; there are no empty
/// words). Takes the line by value, so it is a `flat_map` function as it stands:
///
/// ```
/// use sluice_core::text::words;
/// use sluice_core::Context;
/// let ctx = Context::local(1).unwrap();
/// let lines = ctx.parallelize(vec!["  to be\tor ".to_string(), String::new()], 1);
/// assert_eq!(lines.flat_map(words).collect().unwrap(), ["to", "be", "or"]);
/// ```
pub fn words(line: String) -> Words {
    Words { line, pos: 0 }
}

/// The iterator of [`words`].
#[derive(Debug, Clone)]
pub struct Words {
    line: String,
    /// Where the search for the next word starts.
    pos: usize,
}

impl Iterator for Words {
    type Item = SmallString;

    #[inline]
    fn next(&mut self) -> Option<SmallString> {
        let rest = self.line.get(self.pos..)?;
        let Some(start) = rest.find(|c: char| !c.is_whitespace()) else {
            self.pos = self.line.len();
            return None;
        };
        let word = rest.get(start..)?;
        let len = word.find(char::is_whitespace).unwrap_or(word.len());
        self.pos += start + len;
        word.get(..len).map(SmallString::from)
    }
}

impl std::iter::FusedIterator for Words {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn corner_cases_match_str_split() {
        for (line, sep) in [
            ("", ' '),
            (" ", ' '),
            ("a", ' '),
            ("a ", ' '),
            (" a", ' '),
            ("a  b", ' '),
            ("añb", 'ñ'),
            ("ñ", 'ñ'),
            ("a,b,,c", ','),
        ] {
            let want: Vec<&str> = line.split(sep).collect();
            let got: Vec<String> = split_owned(line.to_string(), sep).collect();
            assert_eq!(got, want, "{line:?} on {sep:?}");
        }
    }

    #[test]
    fn small_strings_hash_place_encode_and_print_as_strings() {
        use crate::partitioner::{HashPartitioner, Partitioner};
        use crate::ToText;
        let p = HashPartitioner::new(7);
        for w in [
            "",
            "a",
            "stream",
            "exactly-twenty-four-byte",
            "a word longer than 24 bytes",
        ] {
            let (small, owned) = (SmallString::from(w), w.to_string());
            assert_eq!(
                crate::hash::stable_hash(&small),
                crate::hash::stable_hash(&owned)
            );
            assert_eq!(p.partition(&small), p.partition(&owned), "{w:?}");
            assert_eq!(
                bincode::serialize(&small).ok(),
                bincode::serialize(&owned).ok()
            );
            assert_eq!(small.to_text(), owned.to_text());
            assert_eq!(small.is_heap_allocated(), w.len() > 24, "{w:?}");
        }
    }

    #[test]
    fn stays_exhausted() {
        let mut it = split_owned("a".to_string(), ' ');
        assert_eq!(it.next().as_deref(), Some("a"));
        assert_eq!(it.next(), None);
        assert_eq!(it.next(), None);
    }

    #[test]
    fn words_match_split_whitespace() {
        for line in [
            "",
            " ",
            "a",
            " a b  c ",
            "a\tb\nc",
            "\u{3000}x\u{a0}y",
            "añb c",
        ] {
            let want: Vec<&str> = line.split_whitespace().collect();
            let got: Vec<SmallString> = words(line.to_string()).collect();
            assert_eq!(got, want, "{line:?}");
        }
    }

    proptest! {
        #[test]
        fn words_equal_split_whitespace(line in "[ab \t\u{a0}ñ\u{3000}]{0,24}") {
            let want: Vec<&str> = line.split_whitespace().collect();
            let got: Vec<SmallString> = words(line.clone()).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn equals_str_split(line in "[ab ñ,]{0,24}", sep in prop::sample::select(vec![' ', 'ñ', ',', 'a'])) {
            let want: Vec<&str> = line.split(sep).collect();
            let got: Vec<String> = split_owned(line.clone(), sep).collect();
            prop_assert_eq!(&got, &want);
            let small: Vec<SmallString> = split_small(line.clone(), sep).collect();
            prop_assert_eq!(small, want);
        }
    }
}
