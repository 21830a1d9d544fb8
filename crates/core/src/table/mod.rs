//! The one CSV reader: every file Mixlab reads (training data, files to score, saved
//! formulations, folds, materials tables) comes through here, so each accepts what the others
//! accept and reports problems in the same words.
//!
//! [`records`] opens a byte stream: a UTF-8 BOM skipped, other encodings refused with what to
//! do ([`encoding_problem`]), the [`Dialect`] sniffed (`,` or `;` with decimal commas), the
//! header read, trimmed and checked (not blank, no name twice). Records then come one at a time
//! with their spreadsheet row, each cell checked to be UTF-8.

mod dialect;

use std::collections::HashMap;
use std::io::Read;

use thiserror::Error;

pub use dialect::{Dialect, MAX_LINE, encoding_problem, open};

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
}

/// A stream of records and its dialect, the header read.
pub struct Records<R: Read> {
    pub dialect: Dialect,
    pub header: Vec<String>,
    reader: csv::Reader<R>,
    record: csv::ByteRecord,
    /// Spreadsheet row of the last record (the header is row 1).
    pub row: usize,
}

impl<R: Read> Records<R> {
    /// The next record and its spreadsheet row, or `None` at the end. Rows of another width
    /// than the header are returned too (the scoring check reports them per row).
    pub fn next_record(&mut self) -> Result<Option<(usize, &csv::ByteRecord)>, ReadError> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {
                self.row += 1;
                // Past the sniffed head, a legacy-encoded name is found here, by row and column.
                if let Some(c) = self
                    .record
                    .iter()
                    .position(|f| std::str::from_utf8(f).is_err())
                {
                    return Err(ReadError::NotText(format!(
                        "row {}, column {}: {}",
                        self.row,
                        c + 1,
                        "the cell is not UTF-8 text: the file is in a legacy encoding such as \
                         CP949 (Korean) or Windows-1252; save it from your spreadsheet as \
                         \"CSV UTF-8\" and upload that"
                    )));
                }
                Ok(Some((self.row, &self.record)))
            }
            Ok(false) => Ok(None),
            Err(e) => Err(ReadError::Io(e.to_string())),
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
}

/// Open a CSV stream: BOM skipped, encoding checked, dialect sniffed, header read, trimmed and
/// checked (a blank header or a name given twice is refused).
pub fn records(input: impl Read) -> Result<Records<impl Read>, ReadError> {
    let (dialect, input) = open(input).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => ReadError::NotText(e.to_string()),
        _ => ReadError::Io(e.to_string()),
    })?;
    let mut reader = dialect.reader(input);
    let mut head = csv::ByteRecord::new();
    if !reader
        .read_byte_record(&mut head)
        .map_err(|e| ReadError::Io(e.to_string()))?
    {
        return Err(ReadError::NoHeader);
    }
    let header: Vec<String> = head
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_string())
        .collect();
    check_header(&header)?;
    Ok(Records {
        dialect,
        header,
        reader,
        record: csv::ByteRecord::new(),
        row: 1,
    })
}

/// A header must name its columns, each once.
fn check_header(header: &[String]) -> Result<(), ReadError> {
    if header.iter().all(String::is_empty) {
        return Err(ReadError::BlankHeader);
    }
    let mut seen = HashMap::new();
    for (i, h) in header.iter().enumerate() {
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
