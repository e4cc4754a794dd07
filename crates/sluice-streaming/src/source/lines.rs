//! Cutting a byte stream into lines with a bound on the line length, so that a peer that never
//! sends a newline cannot grow a receiver's memory without limit.

/// What [`LineFramer::feed`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole line, without its `\n` (a trailing `\r` is kept; the caller decides).
    Line(Vec<u8>),
    /// A line longer than the limit ended here; its bytes were dropped. Holds its length.
    TooLong(usize),
}

/// Cuts lines out of a stream of byte chunks, holding at most `max_line` bytes of a line.
///
/// ```
/// use sluice_streaming::source::lines::{Frame, LineFramer};
/// let mut f = LineFramer::new(4);
/// let mut frames = Vec::new();
/// let mut input: &[u8] = b"ab\ntoo long\ncd";
/// while !input.is_empty() {
///     let (used, frame) = f.feed(input);
///     input = &input[used..];
///     frames.extend(frame);
/// }
/// assert_eq!(frames, vec![Frame::Line(b"ab".to_vec()), Frame::TooLong(8)]);
/// assert_eq!(f.finish(), Some(Frame::Line(b"cd".to_vec())));
/// ```
#[derive(Debug)]
pub struct LineFramer {
    max_line: usize,
    line: Vec<u8>,
    /// Bytes of the current line when it is over the limit (its bytes are not kept).
    dropped: Option<usize>,
}

impl LineFramer {
    /// A framer keeping at most `max_line` bytes of a line (at least 1).
    pub fn new(max_line: usize) -> Self {
        LineFramer {
            max_line: max_line.max(1),
            line: Vec::new(),
            dropped: None,
        }
    }

    /// Takes bytes from the front of `chunk` up to and including the first newline (or all of
    /// it). Returns how many bytes were used and the line that ended, if one did.
    pub fn feed(&mut self, chunk: &[u8]) -> (usize, Option<Frame>) {
        let (part, ended) = match memchr(chunk) {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        match &mut self.dropped {
            Some(n) => *n += part.len(),
            None if self.line.len() + part.len() > self.max_line => {
                self.dropped = Some(self.line.len() + part.len());
                self.line = Vec::new();
            }
            None => self.line.extend_from_slice(part),
        }
        match ended {
            Some(used) => (used, Some(self.take())),
            None => (chunk.len(), None),
        }
    }

    /// The unterminated last line at the end of the stream, if any.
    pub fn finish(&mut self) -> Option<Frame> {
        if self.line.is_empty() && self.dropped.is_none() {
            None
        } else {
            Some(self.take())
        }
    }

    fn take(&mut self) -> Frame {
        match self.dropped.take() {
            Some(n) => Frame::TooLong(n),
            None => Frame::Line(std::mem::take(&mut self.line)),
        }
    }
}

fn memchr(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frames(max: usize, chunks: &[Vec<u8>]) -> Vec<Frame> {
        let mut f = LineFramer::new(max);
        let mut out = Vec::new();
        for c in chunks {
            let mut rest = &c[..];
            while !rest.is_empty() {
                let (used, fr) = f.feed(rest);
                rest = &rest[used..];
                out.extend(fr);
            }
        }
        out.extend(f.finish());
        out
    }

    proptest! {
        /// However the stream is cut into chunks, the lines are those of `split('\n')`, with
        /// the long ones replaced by their length.
        #[test]
        fn lines_match_a_split(
            text in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'a'), Just(b'b')], 0..200),
            cuts in proptest::collection::vec(1usize..20, 1..20),
            max in 1usize..12,
        ) {
            let mut chunks = Vec::new();
            let mut rest = &text[..];
            for c in cuts.iter().cycle() {
                if rest.is_empty() { break; }
                let n = (*c).min(rest.len());
                chunks.push(rest[..n].to_vec());
                rest = &rest[n..];
            }
            let mut want: Vec<Frame> = text
                .split(|&b| b == b'\n')
                .map(|l| if l.len() > max { Frame::TooLong(l.len()) } else { Frame::Line(l.to_vec()) })
                .collect();
            // A trailing newline ends the last line; nothing follows it.
            if want.last() == Some(&Frame::Line(Vec::new())) {
                want.pop();
            }
            prop_assert_eq!(frames(max, &chunks), want);
        }
    }
}
