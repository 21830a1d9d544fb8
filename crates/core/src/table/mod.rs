//! The one CSV reader: every file Mixlab reads (training data, files to score, saved
//! formulations, folds, materials tables) comes through here, so each accepts what the others
//! accept and reports problems in the same words.
//!
//! [`records`] opens a byte stream: a UTF-8 BOM skipped, other encodings refused with what to
//! do ([`encoding_problem`]), the [`Dialect`] sniffed (`,` or `;` with decimal commas), the
//! header read, trimmed and checked (not blank, no name twice). Records then come one at a time
//! with their spreadsheet row, each cell checked to be UTF-8.

mod dialect;
mod encoding;
pub mod number;

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::rc::Rc;

use thiserror::Error;

pub use dialect::{Dialect, MAX_LINE, open};
pub use encoding::{Encoding, RESAVE};

/// Problems with a file as a whole; a cell's problem is reported by its reader with the row
/// and column.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum ReadError {
    #[error("the file cannot be read: {0}")]
    Io(String),
    /// Not UTF-8 CSV text (another encoding, binary, a workbook), said with what to do.
    #[error("{0}")]
    NotText(String),
    #[error("the file is empty: it has no header row")]
    NoHeader,
    #[error("the header (row 1) has no column names: the first row must name the columns")]
    BlankHeader,
    #[error("the file has no data rows after its header")]
    NoRows,
    #[error("column {column} ({name:?}) has the same name as column {first}")]
    DuplicateColumn {
        name: String,
        first: usize,
        column: usize,
    },
    #[error("row {row}: {cells} cells where the header has {columns}")]
    WrongWidth {
        row: usize,
        cells: usize,
        columns: usize,
    },
    #[error("column {0:?} is needed but not in the file's header")]
    MissingColumn(String),
    #[error(
        "the header has {0} columns; Mixlab reads at most {MAX_COLUMNS} (a spreadsheet holds \
         16,384): use the long format (formulation_id, material, amount) for more materials"
    )]
    TooWide(usize),
}

/// Columns a file may have: a model of more materials than this is a long file's work, and a
/// table this wide would not fit a browser tab's memory row by row.
pub const MAX_COLUMNS: usize = 100_000;

/// Labels of summary rows spreadsheets add below the data (compared ignoring ASCII case,
/// without a trailing colon).
const SUMMARY_LABELS: [&str; 22] = [
    "total",
    "totals",
    "sum",
    "summe",
    "somme",
    "totale",
    "totaal",
    "average",
    "avg",
    "mean",
    "mittelwert",
    "durchschnitt",
    "moyenne",
    "media",
    "std",
    "stdev",
    "std dev",
    "sd",
    "min",
    "max",
    "median",
    "count",
];

/// Labels of a units row's first cell.
const UNITS_LABELS: [&str; 6] = ["unit", "units", "einheit", "unité", "unite", "unidad"];

/// Units written without a mark that gives them away (compared in lower case).
const UNITS: [&str; 24] = [
    "cp", "mpa", "gpa", "pa", "g", "kg", "mg", "ml", "l", "days", "day", "d", "h", "min", "ntu",
    "ppm", "phr", "wt", "mm", "nm", "k", "mpas", "mpa s", "wt %",
];

/// Records looked at for the header: what comes before it is a title.
const HEADER_SEARCH: usize = 20;

/// A stream of records and its dialect, the header read.
pub struct Records<R: Read> {
    pub dialect: Dialect,
    pub header: Vec<String>,
    /// Spreadsheet row of the header.
    pub header_row: usize,
    reader: csv::Reader<R>,
    record: csv::ByteRecord,
    /// Records read ahead while looking for the header, served first.
    ahead: VecDeque<csv::ByteRecord>,
    /// Spreadsheet row of the last record (the header's when none was read yet).
    pub row: usize,
    /// Data records handed out.
    pub data_rows: usize,
    /// How the file was read, when a reader would want to know (encoding, rows set aside).
    notes: Vec<String>,
    /// Rows set aside as summaries or notes: (row, first cell).
    set_aside: Vec<(usize, String)>,
    blank_rows: usize,
    lines: Rc<RefCell<Lines>>,
}

/// Where the lines of the stream end, for the rows of records: the CSV reader's own record
/// positions point at the end of the record before, blank lines included.
#[derive(Default)]
struct Lines {
    /// Offsets of `\n` bytes read but not yet passed by a record.
    ends: VecDeque<u64>,
    /// Line ends passed.
    passed: usize,
    /// Bytes read so far.
    read: u64,
}

/// Passes a stream on, noting where its lines end.
struct LineCounter<R> {
    inner: R,
    lines: Rc<RefCell<Lines>>,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let got = self.inner.read(buf)?;
        let mut l = self.lines.borrow_mut();
        let start = l.read;
        for (i, _) in buf[..got].iter().enumerate().filter(|(_, b)| **b == b'\n') {
            l.ends.push_back(start + i as u64);
        }
        l.read += got as u64;
        Ok(got)
    }
}

impl<R: Read> Records<R> {
    /// The next record and its spreadsheet row, or `None` at the end. Rows of another width
    /// than the header are returned too (the scoring check reports them per row); blank rows,
    /// summary rows (`Total`, `Average`...) and one-cell note lines are set aside, and cells
    /// past the header's width that are empty are dropped.
    pub fn next_record(&mut self) -> Result<Option<(usize, &csv::ByteRecord)>, ReadError> {
        loop {
            match self.ahead.pop_front() {
                Some(r) => self.record = r,
                None => match self.reader.read_byte_record(&mut self.record) {
                    Ok(true) => {}
                    Ok(false) => return Ok(None),
                    Err(e) => return Err(ReadError::Io(e.to_string())),
                },
            }
            self.row = line_of(&self.lines, &self.record, self.row);
            // Past the sniffed head, a legacy-encoded name is found here, by row and column.
            if let Some(c) = self
                .record
                .iter()
                .position(|f| std::str::from_utf8(f).is_err())
            {
                return Err(ReadError::NotText(format!(
                    "row {}, column {}: the cell is not UTF-8 text: the file is in a legacy \
                     encoding such as CP949 (Korean) or Windows-1252; {RESAVE}",
                    self.row,
                    c + 1,
                )));
            }
            let columns = self.header.len();
            if self.record.len() > columns
                && self
                    .record
                    .iter()
                    .skip(columns)
                    .all(|f| f.trim_ascii().is_empty())
            {
                self.record.truncate(columns);
            }
            // A header ending in unnamed columns (a trailing delimiter) over shorter rows.
            if self.record.len() < columns
                && self.header[self.record.len()..]
                    .iter()
                    .all(String::is_empty)
            {
                while self.record.len() < columns {
                    self.record.push_field(b"");
                }
            }
            if self.record.iter().all(|f| f.trim_ascii().is_empty()) {
                self.blank_rows += 1;
                continue;
            }
            // Checked to be UTF-8 above; nothing is copied unless the row is set aside.
            let first = std::str::from_utf8(self.record[0].trim_ascii()).unwrap_or("");
            let label = first.trim_end_matches(':');
            // "End of report", "Exported by ...": one cell of words on a row of a wider table.
            let note_line = columns > 1
                && self.record.len() == 1
                && first.contains(' ')
                && first.chars().any(char::is_alphabetic);
            if SUMMARY_LABELS.iter().any(|l| label.eq_ignore_ascii_case(l)) || note_line {
                self.set_aside.push((self.row, first.to_string()));
                continue;
            }
            self.data_rows += 1;
            return Ok(Some((self.row, &self.record)));
        }
    }

    /// The next record as trimmed text cells, refusing a row of another width than the header.
    pub fn next_row(&mut self) -> Result<Option<(usize, Vec<&str>)>, ReadError> {
        let columns = self.header.len();
        match self.next_record()? {
            None => Ok(None),
            Some((row, record)) => {
                if record.len() != columns {
                    return Err(ReadError::WrongWidth {
                        row,
                        cells: record.len(),
                        columns,
                    });
                }
                // Checked to be UTF-8 by `next_record`.
                let cells = record
                    .iter()
                    .map(|f| std::str::from_utf8(f).unwrap_or("").trim())
                    .collect();
                Ok(Some((row, cells)))
            }
        }
    }

    /// The 0-based index of the column named `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// Like [`Records::column`], an error naming the column when the header lacks it.
    pub fn require(&self, name: &str) -> Result<usize, ReadError> {
        self.column(name)
            .ok_or_else(|| ReadError::MissingColumn(name.to_string()))
    }

    /// How the file was read, for the user: its encoding if not UTF-8, title lines and a units
    /// row skipped, rows set aside so far. Complete once the records are read.
    pub fn notes(&self) -> Vec<String> {
        let mut out = self.notes.clone();
        if !self.set_aside.is_empty() {
            let listed: Vec<String> = (self.set_aside.iter().take(5))
                .map(|(row, first)| format!("row {row} ({:?})", clip(first)))
                .collect();
            let more = self.set_aside.len().saturating_sub(5);
            out.push(format!(
                "{}{}: summary or note rows, not read as formulations",
                listed.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        if self.blank_rows > 0 {
            out.push(format!("{} blank row(s) skipped", self.blank_rows));
        }
        out
    }
}

/// A record's spreadsheet row: its line in the (decoded, `\n`-ended) file, blank lines
/// counted as a spreadsheet shows them; the one after `last` when the reader does not know.
/// Records must be asked in order.
fn line_of(lines: &RefCell<Lines>, record: &csv::ByteRecord, last: usize) -> usize {
    let Some(pos) = record.position() else {
        return last + 1;
    };
    let mut l = lines.borrow_mut();
    // Line ends before the position, then those of blank lines right at it.
    let mut at = pos.byte();
    while let Some(&end) = l.ends.front() {
        if end <= at {
            at += u64::from(end == at);
            l.ends.pop_front();
            l.passed += 1;
        } else {
            break;
        }
    }
    (l.passed + 1).max(last + 1)
}

/// Text from the file quoted in a note, cut so that notes stay short whatever the input.
fn clip(text: &str) -> String {
    const MAX: usize = 60;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// Whether `cell` reads as a unit (`%`, `kg/m³`, `[cP]`, `mPa·s`), not a name or a number.
fn is_unit(cell: &str) -> bool {
    let t = cell
        .trim()
        .trim_start_matches(['(', '['])
        .trim_end_matches([')', ']']);
    if t.is_empty() || t.chars().count() > 16 || number::parse(t, false).is_ok() {
        return false;
    }
    let mut prev = ' ';
    for c in t.chars() {
        // Digits only as exponents: `m3`, `m^3`.
        if c.is_ascii_digit() && !(prev.is_alphabetic() || prev == '^') {
            return false;
        }
        if !(c.is_alphanumeric() || "%‰°·/^.-_ ²³µ".contains(c)) {
            return false;
        }
        prev = c;
    }
    t.chars().filter(|c| *c == ' ').count() <= 1
}

/// Whether a record under the header is a row of units rather than data.
fn is_units_row(record: &csv::ByteRecord) -> bool {
    let cells: Vec<String> = record
        .iter()
        .map(|c| String::from_utf8_lossy(c).trim().to_string())
        .collect();
    let skip = usize::from(
        cells
            .first()
            .is_some_and(|c| UNITS_LABELS.contains(&c.to_lowercase().as_str())),
    );
    let filled: Vec<&String> = cells[skip..].iter().filter(|c| !c.is_empty()).collect();
    // At least one cell must be unmistakably a unit, so that a row of short words is data.
    let surely = |c: &str| {
        c.contains(['%', '/', '°', '³', '²', 'µ', '‰', '·'])
            || UNITS.contains(&c.trim_matches(['(', ')', '[', ']']).to_lowercase().as_str())
    };
    !filled.is_empty() && filled.iter().all(|c| is_unit(c)) && filled.iter().any(|c| surely(c))
}

/// Open a CSV stream: encoding found and decoded, dialect sniffed, title lines above the
/// header and a units row under it set aside, the header read, trimmed (inner runs of spaces
/// and line breaks made one space) and checked (not blank, no name twice).
pub fn records(input: impl Read) -> Result<Records<impl Read>, ReadError> {
    let (dialect, encoding_note, input) = open(input).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => ReadError::NotText(e.to_string()),
        _ => ReadError::Io(e.to_string()),
    })?;
    let lines = Rc::new(RefCell::new(Lines::default()));
    let mut reader = dialect.reader(LineCounter {
        inner: input,
        lines: lines.clone(),
    });
    let mut notes: Vec<String> = encoding_note.map(String::from).into_iter().collect();
    // The header: the first record naming two columns or more (a one-column file's first).
    let mut seen: Vec<csv::ByteRecord> = Vec::new();
    let mut header_at = None;
    while seen.len() < HEADER_SEARCH {
        let mut r = csv::ByteRecord::new();
        if !reader
            .read_byte_record(&mut r)
            .map_err(|e| ReadError::Io(e.to_string()))?
        {
            break;
        }
        let filled = r.iter().filter(|c| !c.trim_ascii().is_empty()).count();
        if filled == 0 {
            continue;
        }
        seen.push(r);
        if filled >= 2 {
            header_at = Some(seen.len() - 1);
            break;
        }
    }
    let at = header_at.unwrap_or(0);
    if seen.is_empty() {
        return Err(ReadError::NoHeader);
    }
    let mut ahead: VecDeque<csv::ByteRecord> = seen.into();
    let titles: Vec<csv::ByteRecord> = ahead.drain(..at).collect();
    let head = ahead.pop_front().unwrap_or_default();
    let header_row = line_of(&lines, &head, 0);
    if let Some(first) = titles.first() {
        let cells: Vec<String> = first
            .iter()
            .map(|c| String::from_utf8_lossy(c).trim().to_string())
            .collect();
        let delimiter = char::from(dialect.delimiter);
        let text = cells.join(&delimiter.to_string());
        notes.push(if cells[0].starts_with("sep=") {
            format!("row 1 is Excel's \"sep={delimiter}\" line: the delimiter, not data")
        } else {
            format!(
                "row(s) above the header (row {header_row}) skipped as a title: {:?}",
                clip(text.trim_end_matches(delimiter))
            )
        });
    }
    let header: Vec<String> = head
        .iter()
        .map(|h| {
            // Zero-width characters and stray byte-order marks (files pasted together) go.
            String::from_utf8_lossy(h)
                .replace(['\u{feff}', '\u{200b}', '\u{200c}', '\u{200d}'], "")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    check_header(&header)?;
    // Numbers where names should be: the file has no header row.
    if header
        .iter()
        .filter(|h| !h.is_empty())
        .all(|h| number::parse(h, dialect.decimal_comma).is_ok())
    {
        return Err(ReadError::BlankHeader);
    }
    let mut records = Records {
        dialect,
        header,
        header_row,
        reader,
        record: csv::ByteRecord::new(),
        ahead,
        row: header_row,
        data_rows: 0,
        notes,
        set_aside: Vec::new(),
        blank_rows: 0,
        lines,
    };
    // A units row under the header (lab systems write one): noted, not data.
    if records.ahead.is_empty() {
        let mut r = csv::ByteRecord::new();
        if records
            .reader
            .read_byte_record(&mut r)
            .map_err(|e| ReadError::Io(e.to_string()))?
        {
            records.ahead.push_back(r);
        }
    }
    if let Some(r) = records.ahead.front()
        && is_units_row(r)
    {
        let row = line_of(&records.lines, r, header_row);
        let units: Vec<String> = r
            .iter()
            .map(|c| String::from_utf8_lossy(c).trim().to_string())
            .filter(|c| !c.is_empty())
            .take(6)
            .collect();
        records.notes.push(format!(
            "row {row} holds units ({}), not data",
            units.join(", ")
        ));
        records.row = row;
        records.ahead.pop_front();
    }
    Ok(records)
}

/// A header must name its columns, each once (unnamed columns, such as the index pandas and R
/// write first, or empty ones a spreadsheet adds after the data, may be many).
fn check_header(header: &[String]) -> Result<(), ReadError> {
    if header.iter().all(String::is_empty) {
        return Err(ReadError::BlankHeader);
    }
    if header.len() > MAX_COLUMNS {
        return Err(ReadError::TooWide(header.len()));
    }
    let mut seen = HashMap::new();
    for (i, h) in header.iter().enumerate().filter(|(_, h)| !h.is_empty()) {
        if let Some(first) = seen.insert(h.as_str(), i) {
            return Err(ReadError::DuplicateColumn {
                name: h.clone(),
                first: first + 1,
                column: i + 1,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Result<Vec<Vec<String>>, ReadError> {
        let mut r = records(text.as_bytes())?;
        let mut out = vec![r.header.clone()];
        while let Some((_, cells)) = r.next_row()? {
            out.push(cells.iter().map(|c| c.to_string()).collect());
        }
        Ok(out)
    }

    #[test]
    fn reads_commas_semicolons_quotes_and_a_bom() {
        let plain = rows("id,\"a, b\"\n1, 2 \n").unwrap();
        assert_eq!(plain, vec![vec!["id", "a, b"], vec!["1", "2"]]);
        let semi = rows("\u{feff}id;x\r\nA;1,5\r\n").unwrap();
        assert_eq!(semi, vec![vec!["id", "x"], vec!["A", "1,5"]]);
    }

    #[test]
    fn rows_are_the_spreadsheet_rows_and_decorations_are_set_aside() {
        let text = "Report\r\nExported by X\r\n\r\nid,x,y,,\r\n,%,cP,,\r\na,\"1\r\n\",2,,\r\n\r\nb,2,3,,\r\n,,,,\r\nTotal,3,5,,\r\nEnd of report\r\n";
        let mut r = records(text.as_bytes()).unwrap();
        assert_eq!(r.header, vec!["id", "x", "y", "", ""]);
        assert_eq!(r.header_row, 4);
        let mut got = Vec::new();
        while let Some((row, cells)) = r.next_row().unwrap() {
            got.push((row, cells[0].to_string()));
        }
        assert_eq!(got, vec![(6, "a".to_string()), (9, "b".to_string())]);
        let notes = r.notes().join("\n");
        let long = format!("{}\nid,x\n", "Title ".repeat(1000));
        let n = records(long.as_bytes()).unwrap().notes().join("");
        assert!(n.len() < 200 && n.contains('…'), "{n}");
        for want in [
            "\"Report\"",
            "row 5 holds units (%, cP)",
            "row 11 (\"Total\"), row 12",
            "1 blank row",
        ] {
            assert!(notes.contains(want), "{want:?} not in {notes}");
        }
    }

    #[test]
    fn a_trailing_delimiter_on_the_header_and_stray_marks_are_harmless() {
        let got = rows("id,\u{feff}x,y,\na,1,2\nb,3,4,\n").unwrap();
        assert_eq!(got[0], vec!["id", "x", "y", ""]);
        assert_eq!(got[1], vec!["a", "1", "2", ""]);
        assert_eq!(got[2], vec!["b", "3", "4", ""]);
    }

    #[test]
    fn whole_file_problems_are_named() {
        assert_eq!(rows("").unwrap_err(), ReadError::NoHeader);
        assert_eq!(rows(" , \n1,2\n").unwrap_err(), ReadError::BlankHeader);
        assert_eq!(
            rows("id,x,x\n").unwrap_err(),
            ReadError::DuplicateColumn {
                name: "x".into(),
                first: 2,
                column: 3
            }
        );
        assert_eq!(
            rows("id,x\n1,2\n3\n").unwrap_err(),
            ReadError::WrongWidth {
                row: 3,
                cells: 1,
                columns: 2
            }
        );
        let err = rows("id,x\n\u{1}\u{0}\u{0}").unwrap_err();
        assert!(err.to_string().contains("binary data"), "{err}");
        let mut r = records("id,x\n".as_bytes()).unwrap();
        assert_eq!(
            r.require("y").unwrap_err().to_string(),
            "column \"y\" is needed but not in the file's header"
        );
        assert!(r.next_row().unwrap().is_none());
    }
}
