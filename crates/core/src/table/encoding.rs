//! What kind of text a file holds, from its first bytes. Read: UTF-8 (BOM or not), UTF-16
//! (Excel's "Unicode Text", BOM or not) and the Western single-byte code pages (Excel's "CSV
//! (Comma delimited)" writes Windows-1252; old Mac Excel writes Mac Roman with CR line ends),
//! each decoded to UTF-8 as the file streams by. Refused, with what to do: workbooks (.xlsx,
//! .xls, .ods, .numbers), PDFs, web pages, XML spreadsheets, binary data and multi-byte legacy
//! encodings (CP949, Shift-JIS, GBK), which cannot be told apart reliably from a file's bytes.
//!
//! Two 128-entry tables here instead of `encoding_rs`: that crate would bring every legacy
//! table (CJK included) into the wasm for two code pages we read.

use std::io::Read;

/// What to do with a file that is not CSV text.
pub const RESAVE: &str = "save it from your spreadsheet as \"CSV UTF-8\" and upload that";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16 { big_endian: bool },
    Windows1252,
    MacRoman,
}

impl Encoding {
    /// How the file was read, when that is worth telling (not plain UTF-8).
    pub fn note(self) -> Option<&'static str> {
        match self {
            Encoding::Utf8 => None,
            Encoding::Utf16 { .. } => Some("read as UTF-16 text (Excel's \"Unicode Text\")"),
            Encoding::Windows1252 => Some(
                "read as Windows-1252 text (Excel's \"CSV (Comma delimited)\"), not UTF-8: \
                 check accented names",
            ),
            Encoding::MacRoman => Some(
                "read as Mac Roman text (Excel for Mac's \"CSV (Macintosh)\"), not UTF-8: \
                 check accented names",
            ),
        }
    }
}

/// A workbook, document or page rather than CSV text, named from its signature.
fn container(head: &[u8]) -> Option<String> {
    let what = if head.starts_with(b"PK\x03\x04") {
        zip_kind(head)
    } else if head.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        "an Excel 97-2003 .xls workbook (OLE2), not CSV text"
    } else if head.starts_with(b"%PDF") {
        "a PDF document, not CSV text"
    } else {
        let text = String::from_utf8_lossy(&head[..head.len().min(1024)]).to_lowercase();
        let text = text.trim_start_matches('\u{feff}').trim_start();
        if text.starts_with("<?xml")
            && (text.contains("mso-application") || text.contains("office:spreadsheet"))
        {
            "an Excel 2003 XML spreadsheet, not CSV text"
        } else if text.starts_with("<?xml") {
            "an XML document, not CSV text"
        } else if ["<!doctype html", "<html", "<table"]
            .iter()
            .any(|t| text.starts_with(t))
        {
            "a web page (an HTML table saved as a spreadsheet?), not CSV text"
        } else {
            return None;
        }
    };
    Some(format!("the file is {what}; {RESAVE}"))
}

/// Which ZIP-packaged document this is, from its first entry's name (and an ODF's mimetype).
fn zip_kind(head: &[u8]) -> &'static str {
    let u16_at = |i: usize| {
        head.get(i..i + 2)
            .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]))
    };
    let (name_len, extra) = (u16_at(26) as usize, u16_at(28) as usize);
    let name = head.get(30..30 + name_len).unwrap_or(b"");
    let body = head.get(30 + name_len + extra..).unwrap_or(b"");
    if name == b"mimetype" && body.starts_with(b"application/vnd.oasis.opendocument.spreadsheet") {
        "a ZIP archive (an OpenDocument .ods spreadsheet), not CSV text"
    } else if name.starts_with(b"Index/") || name.starts_with(b"Metadata/") {
        "a ZIP archive (an Apple Numbers document), not CSV text"
    } else {
        "a ZIP archive (an Excel .xlsx workbook?), not CSV text"
    }
}

/// The encoding of a file whose first bytes are `head` (`complete`: the whole file), or why
/// it is not CSV text, said so that the user knows what to do.
pub fn detect(head: &[u8], complete: bool) -> Result<Encoding, String> {
    if let Some(problem) = container(head) {
        return Err(problem);
    }
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        return Ok(Encoding::Utf16 {
            big_endian: head[0] == 0xFE,
        });
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
        if odd > 0.7 && even < 0.1 {
            return Ok(Encoding::Utf16 { big_endian: false });
        }
        if even > 0.7 && odd < 0.1 {
            return Ok(Encoding::Utf16 { big_endian: true });
        }
        return Err(format!(
            "the file holds binary data (a zero byte at offset {at}), not CSV text; {RESAVE}"
        ));
    }
    match std::str::from_utf8(head) {
        Ok(_) => Ok(Encoding::Utf8),
        // Cut in the middle of a character by the sniffing window: fine.
        Err(e) if e.error_len().is_none() && !complete => Ok(Encoding::Utf8),
        Err(e) => single_byte(head).ok_or_else(|| {
            let at = e.valid_up_to();
            let line = 1 + head[..at].iter().filter(|&&b| b == b'\n').count();
            format!(
                "line {line} is not UTF-8 text (byte 0x{:02X} at offset {at}): the file is in \
                 a legacy multi-byte encoding such as CP949 (Korean), Shift-JIS (Japanese) or \
                 GBK (Chinese); {RESAVE}",
                head[at]
            )
        }),
    }
}

/// A Western single-byte code page, when the non-ASCII bytes look like one: accented letters
/// and symbols stand alone between ASCII (`Crème`, `kg/m³`), while the multi-byte legacy
/// encodings write every character as two bytes, mostly both above 0x7F, in runs.
fn single_byte(head: &[u8]) -> Option<Encoding> {
    // Latin-1 letters (À..ÿ but × and ÷): two in a row are Western (`öß`), other pairs are
    // one multi-byte character.
    let letter = |b: u8| b >= 0xC0 && b != 0xD7 && b != 0xF7;
    let (mut runs, mut pairs, mut run) = (0usize, 0usize, 0usize);
    for (i, &b) in head.iter().chain([&b' ']).enumerate() {
        if b >= 0x80 {
            run += 1;
            continue;
        }
        if run >= 3 {
            return None;
        }
        if run > 0 {
            runs += 1;
            pairs += usize::from(run == 2 && !(letter(head[i - 2]) && letter(head[i - 1])));
        }
        run = 0;
    }
    if pairs * 2 > runs {
        return None;
    }
    // Bytes Windows-1252 leaves undefined are letters in Mac Roman (Å ç è ê ù); CR-only line
    // ends are what classic Mac software wrote.
    let mac_bytes = head
        .iter()
        .any(|b| [0x81, 0x8D, 0x8F, 0x90, 0x9D].contains(b));
    Some(if mac_bytes || cr_only(head) {
        Encoding::MacRoman
    } else {
        Encoding::Windows1252
    })
}

/// Whether lines end in CR alone (as classic Mac software wrote).
pub fn cr_only(head: &[u8]) -> bool {
    head.contains(&b'\r') && !head.contains(&b'\n')
}

/// Decodes a stream to UTF-8 with `\n` line ends.
pub struct Decoder<R> {
    inner: R,
    encoding: Encoding,
    /// The last byte handed on was a CR (turned into LF).
    after_cr: bool,
    /// Bytes read but not decoded yet (half a UTF-16 unit or surrogate pair).
    raw: Vec<u8>,
    /// Decoded bytes not handed out yet, from `at`.
    out: Vec<u8>,
    at: usize,
    eof: bool,
}

impl<R: Read> Decoder<R> {
    /// `inner` starts after any byte-order mark.
    pub fn new(inner: R, encoding: Encoding) -> Self {
        Decoder {
            inner,
            encoding,
            after_cr: false,
            raw: Vec::new(),
            out: Vec::new(),
            at: 0,
            eof: false,
        }
    }

    fn fill(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let got = self.inner.read(&mut chunk)?;
        self.eof = got == 0;
        self.out.clear();
        self.at = 0;
        match self.encoding {
            Encoding::Utf8 => self.out.extend_from_slice(&chunk[..got]),
            Encoding::Windows1252 | Encoding::MacRoman => {
                let table = if self.encoding == Encoding::MacRoman {
                    &MAC_ROMAN
                } else {
                    &WINDOWS_1252
                };
                let mut buf = [0u8; 4];
                for &b in &chunk[..got] {
                    if b < 0x80 {
                        self.out.push(b);
                    } else {
                        let c = table[usize::from(b - 0x80)];
                        self.out
                            .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                }
            }
            Encoding::Utf16 { big_endian } => {
                self.raw.extend_from_slice(&chunk[..got]);
                let mut units: Vec<u16> = self
                    .raw
                    .chunks_exact(2)
                    .map(|p| {
                        if big_endian {
                            u16::from_be_bytes([p[0], p[1]])
                        } else {
                            u16::from_le_bytes([p[0], p[1]])
                        }
                    })
                    .collect();
                let mut keep = self.raw.len() % 2;
                // A high surrogate waits for its pair in the next chunk.
                if !self.eof && units.last().is_some_and(|u| (0xD800..0xDC00).contains(u)) {
                    units.pop();
                    keep += 2;
                }
                let rest = self.raw.split_off(self.raw.len() - keep);
                self.raw = rest;
                let mut buf = [0u8; 4];
                for c in char::decode_utf16(units) {
                    let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
                    self.out
                        .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        // Line ends made `\n` (CRLF, and CR alone as classic Mac wrote): the reader counts
        // lines by them. A CR ending a chunk drops an LF starting the next.
        let mut kept = 0;
        for i in 0..self.out.len() {
            let b = self.out[i];
            if b == b'\n' && std::mem::take(&mut self.after_cr) {
                continue;
            }
            self.after_cr = b == b'\r';
            self.out[kept] = if b == b'\r' { b'\n' } else { b };
            kept += 1;
        }
        self.out.truncate(kept);
        Ok(())
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.out.len() {
            if self.eof {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Bytes of `head`'s byte-order mark, if it has one (UTF-8 or UTF-16).
pub fn bom_len(head: &[u8]) -> usize {
    if head.starts_with(b"\xEF\xBB\xBF") {
        3
    } else if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        2
    } else {
        0
    }
}

/// Windows-1252, bytes 0x80..=0xFF (undefined ones as U+FFFD).
#[rustfmt::skip]
const WINDOWS_1252: [char; 128] = [
    '\u{20AC}', '\u{FFFD}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{FFFD}', '\u{017D}', '\u{FFFD}',
    '\u{FFFD}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{FFFD}', '\u{017E}', '\u{0178}',
    '\u{00A0}', '\u{00A1}', '\u{00A2}', '\u{00A3}', '\u{00A4}', '\u{00A5}', '\u{00A6}', '\u{00A7}',
    '\u{00A8}', '\u{00A9}', '\u{00AA}', '\u{00AB}', '\u{00AC}', '\u{00AD}', '\u{00AE}', '\u{00AF}',
    '\u{00B0}', '\u{00B1}', '\u{00B2}', '\u{00B3}', '\u{00B4}', '\u{00B5}', '\u{00B6}', '\u{00B7}',
    '\u{00B8}', '\u{00B9}', '\u{00BA}', '\u{00BB}', '\u{00BC}', '\u{00BD}', '\u{00BE}', '\u{00BF}',
    '\u{00C0}', '\u{00C1}', '\u{00C2}', '\u{00C3}', '\u{00C4}', '\u{00C5}', '\u{00C6}', '\u{00C7}',
    '\u{00C8}', '\u{00C9}', '\u{00CA}', '\u{00CB}', '\u{00CC}', '\u{00CD}', '\u{00CE}', '\u{00CF}',
    '\u{00D0}', '\u{00D1}', '\u{00D2}', '\u{00D3}', '\u{00D4}', '\u{00D5}', '\u{00D6}', '\u{00D7}',
    '\u{00D8}', '\u{00D9}', '\u{00DA}', '\u{00DB}', '\u{00DC}', '\u{00DD}', '\u{00DE}', '\u{00DF}',
    '\u{00E0}', '\u{00E1}', '\u{00E2}', '\u{00E3}', '\u{00E4}', '\u{00E5}', '\u{00E6}', '\u{00E7}',
    '\u{00E8}', '\u{00E9}', '\u{00EA}', '\u{00EB}', '\u{00EC}', '\u{00ED}', '\u{00EE}', '\u{00EF}',
    '\u{00F0}', '\u{00F1}', '\u{00F2}', '\u{00F3}', '\u{00F4}', '\u{00F5}', '\u{00F6}', '\u{00F7}',
    '\u{00F8}', '\u{00F9}', '\u{00FA}', '\u{00FB}', '\u{00FC}', '\u{00FD}', '\u{00FE}', '\u{00FF}',
];
/// Mac OS Roman, bytes 0x80..=0xFF.
#[rustfmt::skip]
const MAC_ROMAN: [char; 128] = [
    '\u{00C4}', '\u{00C5}', '\u{00C7}', '\u{00C9}', '\u{00D1}', '\u{00D6}', '\u{00DC}', '\u{00E1}',
    '\u{00E0}', '\u{00E2}', '\u{00E4}', '\u{00E3}', '\u{00E5}', '\u{00E7}', '\u{00E9}', '\u{00E8}',
    '\u{00EA}', '\u{00EB}', '\u{00ED}', '\u{00EC}', '\u{00EE}', '\u{00EF}', '\u{00F1}', '\u{00F3}',
    '\u{00F2}', '\u{00F4}', '\u{00F6}', '\u{00F5}', '\u{00FA}', '\u{00F9}', '\u{00FB}', '\u{00FC}',
    '\u{2020}', '\u{00B0}', '\u{00A2}', '\u{00A3}', '\u{00A7}', '\u{2022}', '\u{00B6}', '\u{00DF}',
    '\u{00AE}', '\u{00A9}', '\u{2122}', '\u{00B4}', '\u{00A8}', '\u{2260}', '\u{00C6}', '\u{00D8}',
    '\u{221E}', '\u{00B1}', '\u{2264}', '\u{2265}', '\u{00A5}', '\u{00B5}', '\u{2202}', '\u{2211}',
    '\u{220F}', '\u{03C0}', '\u{222B}', '\u{00AA}', '\u{00BA}', '\u{03A9}', '\u{00E6}', '\u{00F8}',
    '\u{00BF}', '\u{00A1}', '\u{00AC}', '\u{221A}', '\u{0192}', '\u{2248}', '\u{2206}', '\u{00AB}',
    '\u{00BB}', '\u{2026}', '\u{00A0}', '\u{00C0}', '\u{00C3}', '\u{00D5}', '\u{0152}', '\u{0153}',
    '\u{2013}', '\u{2014}', '\u{201C}', '\u{201D}', '\u{2018}', '\u{2019}', '\u{00F7}', '\u{25CA}',
    '\u{00FF}', '\u{0178}', '\u{2044}', '\u{20AC}', '\u{2039}', '\u{203A}', '\u{FB01}', '\u{FB02}',
    '\u{2021}', '\u{00B7}', '\u{201A}', '\u{201E}', '\u{2030}', '\u{00C2}', '\u{00CA}', '\u{00C1}',
    '\u{00CB}', '\u{00C8}', '\u{00CD}', '\u{00CE}', '\u{00CF}', '\u{00CC}', '\u{00D3}', '\u{00D4}',
    '\u{F8FF}', '\u{00D2}', '\u{00DA}', '\u{00DB}', '\u{00D9}', '\u{0131}', '\u{02C6}', '\u{02DC}',
    '\u{00AF}', '\u{02D8}', '\u{02D9}', '\u{02DA}', '\u{00B8}', '\u{02DD}', '\u{02DB}', '\u{02C7}',
];

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(b: &[u8]) -> String {
        detect(b, true).err().unwrap_or_default()
    }

    #[test]
    fn what_is_not_csv_text_is_named() {
        assert!(problem(b"PK\x03\x04\x14\0").contains(".xlsx"));
        let mut ods = b"PK\x03\x04".to_vec();
        ods.resize(26, 0);
        ods.extend([8, 0, 0, 0]);
        ods.extend(b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet");
        assert!(problem(&ods).contains(".ods"));
        assert!(problem(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0").contains(".xls"));
        assert!(problem(b"%PDF-1.7\n").contains("PDF"));
        assert!(problem(b"<html xmlns:o=\"urn:x\"><table>").contains("HTML table"));
        let xml = b"<?xml version=\"1.0\"?>\n<?mso-application progid=\"Excel.Sheet\"?>";
        assert!(problem(xml).contains("XML spreadsheet"));
        assert!(problem(b"id,x\n\x7fELF\0\0\x01\x02junk junk junk junk").contains("binary data"));
        // "이름" in CP949 on line 2; "試作1" in Shift-JIS.
        let cp949 = problem(b"id,x\n\xC0\xCC\xB8\xA7,1\n");
        assert!(
            cp949.contains("line 2") && cp949.contains("CP949"),
            "{cp949}"
        );
        assert!(problem(b"id,x\n\x8E\x8E\x8D\xEC1,1\n").contains("Shift-JIS"));
        // A character cut by the sniffing window is not a problem; at the file's end it is.
        assert_eq!(detect(&"id,이".as_bytes()[..5], false), Ok(Encoding::Utf8));
        assert!(detect(&"id,이".as_bytes()[..5], true).is_err());
    }

    #[test]
    fn text_encodings_are_told_apart() {
        assert_eq!(detect("id,이름\n".as_bytes(), true), Ok(Encoding::Utf8));
        assert_eq!(
            detect(b"\xFF\xFEi\0d\0", true),
            Ok(Encoding::Utf16 { big_endian: false })
        );
        assert_eq!(
            detect(b"\0i\0d\0,\0x\0\n", true),
            Ok(Encoding::Utf16 { big_endian: true })
        );
        assert_eq!(detect(b"id,Gr\xF6\xDFe\n", true), Ok(Encoding::Windows1252));
        assert_eq!(detect(b"id,B\xE9ton\rA,1\r", true), Ok(Encoding::MacRoman));
    }

    #[test]
    fn decoding_survives_any_chunking() {
        // A surrogate pair split across reads of the inner stream.
        let text = "a,😀b\n";
        let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(3);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut out = String::new();
        Decoder::new(Trickle(&bytes), Encoding::Utf16 { big_endian: false })
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, text);
    }
}
