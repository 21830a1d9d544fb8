//! Numbers as spreadsheets write them: the file's decimal mark (`.` or `,`), digit grouping
//! (`1,040.5`, `1.040,5`, `1 040,5` with a no-break space, `1'040.5`), a sign (`+`, `-`, the
//! typographic minus `−`), a percent sign (`12.50%` reads as 12.5, as written), and the
//! markers people and tools write for "no value" (`NA`, `N/A`, `-`). Spreadsheet error values
//! (`#DIV/0!`) and units in cells (`540 kg`) are refused with what they are.

/// Grouping characters besides the other decimal mark: spaces (plain, no-break, narrow
/// no-break, figure) and apostrophes (Swiss).
const GROUPING: [char; 6] = [' ', '\u{a0}', '\u{202f}', '\u{2007}', '\'', '\u{2019}'];

/// Cells that mean "no value" (compared ignoring ASCII case).
const MISSING: [&str; 7] = ["na", "n/a", "n.a.", "-", "\u{2013}", "\u{2014}", "--"];

/// Excel's error values, written into a CSV as text.
const SPREADSHEET_ERRORS: [&str; 10] = [
    "#div/0!",
    "#value!",
    "#ref!",
    "#name?",
    "#num!",
    "#null!",
    "#n/a",
    "#spill!",
    "#calc!",
    "#getting_data",
];

fn is_space(c: char) -> bool {
    c.is_whitespace() || GROUPING[..4].contains(&c)
}

/// One cell: `Ok(None)` when empty or marked missing, else a finite number or what is wrong.
pub fn parse(raw: &str, decimal_comma: bool) -> Result<Option<f64>, String> {
    let t = raw.trim_matches(is_space);
    // Compared without a lower-cased copy: this runs for every cell of a file.
    let one_of = |words: &[&str]| words.iter().any(|w| t.eq_ignore_ascii_case(w));
    if t.is_empty() || one_of(&MISSING) {
        return Ok(None);
    }
    if one_of(&SPREADSHEET_ERRORS) {
        return Err(format!(
            "{raw:?} is a spreadsheet error (a formula that failed), not a number"
        ));
    }
    let (negative, body) = match t.chars().next() {
        Some('-' | '\u{2212}') => (true, &t[t.chars().next().map_or(1, char::len_utf8)..]),
        Some('+') => (false, &t[1..]),
        _ => (false, t),
    };
    let body = body
        .strip_suffix('%')
        .map_or(body, |b| b.trim_end_matches(is_space));
    let not_a_number = || {
        // A number followed by a word: a unit written in the cells.
        let lead = body
            .find(|c: char| c.is_alphabetic() && c != 'e' && c != 'E')
            .map(|i| body[..i].trim_end_matches(is_space));
        if lead.is_some_and(|l| !l.is_empty() && normalise(l, decimal_comma).is_some()) {
            format!("{raw:?} is not a number: write the unit in the header, not in the cells")
        } else if body.chars().any(|c| c.is_ascii_digit())
            && body
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == ',' || GROUPING.contains(&c))
        {
            let mark = if decimal_comma { ',' } else { '.' };
            format!("{raw:?} is not a number (this file's decimal mark is {mark:?})")
        } else {
            format!("{raw:?} is not a number")
        }
    };
    // `inf`, `NaN`, `1e309` and the like.
    let parsed = body.parse::<f64>();
    if parsed.as_ref().is_ok_and(|v| !v.is_finite()) {
        return Err(format!("{raw:?} is not a finite number"));
    }
    // Plain digits (the usual cell) need no normalising; in a comma file a point may group
    // digits (`1.040`), so those take the long way.
    if let Ok(v) = parsed
        && body.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && !(decimal_comma && body.contains('.'))
    {
        return Ok(Some(if negative { -v } else { v }));
    }
    let plain = normalise(body, decimal_comma).ok_or_else(not_a_number)?;
    let value: f64 = plain.parse().map_err(|_| not_a_number())?;
    if !value.is_finite() {
        return Err(format!("{raw:?} is not a finite number"));
    }
    Ok(Some(if negative { -value } else { value }))
}

/// `body` (no sign) as a plain `1234.5e-3` string: the decimal mark made `.`, valid digit
/// grouping removed; `None` when it is not a number written this way.
fn normalise(body: &str, decimal_comma: bool) -> Option<String> {
    let (mark, other) = if decimal_comma {
        (',', '.')
    } else {
        ('.', ',')
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = match mantissa.rfind(mark) {
        Some(i) => (&mantissa[..i], Some(&mantissa[i + mark.len_utf8()..])),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let mut out = String::with_capacity(body.len());
    let sep = int.chars().find(|&c| c == other || GROUPING.contains(&c));
    // The other mark once, where it cannot group digits (`2.5` in a comma file): a decimal
    // mark all the same, as files mixing locales mean it.
    if frac.is_none() && exponent.is_none() && sep == Some(other) {
        let parts: Vec<&str> = int.split(other).collect();
        if parts.len() == 2 && !could_group(&parts) && parts.iter().all(|p| digits(p)) {
            return normalise(body, !decimal_comma);
        }
    }
    match sep {
        None if digits(int) => out.push_str(int),
        None => return None,
        Some(sep) => {
            // Groups of three after a first of one to three digits: `1,040` or `12 345 678`.
            let mut groups = int.split(sep);
            let first = groups.next()?;
            if first.is_empty() || first.len() > 3 || first.starts_with('0') || !digits(first) {
                return None;
            }
            out.push_str(first);
            for g in groups {
                if g.len() != 3 || !digits(g) {
                    return None;
                }
                out.push_str(g);
            }
        }
    }
    if let Some(f) = frac {
        if !digits(f) || (int.is_empty() && f.is_empty()) {
            return None;
        }
        out.push('.');
        out.push_str(f);
    }
    if out.is_empty() || out == "." {
        return None;
    }
    if let Some(e) = exponent {
        let e = e.strip_prefix('+').unwrap_or(e);
        let unsigned = e.strip_prefix('-').unwrap_or(e);
        if unsigned.is_empty() || !digits(unsigned) {
            return None;
        }
        out.push('e');
        out.push_str(e);
    }
    Some(out)
}

/// Whether digits split at one mark could be groups of thousands: `1,040`, not `0,125`.
fn could_group(parts: &[&str]) -> bool {
    parts.len() >= 2
        && (1..=3).contains(&parts[0].len())
        && !parts[0].starts_with('0')
        && parts[1..].iter().all(|g| g.len() == 3)
}

/// Yes/no words spreadsheets write for a binary value (`TRUE`, `FALSCH`, `VRAI`, `yes`...), as
/// 1 or 0; `None` for anything else.
pub fn boolean(raw: &str) -> Option<f64> {
    const TRUE: [&str; 9] = [
        "true",
        "wahr",
        "vrai",
        "verdadero",
        "vero",
        "yes",
        "ja",
        "oui",
        "y",
    ];
    const FALSE: [&str; 9] = [
        "false", "falsch", "faux", "falso", "falso", "no", "nein", "non", "n",
    ];
    let t = raw.trim().to_lowercase();
    if TRUE.contains(&t.as_str()) {
        Some(1.0)
    } else if FALSE.contains(&t.as_str()) {
        Some(0.0)
    } else {
        None
    }
}

/// What a cell says about the file's decimal mark: `Some(true)` for a comma, `Some(false)`
/// for a point, `None` when it says nothing (`1,040` could be either).
pub fn decimal_vote(cell: &str) -> Option<bool> {
    let t = cell.trim_matches(is_space);
    let t = t.trim_start_matches(['-', '+', '\u{2212}']);
    let t = t.trim_end_matches('%').trim_end_matches(is_space);
    if t.is_empty()
        || !t
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',' || GROUPING.contains(&c))
        || !t.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return None;
    }
    match (t.rfind(','), t.rfind('.')) {
        (Some(c), Some(p)) => Some(c > p),
        (Some(_), None) => single_mark(t, ','),
        (None, Some(_)) => single_mark(t, '.'),
        (None, None) => None,
    }
}

/// A number with only `mark` in it: grouping when it could be (`1,040`, `1,040,500`), else the
/// decimal mark if it appears once.
fn single_mark(t: &str, mark: char) -> Option<bool> {
    let parts: Vec<&str> = t.split(mark).collect();
    if could_group(&parts) {
        // `1,040` is ambiguous; `1,040,500` is grouping, so the other mark is the decimal.
        return (parts.len() > 2).then_some(mark == '.');
    }
    (parts.len() == 2).then_some(mark == ',')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(s: &str) -> Result<Option<f64>, String> {
        parse(s, false)
    }

    fn comma(s: &str) -> Result<Option<f64>, String> {
        parse(s, true)
    }

    #[test]
    fn reads_what_spreadsheets_write() {
        assert_eq!(point(" 12.5 "), Ok(Some(12.5)));
        assert_eq!(point("1,040.5"), Ok(Some(1040.5)));
        assert_eq!(point("1,234,567"), Ok(Some(1234567.0)));
        assert_eq!(point("1'040.5"), Ok(Some(1040.5)));
        assert_eq!(point("12.50%"), Ok(Some(12.5)));
        assert_eq!(point("12.5 %"), Ok(Some(12.5)));
        assert_eq!(point("\u{2212}5"), Ok(Some(-5.0)));
        assert_eq!(point("+3.5"), Ok(Some(3.5)));
        assert_eq!(point("1.5E-03"), Ok(Some(0.0015)));
        assert_eq!(point(".5"), Ok(Some(0.5)));
        assert_eq!(comma("12,5"), Ok(Some(12.5)));
        assert_eq!(comma("1.040,5"), Ok(Some(1040.5)));
        assert_eq!(comma("1\u{a0}040,5"), Ok(Some(1040.5)));
        assert_eq!(comma("1\u{202f}040,5"), Ok(Some(1040.5)));
        assert_eq!(comma("1 040,5"), Ok(Some(1040.5)));
        assert_eq!(comma("1,5E-03"), Ok(Some(0.0015)));
        // The other mark once, where it cannot group: a decimal mark (files mixing locales).
        assert_eq!(comma("2.5"), Ok(Some(2.5)));
        assert_eq!(point("80,0"), Ok(Some(80.0)));
        assert_eq!(point("0,125"), Ok(Some(0.125)));
        // Where it can group, the file's convention decides.
        assert_eq!(comma("1.040"), Ok(Some(1040.0)));
        assert_eq!(point("1,040"), Ok(Some(1040.0)));
        for missing in ["", "  ", "NA", "n/a", "N/A", "-", "\u{2014}"] {
            assert_eq!(point(missing), Ok(None), "{missing:?}");
        }
    }

    #[test]
    fn refuses_with_the_reason() {
        assert!(point("80.5.1").unwrap_err().contains("decimal mark is '.'"));
        assert!(point("1,04,5").unwrap_err().contains("not a number"));
        assert!(comma("1.5,5.5").is_err());
        assert!(point("abc").unwrap_err().contains("not a number"));
        assert!(point("NaN").unwrap_err().contains("not a finite number"));
        assert!(point("inf").unwrap_err().contains("not a finite number"));
        assert!(point("1e309").unwrap_err().contains("not a finite number"));
        assert!(point("#DIV/0!").unwrap_err().contains("spreadsheet error"));
        assert!(point("#N/A").unwrap_err().contains("spreadsheet error"));
        assert!(point("540 kg").unwrap_err().contains("unit in the header"));
        assert!(comma("28 d").unwrap_err().contains("unit in the header"));
        assert!(point("1 2").is_err());
        // A doubled sign is not a number, whichever way it is read.
        assert!(point("--5").is_err() && point("+-5").is_err() && point("++5").is_err());
    }

    #[test]
    fn reads_yes_and_no_words() {
        assert_eq!(boolean(" TRUE "), Some(1.0));
        assert_eq!(boolean("Falsch"), Some(0.0));
        assert_eq!(boolean("maybe"), None);
    }

    #[test]
    fn votes_on_the_decimal_mark() {
        assert_eq!(decimal_vote("12,5"), Some(true));
        assert_eq!(decimal_vote("1.040,5"), Some(true));
        assert_eq!(decimal_vote("0.125"), Some(false));
        assert_eq!(decimal_vote("1,040.5"), Some(false));
        assert_eq!(decimal_vote("1,040"), None);
        assert_eq!(decimal_vote("1,040,500"), Some(false));
        assert_eq!(decimal_vote("12.50%"), Some(false));
        assert_eq!(decimal_vote("abc"), None);
        assert_eq!(decimal_vote("40"), None);
    }
}
