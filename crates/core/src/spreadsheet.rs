//! Cells made safe to open in a spreadsheet (CSV injection): Excel, LibreOffice and Sheets run
//! a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula, so a
//! material named `=HYPERLINK(…)` in a colleague's file could act when our export is opened.
//! As OWASP recommends, such text cells get a leading apostrophe (shown by spreadsheets as
//! text, and quoted by the CSV writer as needed); numbers such as `-5` are left alone.

use std::borrow::Cow;

const TRIGGERS: [u8; 6] = [b'=', b'+', b'-', b'@', b'\t', b'\r'];

fn is_number(cell: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(cell) else {
        return false;
    };
    let t = text.trim();
    // Decimal commas too (a `;` file echoes its `-0,5` cells).
    t.parse::<f64>().is_ok() || t.replacen(',', ".", 1).parse::<f64>().is_ok()
}

/// `cell`, with a leading apostrophe when a spreadsheet would take it for a formula.
pub fn neutralise(cell: &[u8]) -> Cow<'_, [u8]> {
    match cell.first() {
        Some(b) if TRIGGERS.contains(b) && !is_number(cell) => {
            let mut out = Vec::with_capacity(cell.len() + 1);
            out.push(b'\'');
            out.extend_from_slice(cell);
            Cow::Owned(out)
        }
        _ => Cow::Borrowed(cell),
    }
}

/// [`neutralise`] for text.
pub fn neutralise_str(cell: &str) -> Cow<'_, str> {
    match neutralise(cell.as_bytes()) {
        Cow::Borrowed(_) => Cow::Borrowed(cell),
        Cow::Owned(_) => Cow::Owned(format!("'{cell}")),
    }
}

/// A cell read back from one of our exports: the apostrophe [`neutralise`] added is taken off.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.bytes().next().is_some_and(|b| TRIGGERS.contains(&b)) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text_and_numbers_stay() {
        for evil in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1+2",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "-x",
        ] {
            let safe = neutralise_str(evil);
            assert_eq!(safe, format!("'{evil}"));
            assert_eq!(restore(&safe), evil);
        }
        for fine in [
            "-5", "-0.25", "-0,25", "+3", "-1e-3", "Water", "'quoted", "", "a=b",
        ] {
            assert_eq!(neutralise_str(fine), fine);
            assert_eq!(restore(fine), fine);
        }
    }
}
