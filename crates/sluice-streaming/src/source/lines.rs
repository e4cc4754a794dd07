//! Cutting a byte stream into lines with a bound on the line length, so that a peer that never
//! sends a newline cannot grow a receiver's memory without limit.
//!
//! Lines end as Java's `BufferedReader.readLine` (and so Spark's socket receiver) ends them: at
//! `\n`, at `\r\n`, or at a lone `\r` — also when a `\r\n` is cut between two chunks.

/// What [`LineFramer::feed`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole line, without its terminator.
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
///
/// // `\r\n` and a lone `\r` end lines too.
/// let mut f = LineFramer::new(16);
/// let (used, frame) = f.feed(b"x\r\ny\rz");
/// assert_eq!((used, frame), (2, Some(Frame::Line(b"x".to_vec()))));
/// assert_eq!(f.feed(b"\ny\rz"), (1, None)); // the `\n` of `\r\n`
/// assert_eq!(f.feed(b"y\rz"), (2, Some(Frame::Line(b"y".to_vec()))));
/// ```
#[derive(Debug)]
pub struct LineFramer {
    max_line: usize,
    line: Vec<u8>,
    /// Bytes of the current line when it is over the limit (its bytes are not kept).
    dropped: Option<usize>,
    /// The last line ended at a `\r`: a `\n` right after it belongs to that ending.
    after_cr: bool,
}

impl LineFramer {
    /// A framer keeping at most `max_line` bytes of a line (at least 1).
    pub fn new(max_line: usize) -> Self {
        LineFramer {
            max_line: max_line.max(1),
            line: Vec::new(),
            dropped: None,
            after_cr: false,
        }
    }

    /// Takes bytes from the front of `chunk` up to and including the first line terminator (or
    /// all of it). Returns how many bytes were used and the line that ended, if one did.
    pub fn feed(&mut self, chunk: &[u8]) -> (usize, Option<Frame>) {
        if std::mem::take(&mut self.after_cr) && chunk.first() == Some(&b'\n') {
            return (1, None);
        }
        let (part, ended) = match find_terminator(chunk) {
            Some(i) => {
                self.after_cr = chunk[i] == b'\r';
                (&chunk[..i], Some(i + 1))
            }
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

fn find_terminator(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n' || c == b'\r')
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

    /// The lines of `text` as `BufferedReader.readLine` returns them.
    fn read_lines(text: &[u8]) -> Vec<Vec<u8>> {
        let (mut out, mut line, mut i) = (Vec::new(), Vec::new(), 0);
        while i < text.len() {
            match text[i] {
                b'\n' => out.push(std::mem::take(&mut line)),
                b'\r' => {
                    out.push(std::mem::take(&mut line));
                    if text.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                }
                c => line.push(c),
            }
            i += 1;
        }
        if !line.is_empty() {
            out.push(line);
        }
        out
    }

    #[test]
    fn carriage_returns_end_lines_as_read_line_does() {
        let chunks = |parts: &[&[u8]]| parts.iter().map(|p| p.to_vec()).collect::<Vec<_>>();
        let lines = |ls: &[&[u8]]| {
            ls.iter()
                .map(|l| Frame::Line(l.to_vec()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            frames(64, &chunks(&[b"left\rright\n"])),
            lines(&[b"left", b"right"])
        );
        assert_eq!(
            frames(64, &chunks(&[b"a\r", b"\nb\r", b"\r\n"])),
            lines(&[b"a", b"b", b""])
        );
        assert_eq!(frames(64, &chunks(&[b"\r\n\r\n"])), lines(&[b"", b""]));
        assert_eq!(frames(64, &chunks(&[b"end\r"])), lines(&[b"end"]));
    }

    proptest! {
        /// However the stream is cut into chunks, the lines are those `readLine` reads, with
        /// the long ones replaced by their length.
        #[test]
        fn lines_match_read_line(
            text in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), Just(b'b')], 0..200),
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
            let want: Vec<Frame> = read_lines(&text)
                .into_iter()
                .map(|l| if l.len() > max { Frame::TooLong(l.len()) } else { Frame::Line(l) })
                .collect();
            prop_assert_eq!(frames(max, &chunks), want);
        }
    }
}
