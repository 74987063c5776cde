//! The CSV loader's field reader: one field at a time from a byte stream (so a long line is
//! never held whole), with the byte limit, the quote state that finds an unclosed quote, and
//! the checks on a label's text.

use std::io::Read;

use crate::error::{Error, Result};

/// A label's text: UTF-8, trimmed, without line breaks or NUL characters (which a quoted
/// field can hold, and which would make a label no one can type or print).
///
/// A long label takes `bytes`' buffer instead of copying it (the buffer is left empty).
pub(super) fn utf8_label(
    bytes: &mut Vec<u8>,
    line: u64,
    column: usize,
    csv_err: &impl Fn(u64, usize, String) -> Error,
) -> Result<String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| csv_err(line, column, "the text is not valid UTF-8".to_owned()))?
        .trim();
    if let Some(c) = text.chars().find(|c| matches!(c, '\n' | '\r' | '\0')) {
        let what = if c == '\0' {
            "a NUL character"
        } else {
            "a line break"
        };
        return Err(csv_err(
            line,
            column,
            format!("the label {text:?} contains {what}"),
        ));
    }
    if text.len() < 1 << 16 {
        return Ok(text.to_owned());
    }
    let (start, end) = (text.as_ptr() as usize - bytes.as_ptr() as usize, text.len());
    let mut owned = std::mem::take(bytes);
    owned.truncate(start + end);
    owned.drain(..start);
    owned.shrink_to_fit();
    String::from_utf8(owned)
        .map_err(|_| csv_err(line, column, "the text is not valid UTF-8".to_owned()))
}

pub(super) enum FieldError {
    Io(std::io::Error),
    TooLarge,
}

/// Splits CSV text into fields as they arrive (one field in memory at a time, however long
/// the line), counting the bytes read against a cap, and follows the quoting to report a
/// quoted field that is never closed.
pub(super) struct FieldReader<R> {
    inner: R,
    core: ::csv_core::Reader,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    read: u64,
    max_bytes: u64,
    quotes: QuoteTracker,
    out: Vec<u8>,
}

impl<R: Read> FieldReader<R> {
    pub(super) fn new(inner: R, delimiter: u8, max_bytes: u64) -> Self {
        FieldReader {
            inner,
            core: ::csv_core::ReaderBuilder::new()
                .delimiter(delimiter)
                .build(),
            buf: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            eof: false,
            read: 0,
            max_bytes,
            quotes: QuoteTracker::new(delimiter),
            out: vec![0; 8 * 1024],
        }
    }

    /// The line the next record starts on (as counted by the parser).
    pub(super) fn line(&self) -> u64 {
        self.core.line()
    }

    /// Where (line, 1-based column) a quoted field that is still open at the end of the text
    /// began, once the whole text has been read.
    pub(super) fn unterminated_quote(&self) -> Option<(u64, usize)> {
        if self.eof { self.quotes.open() } else { None }
    }

    /// The next field into `field`; `Some(true)` if it ends its record, `None` at the end.
    pub(super) fn next(
        &mut self,
        field: &mut Vec<u8>,
    ) -> std::result::Result<Option<bool>, FieldError> {
        field.clear();
        loop {
            if self.start == self.end && !self.eof {
                let n = loop {
                    match self.inner.read(&mut self.buf) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(FieldError::Io(e)),
                    }
                };
                self.read += n as u64;
                if self.read > self.max_bytes {
                    return Err(FieldError::TooLarge);
                }
                self.quotes.feed(&self.buf[..n]);
                self.start = 0;
                self.end = n;
                self.eof = n == 0;
            }
            let input = &self.buf[self.start..self.end];
            let (result, nin, nout) = self.core.read_field(input, &mut self.out);
            self.start += nin;
            field.extend_from_slice(&self.out[..nout]);
            match result {
                ::csv_core::ReadFieldResult::InputEmpty
                | ::csv_core::ReadFieldResult::OutputFull => continue,
                ::csv_core::ReadFieldResult::Field { record_end } => return Ok(Some(record_end)),
                ::csv_core::ReadFieldResult::End => return Ok(None),
            }
        }
    }
}

/// Follows the quoting of CSV text as `csv_core` reads it with the default options (a quote
/// opens a quoted field only at the start of a field; `""` inside is an escaped quote; a UTF-8
/// byte-order mark at the start is skipped), to know whether a quoted field is left open.
struct QuoteTracker {
    delimiter: u8,
    state: QuoteState,
    line: u64,
    column: usize,
    opened: (u64, usize),
    seen: u64,
    /// Whether the bytes seen so far are a prefix of a byte-order mark.
    bom: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    StartField,
    InField,
    Quoted,
    QuoteInQuoted,
}

impl QuoteTracker {
    fn new(delimiter: u8) -> Self {
        QuoteTracker {
            delimiter,
            state: QuoteState::StartField,
            line: 1,
            column: 1,
            opened: (0, 0),
            seen: 0,
            bom: true,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        use QuoteState::*;
        const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];
        for &b in bytes {
            let position = self.seen;
            self.seen += 1;
            if position < 3 && self.bom {
                if b == BOM[position as usize] {
                    continue;
                }
                self.bom = false;
            }
            let end_of_record = b == b'\n' || b == b'\r';
            if b == b'\n' {
                self.line += 1;
            }
            self.state = match self.state {
                StartField if b == b'"' => {
                    self.opened = (self.line, self.column);
                    Quoted
                }
                Quoted if b == b'"' => QuoteInQuoted,
                Quoted => Quoted,
                QuoteInQuoted if b == b'"' => Quoted,
                StartField | InField | QuoteInQuoted if b == self.delimiter => {
                    self.column += 1;
                    StartField
                }
                StartField | InField | QuoteInQuoted if end_of_record => {
                    self.column = 1;
                    StartField
                }
                StartField | InField | QuoteInQuoted => InField,
            };
        }
    }

    fn open(&self) -> Option<(u64, usize)> {
        (self.state == QuoteState::Quoted).then_some(self.opened)
    }
}
