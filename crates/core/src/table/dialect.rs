//! How an uploaded CSV is written: delimiter, decimal mark, BOM. Sniffed from the header line,
//! so a file exported by a spreadsheet in a comma-decimal locale (`;` separated, `1,5`) reads as
//! well as a plain one.

use std::io::{Cursor, Read};

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dialect {
    pub delimiter: u8,
    /// Numbers may use `,` as the decimal mark (only with a `;` delimiter, where it is free).
    pub decimal_comma: bool,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect {
            delimiter: b',',
            decimal_comma: false,
        }
    }
}

/// How much of the file is read to sniff the header line.
const SNIFF_BYTES: usize = 64 * 1024;

impl Dialect {
    /// From the first line: `;` when it has more semicolons than commas outside quotes.
    pub fn sniff(head: &[u8]) -> Dialect {
        let (mut commas, mut semis, mut quoted) = (0, 0, false);
        for &b in head {
            match b {
                b'"' => quoted = !quoted,
                b'\n' | b'\r' if !quoted => break,
                b',' if !quoted => commas += 1,
                b';' if !quoted => semis += 1,
                _ => {}
            }
        }
        if semis > commas {
            Dialect {
                delimiter: b';',
                decimal_comma: true,
            }
        } else {
            Dialect::default()
        }
    }

    /// One numeric cell: `Ok(None)` when empty, else a finite number or what is wrong with it.
    pub fn parse_number(&self, raw: &str) -> Result<Option<f64>, String> {
        let t = raw.trim();
        if t.is_empty() {
            return Ok(None);
        }
        let parsed = if self.decimal_comma && t.contains(',') {
            t.replacen(',', ".", 1).parse::<f64>()
        } else {
            t.parse::<f64>()
        };
        match parsed {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            Ok(_) => Err(format!("{raw:?} is not a finite number")),
            Err(_) => Err(format!("{raw:?} is not a number")),
        }
    }

    /// A CSV reader over `input` in this dialect, header included as the first record;
    /// flexible, so a short or long row is reported with its row number instead of ending the read.
    pub fn reader<R: Read>(&self, input: R) -> csv::Reader<R> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(self.delimiter)
            .from_reader(input)
    }
}

/// Longest line a CSV of formulations may have (a header of 10,000 long names fits easily):
/// a longer one is a file of another kind, and reading it whole would only eat memory.
pub const MAX_LINE: usize = 8 << 20;

/// Why `head` (the file's first bytes; `complete` when that is the whole file) is not UTF-8
/// CSV text, said so that the user knows what to do; `None` when it is.
pub fn encoding_problem(head: &[u8], complete: bool) -> Option<String> {
    const RESAVE: &str = "save it from your spreadsheet as \"CSV UTF-8\" and upload that";
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        return Some(format!(
            "the file is UTF-16 text (it starts with a UTF-16 byte-order mark); {RESAVE}"
        ));
    }
    if head.starts_with(b"PK\x03\x04") {
        return Some(format!(
            "the file is a ZIP archive (an Excel .xlsx workbook?), not CSV text; {RESAVE}"
        ));
    }
    if let Some(at) = head.iter().position(|&b| b == 0) {
        // UTF-16 text of Latin letters has a zero in every other byte (odd ones for
        // little-endian, even ones for big-endian), and few elsewhere.
        let zeros = |parity: usize| {
            let (mut z, mut all) = (0usize, 0usize);
            for &b in head.iter().skip(parity).step_by(2) {
                z += usize::from(b == 0);
                all += 1;
            }
            z as f64 / all.max(1) as f64
        };
        let (even, odd) = (zeros(0), zeros(1));
        let utf16 = (odd > 0.7 && even < 0.1) || (even > 0.7 && odd < 0.1);
        return Some(if utf16 {
            format!("the file looks like UTF-16 text without a byte-order mark; {RESAVE}")
        } else {
            format!(
                "the file holds binary data (a zero byte at offset {at}), not CSV text; {RESAVE}"
            )
        });
    }
    match std::str::from_utf8(head) {
        Ok(_) => None,
        // Cut in the middle of a character by the sniffing window: fine.
        Err(e) if e.error_len().is_none() && !complete => None,
        Err(e) => {
            let at = e.valid_up_to();
            let line = 1 + head[..at].iter().filter(|&&b| b == b'\n').count();
            Some(format!(
                "line {line} is not UTF-8 text (byte 0x{:02X} at offset {at}): the file is in \
                 a legacy encoding such as CP949 (Korean) or Windows-1252; {RESAVE}",
                head[at]
            ))
        }
    }
}

/// Passes bytes on, failing once a line grows past [`MAX_LINE`].
struct LineLimit<R> {
    inner: R,
    line: usize,
    run: usize,
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let got = self.inner.read(buf)?;
        for &b in &buf[..got] {
            if b == b'\n' {
                self.line += 1;
                self.run = 0;
            } else {
                self.run += 1;
            }
        }
        if self.run > MAX_LINE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "line {} is longer than {} MiB: this is not a CSV of formulations",
                    self.line,
                    MAX_LINE >> 20
                ),
            ));
        }
        Ok(got)
    }
}

/// Open a byte stream: skip a UTF-8 BOM, refuse what is not UTF-8 text, sniff the dialect
/// from the first line, and give back a reader that still yields every byte after the BOM
/// (the sniffed head is replayed first) and stops at an over-long line.
pub fn open<R: Read>(mut input: R) -> std::io::Result<(Dialect, impl Read)> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut input)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)?;
    if let Some(problem) = encoding_problem(&head, head.len() < SNIFF_BYTES) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            problem,
        ));
    }
    let start = if head.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let dialect = Dialect::sniff(&head[start..]);
    head.drain(..start);
    let limited = LineLimit {
        inner: Cursor::new(head).chain(input),
        line: 1,
        run: 0,
    };
    Ok((dialect, limited))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_semicolons_and_reads_decimal_commas() {
        let d = Dialect::sniff(b"id;\"a,b\";c\n1;2,5;3");
        assert_eq!(d.delimiter, b';');
        assert_eq!(d.parse_number(" 2,5 "), Ok(Some(2.5)));
        assert_eq!(d.parse_number("2.5"), Ok(Some(2.5)));
        assert_eq!(d.parse_number(""), Ok(None));
        assert!(d.parse_number("abc").is_err());
        let d = Dialect::sniff(b"id,\"x;y;z\",c\r\n");
        assert_eq!(d, Dialect::default());
        assert!(d.parse_number("2,5").is_err());
        assert!(d.parse_number("NaN").is_err());
    }

    #[test]
    fn open_skips_the_bom_and_replays_the_head() {
        let text = "\u{feff}id;x\r\nA;1,5\r\n";
        let (d, mut r) = open(text.as_bytes()).unwrap();
        let mut rest = String::new();
        r.read_to_string(&mut rest).unwrap();
        assert_eq!(d.delimiter, b';');
        assert_eq!(rest, "id;x\r\nA;1,5\r\n");
    }

    #[test]
    fn what_is_not_utf8_text_is_named() {
        let problem = |b: &[u8]| encoding_problem(b, true).unwrap_or_default();
        assert!(problem(b"\xFF\xFEi\0d\0").contains("UTF-16"));
        assert!(problem(b"i\0d\0,\0x\0\n\0").contains("UTF-16 text without"));
        assert!(problem(b"PK\x03\x04\x14\0").contains(".xlsx"));
        assert!(problem(b"id,x\n\x7fELF\0\0\x01\x02junk junk junk junk").contains("binary data"));
        // "이름" in CP949 on line 2.
        let cp949 = problem(b"id,x\n\xC0\xCC\xB8\xA7,1\n");
        assert!(
            cp949.contains("line 2") && cp949.contains("CP949"),
            "{cp949}"
        );
        assert_eq!(encoding_problem("id,이름\n".as_bytes(), true), None);
        // A character cut by the sniffing window is not a problem; at the file's end it is.
        assert_eq!(encoding_problem(&"id,이".as_bytes()[..5], false), None);
        assert!(encoding_problem(&"id,이".as_bytes()[..5], true).is_some());
    }

    #[test]
    fn an_over_long_line_stops_the_read() {
        let mut text = b"id,x\n1,".to_vec();
        text.extend(std::iter::repeat_n(b'9', MAX_LINE + 10));
        let (_, mut r) = open(text.as_slice()).unwrap();
        let err = std::io::copy(&mut r, &mut std::io::sink()).unwrap_err();
        assert!(
            err.to_string().contains("line 2 is longer than 8 MiB"),
            "{err}"
        );
    }
}
