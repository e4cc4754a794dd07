//! Text helpers for record pipelines.
//!
//! The usual way to turn a line into words in a `flat_map` —
//! `line.split(' ').map(String::from).collect::<Vec<_>>()` — builds a vector per line (and
//! grows it a few times) only to hand it to the engine, which moves the words out again. The
//! line is owned by the closure, so a borrowing `split` cannot be returned from it.
//! [`split_owned`] is the owned counterpart of [`str::split`]: an iterator that keeps the line
//! and yields its pieces one by one, so `flat_map` takes them straight into its output.

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
pub fn split_owned(line: String, sep: char) -> SplitOwned {
    let mut buf = [0u8; 4];
    let sep_len = sep.encode_utf8(&mut buf).len();
    SplitOwned {
        line,
        pos: Some(0),
        sep,
        sep_len,
    }
}

/// The iterator of [`split_owned`].
#[derive(Debug, Clone)]
pub struct SplitOwned {
    line: String,
    /// Where the next piece starts; `None` once the last piece has been yielded.
    pos: Option<usize>,
    sep: char,
    sep_len: usize,
}

impl SplitOwned {
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

impl Iterator for SplitOwned {
    type Item = String;

    #[inline]
    fn next(&mut self) -> Option<String> {
        let start = self.pos?;
        match self.next_sep(start) {
            Some(end) => {
                self.pos = Some(end + self.sep_len);
                self.line.get(start..end).map(str::to_owned)
            }
            None => {
                self.pos = None;
                self.line.get(start..).map(str::to_owned)
            }
        }
    }
}

impl std::iter::FusedIterator for SplitOwned {}

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
    fn stays_exhausted() {
        let mut it = split_owned("a".to_string(), ' ');
        assert_eq!(it.next().as_deref(), Some("a"));
        assert_eq!(it.next(), None);
        assert_eq!(it.next(), None);
    }

    proptest! {
        #[test]
        fn equals_str_split(line in "[ab ñ,]{0,24}", sep in prop::sample::select(vec![' ', 'ñ', ',', 'a'])) {
            let want: Vec<&str> = line.split(sep).collect();
            let got: Vec<String> = split_owned(line.clone(), sep).collect();
            prop_assert_eq!(got, want);
        }
    }
}
