//! How an uploaded CSV is written: delimiter and decimal mark, sniffed from the file's first
//! records (after decoding), so that what spreadsheets write in any locale reads alike:
//! `,` with `1.5`, `;` with `1,5` (Excel in comma-decimal locales), tabs (Excel's "Text" and
//! "Unicode Text"), `,` with quoted `"1,5"` (LibreOffice and Google Sheets in those locales), an
//! Excel `sep=;` first line.

use std::io::{Cursor, Read};

use serde::{Deserialize, Serialize};

use super::encoding::{Decoder, Encoding, bom_len, detect};
use super::number;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dialect {
    pub delimiter: u8,
    /// Numbers use `,` as the decimal mark (and `.` or spaces to group digits).
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

/// How much of the file is read to sniff the encoding and dialect.
const SNIFF_BYTES: usize = 64 * 1024;

/// Records looked at to sniff the dialect.
const SNIFF_RECORDS: usize = 200;

/// Delimiters tried, in order of preference when two fit equally well.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

impl Dialect {
    /// From the first records of decoded text: the delimiter that splits most of them into
    /// the same number (> 1) of cells, then the decimal mark the numbers vote for (`;` files
    /// default to a comma, as Excel writes them, when no number says).
    pub fn sniff(head: &[u8]) -> Dialect {
        // The last line may be cut by the sniffing window.
        let head = match head.iter().rposition(|&b| b == b'\n') {
            Some(end) if end + 1 < head.len() => &head[..=end],
            _ => head,
        };
        // The records as the chosen delimiter splits them, kept for the vote below.
        let (delimiter, records) = match sep_line(head) {
            Some(d) => (d, sample(head, d)),
            // The best fit; on a tie the earlier delimiter in the list (`max_by_key` keeps
            // the last of equals, hence the reversal).
            None => (DELIMITERS.into_iter().rev())
                .map(|d| (d, sample(head, d)))
                .max_by_key(|(_, records)| {
                    let (width, score) = fit(records);
                    (score, width)
                })
                .unwrap_or((b',', Vec::new())),
        };
        let (width, _) = fit(&records);
        let (mut commas, mut points) = (0usize, 0usize);
        let mut header_seen = false;
        for record in records {
            // Cells before and in the header (the first full-width record) are names.
            if !header_seen {
                header_seen = record.len() == width;
                continue;
            }
            for cell in &record {
                match number::decimal_vote(cell) {
                    Some(true) => commas += 1,
                    Some(false) => points += 1,
                    None => {}
                }
            }
        }
        let decimal_comma = commas > points || (commas == points && delimiter == b';');
        Dialect {
            delimiter,
            decimal_comma,
        }
    }

    /// One numeric cell: `Ok(None)` when empty or marked missing, else a finite number or
    /// what is wrong with it (see [`number::parse`]).
    pub fn parse_number(&self, raw: &str) -> Result<Option<f64>, String> {
        number::parse(raw, self.decimal_comma)
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

/// The delimiter an Excel `sep=;` first line names.
fn sep_line(head: &[u8]) -> Option<u8> {
    let line = head.split(|&b| b == b'\n').next()?;
    let line = String::from_utf8_lossy(line);
    let line = line.trim_end_matches('\r').trim_matches('"');
    let rest = line.strip_prefix("sep=")?;
    (rest.len() == 1).then(|| rest.as_bytes()[0])
}

/// The first records of `head` split by `delimiter`, as text cells (blank records left out).
fn sample(head: &[u8], delimiter: u8) -> Vec<Vec<String>> {
    let dialect = Dialect {
        delimiter,
        decimal_comma: false,
    };
    let mut reader = dialect.reader(head);
    let mut out = Vec::new();
    let mut record = csv::ByteRecord::new();
    while out.len() < SNIFF_RECORDS && reader.read_byte_record(&mut record).unwrap_or(false) {
        let cells: Vec<String> = record
            .iter()
            .map(|c| String::from_utf8_lossy(c).trim().to_string())
            .collect();
        if cells.iter().any(|c| !c.is_empty()) {
            out.push(cells);
        }
    }
    out
}

/// The usual width of `records` (most frequent, > 1) and how many records have it.
fn fit(records: &[Vec<String>]) -> (usize, usize) {
    let mut counts = std::collections::HashMap::<usize, usize>::new();
    for record in records {
        if record.len() > 1 {
            *counts.entry(record.len()).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|&(width, n)| (n, width))
        .map_or((1, 0), |(width, n)| (width, n))
}

/// Longest line a CSV of formulations may have (a header of 10,000 long names fits easily):
/// a longer one is a file of another kind, and reading it whole would only eat memory.
pub const MAX_LINE: usize = 8 << 20;

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

/// Open a byte stream: find its encoding (refusing what is not text), decode it to UTF-8
/// without its byte-order mark, sniff the dialect from the decoded head, and give back a reader
/// that yields all the decoded text (the head is replayed first), with a note on the encoding
/// when it was not UTF-8, and stops at an over-long line.
pub fn open<R: Read>(mut input: R) -> std::io::Result<(Dialect, Option<&'static str>, impl Read)> {
    let mut raw = Vec::with_capacity(SNIFF_BYTES);
    (&mut input)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut raw)?;
    let encoding = detect(&raw, raw.len() < SNIFF_BYTES)
        .map_err(|p| std::io::Error::new(std::io::ErrorKind::InvalidData, p))?;
    let bom = match encoding {
        Encoding::Utf8 | Encoding::Utf16 { .. } => bom_len(&raw),
        _ => 0,
    };
    raw.drain(..bom);
    let mut decoded = Decoder::new(Cursor::new(raw).chain(input), encoding);
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut decoded)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)?;
    let dialect = Dialect::sniff(&head);
    let limited = LineLimit {
        inner: Cursor::new(head).chain(decoded),
        line: 1,
        run: 0,
    };
    Ok((dialect, encoding.note(), limited))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_semicolons_and_reads_decimal_commas() {
        let d = Dialect::sniff(b"id;\"a,b\";c\n1;2,5;3");
        assert_eq!(d.delimiter, b';');
        assert!(d.decimal_comma);
        assert_eq!(d.parse_number(" 2,5 "), Ok(Some(2.5)));
        assert_eq!(d.parse_number(""), Ok(None));
        assert!(d.parse_number("abc").is_err());
        let d = Dialect::sniff(b"id,\"x;y;z\",c\r\n");
        assert_eq!(d, Dialect::default());
        assert!(d.parse_number("2,5,1").is_err());
        assert!(d.parse_number("NaN").is_err());
    }

    #[test]
    fn sniffs_what_each_tool_writes() {
        let sniff = |t: &str| {
            let d = Dialect::sniff(t.as_bytes());
            (d.delimiter as char, d.decimal_comma)
        };
        // Excel de-DE: `;` and decimal commas, every number with a fraction.
        assert_eq!(sniff("id;a;b\nx;1,5;2,25\ny;3,5;4,75\n"), (';', true));
        // pandas `sep=';'` keeps the point.
        assert_eq!(sniff("id;a;b\nx;1.5;2.25\n"), (';', false));
        // LibreOffice / Google Sheets de-DE: `,` with quoted decimal commas.
        assert_eq!(sniff("id,a,b\nx,\"1,5\",2\ny,\"3,25\",1\n"), (',', true));
        // Excel en-US with grouping: quoted `1,040.5`.
        assert_eq!(sniff("id,a,b\nx,\"1,040.5\",2.5\n"), (',', false));
        // Tabs, and an Excel `sep=` line.
        assert_eq!(sniff("id\ta\tb\nx\t1,5\t2\n"), ('\t', true));
        assert_eq!(sniff("sep=;\nid;a;b\nx;1.5;2\n"), (';', false));
        // Title lines above the header do not decide.
        assert_eq!(sniff("Report\nExported by X\n\nid;a\nx;1,5\n"), (';', true));
        // A `;` inside a text column of a comma file.
        assert_eq!(sniff("id,a,b,note\nx,1,2,a; b\ny,1,2,c; d\n"), (',', false));
    }

    #[test]
    fn open_decodes_skips_the_bom_and_replays_the_head() {
        let read = |bytes: &[u8]| {
            let (d, note, mut r) = open(bytes).unwrap();
            let mut rest = String::new();
            r.read_to_string(&mut rest).unwrap();
            (d.delimiter as char, note.is_some(), rest)
        };
        let text = "\u{feff}id;x\r\nA;1,5\r\n";
        assert_eq!(read(text.as_bytes()), (';', false, "id;x\nA;1,5\n".into()));
        // Excel "Unicode Text": UTF-16LE with a BOM, tabs.
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(
                "id\tCrème\r\nA\t1\r\n"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes),
            )
            .collect();
        assert_eq!(read(&utf16), ('\t', true, "id\tCrème\nA\t1\n".into()));
        // Excel "CSV (Comma delimited)": Windows-1252.
        assert_eq!(
            read(b"id,Cr\xE8me,kg/m\xB3\r\nA,1,2\r\n"),
            (',', true, "id,Crème,kg/m³\nA,1,2\n".into())
        );
        // Excel for Mac "CSV (Macintosh)": Mac Roman, CR line ends.
        assert_eq!(
            read(b"id,Cr\x8Fme\rA,1\r"),
            (',', true, "id,Crème\nA,1\n".into())
        );
    }

    #[test]
    fn an_over_long_line_stops_the_read() {
        let mut text = b"id,x\n1,".to_vec();
        text.extend(std::iter::repeat_n(b'9', MAX_LINE + 10));
        let (_, _, mut r) = open(text.as_slice()).unwrap();
        let err = std::io::copy(&mut r, &mut std::io::sink()).unwrap_err();
        assert!(
            err.to_string().contains("line 2 is longer than 8 MiB"),
            "{err}"
        );
    }
}
