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
            Ok(v) => Err(format!("{v} is not a finite number")),
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

/// Open a byte stream: skip a UTF-8 BOM, sniff the dialect from the first line, and give back
/// a reader that still yields every byte after the BOM (the sniffed head is replayed first).
pub fn open<R: Read>(mut input: R) -> std::io::Result<(Dialect, impl Read)> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut input)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)?;
    let start = if head.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let dialect = Dialect::sniff(&head[start..]);
    head.drain(..start);
    Ok((dialect, Cursor::new(head).chain(input)))
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
}
