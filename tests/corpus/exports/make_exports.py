#!/usr/bin/env python3
"""Write the spreadsheet-export corpus in this folder.

Every file is produced by this script (no Excel/Numbers/Sheets was run): each one
follows the documented or commonly observed conventions of the tool it emulates,
as listed in README.md.  Standard library only, deterministic:

    python3 tests/corpus/exports/make_exports.py

rewrites every file (canonical-*.csv, the 40 exports, files.json).  README.md is
hand-written and not touched.
"""

import csv
import json
import os
import plistlib
import struct
import zipfile
from decimal import ROUND_HALF_UP, Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))

SHAMPOO_IDS = ["S7", "S355", "S548", "S563", "S579", "S634"]
CONCRETE_IDS = ["1", "5", "191", "207", "233"]  # data.csv ids (sheet rows)
ACCENT_S = ["Crème %d" % i for i in range(1, 7)]
ACCENT_C = ["Béton %d" % i for i in range(1, 6)]
JA_S = ["試作%d" % i for i in range(1, 7)]

C_MATS = ["cement", "blast_furnace_slag", "fly_ash", "water", "superplasticizer",
          "coarse_aggregate", "fine_aggregate"]
C_HEADER = ["id"] + C_MATS + ["age_days", "total_mass_kg_per_m3", "strength_mpa"]
VISC = "viscosity_10_per_s_cp"

CENT = Decimal("0.01")
TENTH = Decimal("0.1")


# --------------------------------------------------------------------------
# canonical data


def q(x, step):
    return x.quantize(step, rounding=ROUND_HALF_UP)


def load_shampoo():
    with open(os.path.join(ROOT, "data", "shampoo", "data.csv"), newline="", encoding="utf-8") as f:
        rd = csv.reader(f)
        header = next(rd)
        rows = {r[0]: dict(zip(header, r)) for r in rd}
    model_mats = header[1:header.index("Water") + 1]
    pct = {}
    for sid in SHAMPOO_IDS:
        r = rows[sid]
        assert r[VISC] != "", sid
        pct[sid] = {m: q(Decimal(r[m]) * 100, CENT) for m in model_mats}
    mats = [m for m in model_mats if any(pct[s][m] != 0 for s in SHAMPOO_IDS)]
    data = []
    for sid in SHAMPOO_IDS:
        p = pct[sid]
        p["Water"] = Decimal("100.00") - sum((p[m] for m in mats if m != "Water"), Decimal(0))
        assert sum(p[m] for m in mats) == Decimal("100.00")
        data.append([sid] + [p[m] for m in mats] + [q(Decimal(rows[sid][VISC]), TENTH)])
    return ["id"] + mats + [VISC], data


def load_concrete():
    with open(os.path.join(ROOT, "data", "concrete", "data.csv"), newline="", encoding="utf-8") as f:
        rows = {r["id"]: r for r in csv.DictReader(f)}
    data = []
    for i, cid in enumerate(CONCRETE_IDS, 1):
        r = rows[cid]
        total = Decimal(r["total_mass_kg_per_m3"])
        kg = [q(Decimal(r[m]) * total, TENTH) for m in C_MATS]
        age = int(Decimal(r["age_days"]))
        data.append(["C%d" % i] + kg + [age, sum(kg, Decimal(0)), q(Decimal(r["strength_mpa"]), CENT)])
    return list(C_HEADER), data


S_HEAD, S_ROWS = load_shampoo()
C_HEAD, C_ROWS = load_concrete()
S_MATS = S_HEAD[1:-1]


# --------------------------------------------------------------------------
# number formatting


def general(v):
    """Excel/Calc/Sheets 'General' display of a short decimal: 12.50 -> 12.5, 540.0 -> 540."""
    if isinstance(v, int):
        return str(v)
    s = format(v, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("", "-0") else s


def comma_dec(s):
    return s.replace(".", ",")


def grouped(v, places, group, dec):
    """Fixed number format with thousands grouping, e.g. '#,##0.0' or '# ##0,0'."""
    s = format(q(v, Decimal(1).scaleb(-places)), "f")
    ip, _, fp = s.partition(".")
    neg = ip.startswith("-")
    ip = ip.lstrip("-")
    parts = []
    while len(ip) > 3:
        parts.insert(0, ip[-3:])
        ip = ip[:-3]
    parts.insert(0, ip)
    out = group.join(parts)
    if fp:
        out += dec + fp
    return ("-" if neg else "") + out


def fmt_rows(rows, numfmt=general, ids=None):
    out = []
    for i, r in enumerate(rows):
        cells = [ids[i] if ids else r[0]] + [numfmt(v) for v in r[1:]]
        out.append(cells)
    return out


# --------------------------------------------------------------------------
# writers


def quote_min(cell, sep):
    """Quote only when needed (Excel, Calc, Sheets, pandas QUOTE_MINIMAL)."""
    if any(ch in cell for ch in (sep, '"', "\r", "\n")):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def quote_always(cell, sep):
    return '"' + cell.replace('"', '""') + '"'


def text(lines_of_cells, sep=",", eol="\r\n", final_eol=True):
    lines = []
    for cells in lines_of_cells:
        if isinstance(cells, str):  # a verbatim line
            lines.append(cells)
        else:
            lines.append(sep.join(c.s if isinstance(c, Raw) else quote_min(c, sep) for c in cells))
    s = eol.join(lines)
    return s + eol if final_eol else s


class Raw:
    """A cell written verbatim (already quoted by the caller)."""

    def __init__(self, s):
        self.s = s


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


BOM = b"\xef\xbb\xbf"


def utf8(s, bom=False):
    return (BOM if bom else b"") + s.encode("utf-8")


# --------------------------------------------------------------------------
# 1-30: readable exports

FILES = []  # (file, data, tool, kind)


def reg(file, data, tool, kind):
    FILES.append({"file": file, "data": data, "tool": tool, "kind": kind})


def s_table(numfmt=general, ids=None, head=None):
    return [head or S_HEAD] + fmt_rows(S_ROWS, numfmt, ids)


def c_table(numfmt=general, ids=None, head=None):
    return [head or C_HEAD] + fmt_rows(C_ROWS, numfmt, ids)


def de(v):
    return comma_dec(general(v))


def make_canonical():
    write("canonical-shampoo.csv", utf8(text(s_table(), ",", "\n")))
    write("canonical-concrete.csv", utf8(text(c_table(), ",", "\n")))


def make_reads():
    # 1
    write("excel-win-csv-utf8.csv", utf8(text(s_table(), ",", "\r\n"), bom=True))
    reg("excel-win-csv-utf8.csv", "shampoo", "Excel 365 Windows en-US, Save As 'CSV UTF-8 (Comma delimited)'", "read")
    # 2
    write("excel-win-csv-ansi.csv", text(c_table(ids=ACCENT_C), ",", "\r\n").encode("cp1252"))
    reg("excel-win-csv-ansi.csv", "concrete", "Excel 365 Windows en-US, Save As 'CSV (Comma delimited)' (ANSI, Windows-1252)", "read")
    # 3
    write("excel-de-csv.csv", text(c_table(de, ids=ACCENT_C), ";", "\r\n").encode("cp1252"))
    reg("excel-de-csv.csv", "concrete", "Excel 365 Windows de-DE, Save As 'CSV (Trennzeichen-getrennt)'", "read")
    # 4
    write("excel-de-csv-utf8.csv", utf8(text(s_table(de), ";", "\r\n"), bom=True))
    reg("excel-de-csv-utf8.csv", "shampoo", "Excel 365 Windows de-DE, Save As 'CSV UTF-8 (durch Trennzeichen getrennt)'", "read")

    # 5, 6: thousands grouping on the kg columns (format '#,##0.0' / '# ##0,0'),
    # age and strength stay 'General'.
    def c_grouped(group, dec, sep):
        rows = [C_HEAD]
        for r in C_ROWS:
            cells = [r[0]] + [grouped(v, 1, group, dec) for v in r[1:8]]
            cells += [general(r[8]), grouped(r[9], 1, group, dec), general(r[10]).replace(".", dec)]
            rows.append(cells)
        return rows

    write("excel-fr-thousands.csv", text(c_grouped("\u00a0", ",", ";"), ";", "\r\n").encode("cp1252"))
    reg("excel-fr-thousands.csv", "concrete", "Excel Windows fr-FR, Save As 'CSV (séparateur: point-virgule)', kg cells formatted '# ##0,0'", "read")
    write("excel-us-thousands.csv", utf8(text(c_grouped(",", ".", ","), ",", "\r\n"), bom=True))
    reg("excel-us-thousands.csv", "concrete", "Excel 365 Windows en-US, CSV UTF-8, kg cells formatted '#,##0.0'", "read")

    # 7 percentage format on material cells
    rows = [S_HEAD] + [[r[0]] + [format(q(v, CENT), "f") + "%" for v in r[1:-1]] + [general(r[-1])] for r in S_ROWS]
    write("excel-percent-format.csv", utf8(text(rows, ",", "\r\n"), bom=True))
    reg("excel-percent-format.csv", "shampoo", "Excel 365 Windows en-US, CSV UTF-8, material cells formatted Percentage (2 decimals)", "read")
    # 8
    write("excel-tab-text.txt", text(s_table(ids=ACCENT_S), "\t", "\r\n").encode("cp1252"))
    reg("excel-tab-text.txt", "shampoo", "Excel 365 Windows en-US, Save As 'Text (Tab delimited)'", "read")
    # 9
    write("excel-unicode-text.txt", b"\xff\xfe" + text(s_table(), "\t", "\r\n").encode("utf-16-le"))
    reg("excel-unicode-text.txt", "shampoo", "Excel 365 Windows en-US, Save As 'Unicode Text'", "read")
    # 10
    write("excel-mac-csv.csv", text(s_table(ids=ACCENT_S), ",", "\r").encode("mac_roman"))
    reg("excel-mac-csv.csv", "shampoo", "Excel for Mac (2011) / Excel 'CSV (Macintosh)'", "read")
    # 11
    write("libreoffice-default.csv", utf8(text(s_table(), ",", "\n")))
    reg("libreoffice-default.csv", "shampoo", "LibreOffice Calc 24.x en-US (Linux), Save As 'Text CSV', default options", "read")
    # 12 de-DE locale, field delimiter ',', save cell content as shown -> "12,5"
    write("libreoffice-de-comma.csv", utf8(text(s_table(de), ",", "\n")))
    reg("libreoffice-de-comma.csv", "shampoo", "LibreOffice Calc 24.x de-DE (Linux), Text CSV, field delimiter ',', 'Save cell content as shown'", "read")
    # 13 ';' + quote all text cells
    rows = [[Raw(quote_always(c, ";")) for c in S_HEAD]]
    for r in fmt_rows(S_ROWS):
        rows.append([Raw(quote_always(r[0], ";"))] + r[1:])
    write("libreoffice-quote-all.csv", utf8(text(rows, ";", "\n")))
    reg("libreoffice-quote-all.csv", "shampoo", "LibreOffice Calc 24.x en-US (Linux), Text CSV, field delimiter ';', 'Quote all text cells'", "read")
    # 14, 15 Google Sheets: CRLF, no newline after the last row
    write("google-sheets.csv", utf8(text(s_table(), ",", "\r\n", final_eol=False)))
    reg("google-sheets.csv", "shampoo", "Google Sheets (web), File > Download > Comma-separated values (.csv)", "read")
    write("google-sheets-de.csv", utf8(text(s_table(de), ",", "\r\n", final_eol=False)))
    reg("google-sheets-de.csv", "shampoo", "Google Sheets (web), spreadsheet locale Germany, File > Download > CSV", "read")
    # 16, 17 Numbers
    write("numbers-en.csv", utf8(text(s_table(), ",", "\n")))
    reg("numbers-en.csv", "shampoo", "Apple Numbers 14 en-US, File > Export To > CSV (Unicode UTF-8)", "read")
    write("numbers-de.csv", utf8(text(s_table(de), ";", "\n")))
    reg("numbers-de.csv", "shampoo", "Apple Numbers 14 de-DE, Exportieren > CSV (Unicode UTF-8)", "read")

    # 18 pandas default: RangeIndex, fractions as float64 (str(float) = repr)
    rows = [[""] + S_HEAD]
    for i, r in enumerate(S_ROWS):
        rows.append([str(i), r[0]] + [repr(float(v) / 100) for v in r[1:-1]] + [repr(float(r[-1]))])
    write("pandas-default.csv", utf8(text(rows, ",", "\n")))
    reg("pandas-default.csv", "shampoo", "pandas 2.x df.to_csv(path) (Linux), values stored as fractions", "read")
    # 19
    rows = [S_HEAD] + [[r[0]] + [repr(float(v)).replace(".", ",") for v in r[1:]] for r in S_ROWS]
    write("pandas-semicolon-decimal.csv", utf8(text(rows, ";", "\n")))
    reg("pandas-semicolon-decimal.csv", "shampoo", "pandas 2.x df.to_csv(path, sep=';', decimal=',', index=False)", "read")
    # 20
    rows = [S_HEAD] + [[r[0]] + [("NA" if v == 0 else repr(float(v))) for v in r[1:-1]] + [repr(float(r[-1]))]
                       for r in S_ROWS]
    write("pandas-na-rep.csv", utf8(text(rows, ",", "\n")))
    reg("pandas-na-rep.csv", "shampoo", "pandas 2.x df.to_csv(path, index=False, na_rep='NA'), zero amounts stored as NaN", "read")
    # 21 R write.csv
    rows = [[Raw('""')] + [Raw(quote_always(c, ",")) for c in S_HEAD]]
    for i, r in enumerate(fmt_rows(S_ROWS), 1):
        rows.append([Raw('"%d"' % i), Raw(quote_always(r[0], ","))] + r[1:])
    write("r-write-csv.csv", utf8(text(rows, ",", "\n")))
    reg("r-write-csv.csv", "shampoo", "R 4.x utils::write.csv(df, path)", "read")
    # 22 R write.csv2
    rows = [[Raw(quote_always(c, ";")) for c in S_HEAD]]
    for r in fmt_rows(S_ROWS, de):
        rows.append([Raw(quote_always(r[0], ";"))] + r[1:])
    write("r-write-csv2.csv", utf8(text(rows, ";", "\n")))
    reg("r-write-csv2.csv", "shampoo", "R 4.x utils::write.csv2(df, path, row.names = FALSE)", "read")
    # 23 LIMS report
    units = [""] + ["%"] * len(S_MATS) + ["cP"]
    lines = ["Formulation report", "Exported 2026-11-02 14:03 by LabSys 4.2", "", S_HEAD, units]
    lines += fmt_rows(S_ROWS) + ["", "End of report"]
    write("lims-title-units-footer.csv", utf8(text(lines, ",", "\r\n")))
    reg("lims-title-units-footer.csv", "shampoo", "Lab information system report export (LabSys 4.2, fictitious)", "read")
    # 24 used range wider and taller than the data
    width = len(S_HEAD) + 3
    rows = [row + ["", "", ""] for row in s_table()] + [[""] * width, [""] * width]
    write("excel-trailing-empty.csv", utf8(text(rows, ",", "\r\n"), bom=True))
    reg("excel-trailing-empty.csv", "shampoo", "Excel 365 Windows en-US, CSV UTF-8, used range 3 columns wider and 2 rows taller than the data", "read")
    # 25 sep= line
    write("excel-sep-line.csv", utf8(text(["sep=;"] + s_table(de), ";", "\r\n")))
    reg("excel-sep-line.csv", "shampoo", "Export aimed at Excel de-DE with a 'sep=;' first line (web app / script; Excel reads it, never writes it)", "read")
    # 26 Total / Average rows (Average cells formatted 0.00)
    n = len(S_ROWS)
    tot = [sum((r[j] for r in S_ROWS), Decimal(0)) for j in range(1, len(S_HEAD) - 1)]
    rows = s_table() + [["Total"] + [general(t) for t in tot] + [""],
                        ["Average"] + [format(q(t / n, CENT), "f") for t in tot] + [""]]
    write("excel-summary-rows.csv", utf8(text(rows, ",", "\r\n"), bom=True))
    reg("excel-summary-rows.csv", "shampoo", "Excel 365 Windows en-US, CSV UTF-8, sheet with =SUM()/=AVERAGE() rows under the data", "read")
    # 27 header case / spacing
    variants = {
        "Texapon SB 3 KC": " texapon sb 3 kc ",
        "Plantapon ACG 50": "PLANTAPON ACG 50",
        "Plantapon LC 7": "Plantapon  LC 7",
        "Plantacare 818": "PLANTACARE  818",
        "Dehyton AB 30": "dehyton ab 30",
        "Plantapon Amino KG-L": "Plantapon amino kg-l",
        "Dehyquart A-CA": "DEHYQUART A-CA",
        "Luviquat Excellence": "Luviquat  excellence",
        "Dehyquart CC7 Benz": "dehyquart cc7 benz ",
        "Salcare Super 7": "SALCARE SUPER 7",
        "Arlypon F": "arlypon f",
        "Arlypon TT": "Arlypon  TT",
        "Water": "water",
        VISC: "Viscosity_10_per_s_cP",
        "id": "ID",
    }
    head = [variants[h] for h in S_HEAD]
    for h, v in zip(S_HEAD, head):
        assert v != h and " ".join(v.split()).lower() == h.lower(), (h, v)
    write("header-case-spacing.csv", utf8(text(s_table(head=head), ",", "\n")))
    reg("header-case-spacing.csv", "shampoo", "Hand-typed headers (case and spacing differ from the model names), UTF-8", "read")
    # 28 headers with units
    head = ["Mix", "Cement (kg/m3)", "Blast Furnace Slag (kg/m³)", "Fly ash [kg/m3]", "Water, kg/m3",
            "Superplasticizer (kg/m3)", "Coarse aggregate (kg/m3)", "Fine aggregate (kg/m3)", "Age (days)",
            "total mass (kg/m3)", "Compressive strength (MPa)"]
    write("header-units.csv", utf8(text(c_table(head=head), ",", "\n")))
    reg("header-units.csv", "concrete", "Hand-typed headers with units, UTF-8", "read")
    # 29 original UCI column names, no id column
    with open(os.path.join(ROOT, "public", "models", "concrete", "manifest.json"), encoding="utf-8") as f:
        man = json.load(f)
    src = {m["name"]: m.get("metadata", {}).get("source_column") or m["name"] for m in man["materials"]}
    head = [src[m] for m in C_MATS] + ["Age (day)", "total_mass_kg_per_m3",
                                      "Concrete compressive strength(MPa, megapascals) "]
    rows = [head] + [r[1:] for r in fmt_rows(C_ROWS)]
    write("header-uci-original.csv", utf8(text(rows, ",", "\n")))
    reg("header-uci-original.csv", "concrete", "Columns named as in the UCI Concrete_Data.xls, no id column", "read")
    # 30 INCI names
    with open(os.path.join(ROOT, "public", "models", "shampoo", "manifest.json"), encoding="utf-8") as f:
        man = json.load(f)
    inci = {m["name"]: m.get("metadata", {}).get("inci_name_guess") for m in man["materials"]}
    counts = {}
    for v in inci.values():
        if v:
            counts[v] = counts.get(v, 0) + 1
    head = ["id"]
    for m in S_MATS:
        if m == "Water":
            head.append("Aqua")
        elif inci.get(m) and counts[inci[m]] == 1:
            head.append(inci[m])
        else:
            head.append(m)
    head.append(VISC)
    write("header-inci.csv", utf8(text(s_table(head=head), ",", "\n")))
    reg("header-inci.csv", "shampoo", "Headers are INCI names (unique ones) instead of trade names, UTF-8", "read")
    # 30b site jargon no rule can recognise: the mapping table's test file, with the mapping
    # a user confirms (header-foreign.mapping.json, what the app exports and `score --mapping` reads)
    head = ["Mix no.", "OPC", "GGBS", "PFA", "H2O", "SP", "Gravel 20mm", "Sand", "Test age",
            "Density", "fc 28d"]
    write("header-foreign.csv", utf8(text(c_table(head=head), ",", "\n")))
    reg("header-foreign.csv", "concrete", "Site jargon for every column (OPC, GGBS, PFA, SP...): needs a mapping", "read")
    roles = [("id", None)] + [("material", m) for m in C_MATS] + [
        ("condition", "age_days"), ("condition", "total_mass_kg_per_m3"), ("target", "strength_mpa")]
    columns = {}
    for h, (role, name) in zip(head, roles):
        columns[h] = {"role": role} if name is None else {"role": role, "name": name}
    mapping = {"format": "mixlab-mapping", "version": 1, "model": "concrete",
               "columns": dict(sorted(columns.items()))}
    write("header-foreign.mapping.json", (json.dumps(mapping, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    # 30c Excel booleans: a binary target written TRUE/FALSE (what Excel writes for logical cells)
    stable = ["TRUE", "FALSE", "TRUE", "TRUE", "FALSE", "TRUE"]
    rows = [S_HEAD + ["stable"]] + [r + [b] for r, b in zip(fmt_rows(S_ROWS), stable)]
    write("excel-boolean-target.csv", utf8(text(rows, ",", "\r\n"), bom=True))
    reg("excel-boolean-target.csv", "shampoo", "Excel CSV UTF-8 with a logical column (binary target) written TRUE/FALSE", "read")
    # 30d a trailing delimiter on the header line only (some exporters end every field with one)
    rows = [S_HEAD + [""]] + fmt_rows(S_ROWS)
    write("header-trailing-delimiter.csv", utf8(text(rows, ",", "\n")))
    reg("header-trailing-delimiter.csv", "shampoo", "Header line ends with a delimiter, data rows do not", "read")


# --------------------------------------------------------------------------
# 31-40: refuse


def cfb_xls():
    """A structurally valid OLE2 compound file (MS-CFB v3) with one 'Workbook' stream
    holding a BIFF8 BOF..EOF record pair; not a usable workbook."""
    ENDOFCHAIN, FREESECT, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    wb_sectors = 8  # 4096 bytes: at the mini-stream cutoff, so it lives in regular sectors
    hdr = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
    hdr += struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6) + b"\0" * 6
    hdr += struct.pack("<IIIIIIIII", 0, 1, 1, 0, 0x1000, ENDOFCHAIN, 0, ENDOFCHAIN, 0)
    hdr += struct.pack("<I", 0) + struct.pack("<I", FREESECT) * 108
    assert len(hdr) == 512
    fat = [FATSECT, ENDOFCHAIN] + [3 + i for i in range(wb_sectors - 1)] + [ENDOFCHAIN]
    fat += [FREESECT] * (128 - len(fat))
    fat_sec = struct.pack("<128I", *fat)

    def dirent(name, typ, child, start, size):
        n = name.encode("utf-16-le") + b"\0\0" if name else b""
        return (n.ljust(64, b"\0") + struct.pack("<HBB", len(n), typ, 1 if typ else 0)
                + struct.pack("<III", NOSTREAM, NOSTREAM, child) + b"\0" * 16
                + struct.pack("<IQQIQ", 0, 0, 0, start, size))

    d = dirent("Root Entry", 5, 1, ENDOFCHAIN, 0) + dirent("Workbook", 2, NOSTREAM, 2, 512 * wb_sectors)
    d += dirent("", 0, NOSTREAM, 0, 0) * 2
    assert len(d) == 512
    bof = struct.pack("<HH", 0x0809, 16) + struct.pack("<HHHHII", 0x0600, 0x0005, 0x6B4A, 0x07CD, 0x000100C1, 0x00000406)
    codepage = struct.pack("<HHH", 0x0042, 2, 1200)
    eof = struct.pack("<HH", 0x000A, 0)
    wb = (bof + codepage + eof).ljust(512 * wb_sectors, b"\0")
    return hdr + fat_sec + d + wb


def zip_bytes(entries, date_time, create_system=0):
    """entries: list of (name, bytes).  All stored (uncompressed) so the bytes do not
    depend on the zlib build; fixed timestamps and attributes."""
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries:
            zi = zipfile.ZipInfo(name, date_time=date_time)
            zi.compress_type = zipfile.ZIP_STORED
            zi.create_system = create_system
            zi.external_attr = 0
            z.writestr(zi, data)
    return buf.getvalue()


def xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def ods():
    cells = []
    for ri, row in enumerate(s_table()):
        tds = []
        for i, c in enumerate(row):
            if i == 0 or ri == 0:
                tds.append('<table:table-cell office:value-type="string"><text:p>%s</text:p></table:table-cell>' % xml_escape(c))
            else:
                tds.append('<table:table-cell office:value-type="float" office:value="%s"><text:p>%s</text:p></table:table-cell>' % (c, c))
        cells.append("<table:table-row>%s</table:table-row>" % "".join(tds))
    content = ('<?xml version="1.0" encoding="UTF-8"?>\n'
               '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
               'office:version="1.3"><office:body><office:spreadsheet>'
               '<table:table table:name="Sheet1">' + "".join(cells) +
               '</table:table></office:spreadsheet></office:body></office:document-content>')
    manifest = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">\n'
                ' <manifest:file-entry manifest:full-path="/" manifest:version="1.3" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>\n'
                ' <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>\n'
                '</manifest:manifest>')
    return zip_bytes([("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
                      ("content.xml", content.encode()),
                      ("META-INF/manifest.xml", manifest.encode())], (2026, 11, 2, 14, 3, 0))


def col_letter(i):
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def xlsx():
    ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
          '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
          '</Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>')
    wb = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
          '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
          'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
          '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
    wbrels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
              '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
              '</Relationships>')
    rows = []
    for ri, row in enumerate(c_table(), 1):
        cs = []
        for ci, c in enumerate(row):
            ref = "%s%d" % (col_letter(ci), ri)
            if ri == 1 or ci == 0:
                cs.append('<c r="%s" t="inlineStr"><is><t>%s</t></is></c>' % (ref, xml_escape(c)))
            else:
                cs.append('<c r="%s"><v>%s</v></c>' % (ref, c))
        rows.append('<row r="%d">%s</row>' % (ri, "".join(cs)))
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             + "".join(rows) + '</sheetData></worksheet>')
    # Excel stamps every entry 1980-01-01 00:00
    return zip_bytes([("[Content_Types].xml", ct.encode()), ("_rels/.rels", rels.encode()),
                      ("xl/workbook.xml", wb.encode()), ("xl/_rels/workbook.xml.rels", wbrels.encode()),
                      ("xl/worksheets/sheet1.xml", sheet.encode())], (1980, 1, 1, 0, 0, 0))


def numbers():
    # IWA: chunk header 0x00 + 24-bit little-endian length, then a Snappy block
    # (varint uncompressed length + literal elements).  Payload: a plausible
    # ArchiveInfo protobuf prefix followed by filler; not a real document.
    payload = bytes([0x08, 0x01, 0x12, 0x0c, 0x08, 0x01, 0x12, 0x03, 0x01, 0x00, 0x05, 0x18, 0x2a, 0x28, 0x00]) \
        + b"TSTArchives.TableModelArchive Formulations " * 2
    lit = b""
    rest = payload
    while rest:
        part, rest = rest[:60], rest[60:]
        lit += bytes([(len(part) - 1) << 2]) + part
    n = len(payload)
    varint = b""
    while True:
        b = n & 0x7F
        n >>= 7
        varint += bytes([b | (0x80 if n else 0)])
        if not n:
            break
    block = varint + lit
    iwa = b"\x00" + struct.pack("<I", len(block))[:3] + block
    props = plistlib.dumps({
        "documentUUID": "6F1C2B1E-9A57-4C1B-9A0D-2F6E8B3C4D10",
        "fileFormatVersion": "14.0.0",
        "isMultiPage": False,
        "revision": "0::6F1C2B1E-9A57-4C1B-9A0D-2F6E8B3C4D10",
        "stableDocumentUUID": "0B7E4E52-1F3A-4A8E-8C55-7D2C1E9B6A33",
        "versionUUID": "3D9A8F61-5C2E-4B7A-9E10-8A4B6C2D1F07",
    }, fmt=plistlib.FMT_BINARY)
    return zip_bytes([("Index/Document.iwa", iwa), ("Metadata/Properties.plist", props)],
                     (2026, 11, 2, 14, 3, 0), create_system=3)


def excel_html():
    rows = []
    for i, row in enumerate(s_table()):
        tds = "".join(("<td>%s</td>" % xml_escape(c)) if (i == 0 or j == 0) else
                      ('<td align=right x:num>%s</td>' % c) for j, c in enumerate(row))
        rows.append(" <tr height=20 style='height:15.0pt'>\r\n  %s\r\n </tr>" % tds)
    html = ('<html xmlns:o="urn:schemas-microsoft-com:office:office"\r\n'
            'xmlns:x="urn:schemas-microsoft-com:office:excel"\r\n'
            'xmlns="http://www.w3.org/TR/REC-html40">\r\n\r\n'
            '<head>\r\n'
            '<meta http-equiv=Content-Type content="text/html; charset=utf-8">\r\n'
            '<meta name=ProgId content=Excel.Sheet>\r\n'
            '<meta name=Generator content="LabSys 4.2">\r\n'
            '<!--[if gte mso 9]><xml>\r\n'
            ' <x:ExcelWorkbook>\r\n  <x:ExcelWorksheets>\r\n   <x:ExcelWorksheet>\r\n'
            '    <x:Name>Formulations</x:Name>\r\n'
            '    <x:WorksheetOptions><x:DisplayGridlines/></x:WorksheetOptions>\r\n'
            '   </x:ExcelWorksheet>\r\n  </x:ExcelWorksheets>\r\n </x:ExcelWorkbook>\r\n'
            '</xml><![endif]-->\r\n'
            '</head>\r\n\r\n<body>\r\n<table border=0 cellpadding=0 cellspacing=0>\r\n'
            + "\r\n".join(rows) + '\r\n</table>\r\n</body>\r\n\r\n</html>\r\n')
    return html.encode("utf-8")


def excel_xml_2003():
    out = ['<?xml version="1.0"?>',
           '<?mso-application progid="Excel.Sheet"?>',
           '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"',
           ' xmlns:o="urn:schemas-microsoft-com:office:office"',
           ' xmlns:x="urn:schemas-microsoft-com:office:excel"',
           ' xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"',
           ' xmlns:html="http://www.w3.org/TR/REC-html40">',
           ' <DocumentProperties xmlns="urn:schemas-microsoft-com:office:office">',
           '  <Author>lab</Author>',
           '  <Created>2026-11-02T14:03:00Z</Created>',
           '  <Version>16.00</Version>',
           ' </DocumentProperties>',
           ' <Worksheet ss:Name="Formulations">',
           '  <Table ss:ExpandedColumnCount="%d" ss:ExpandedRowCount="%d" x:FullColumns="1"' % (len(S_HEAD), len(S_ROWS) + 1),
           '   x:FullRows="1" ss:DefaultRowHeight="15">']
    for i, row in enumerate(s_table()):
        out.append('   <Row>')
        for j, c in enumerate(row):
            t = "String" if (i == 0 or j == 0) else "Number"
            out.append('    <Cell><Data ss:Type="%s">%s</Data></Cell>' % (t, xml_escape(c)))
        out.append('   </Row>')
    out += ['  </Table>', ' </Worksheet>', '</Workbook>']
    return ("\r\n".join(out) + "\r\n").encode("utf-8")


def pdf():
    stream = b"BT /F1 12 Tf 72 720 Td (Formulation report) Tj ET\n"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


def make_refuse():
    write("excel-97.xls", cfb_xls())
    reg("excel-97.xls", None, "Excel 97-2003 Workbook (.xls, OLE2/BIFF8)", "refuse")
    write("libreoffice.ods", ods())
    reg("libreoffice.ods", "shampoo", "LibreOffice Calc, ODF Spreadsheet (.ods)", "refuse")
    write("excel.xlsx", xlsx())
    reg("excel.xlsx", "concrete", "Excel Workbook (.xlsx, Office Open XML)", "refuse")
    write("numbers.numbers", numbers())
    reg("numbers.numbers", None, "Apple Numbers document (.numbers, single-file ZIP package)", "refuse")
    write("excel-html.xls", excel_html())
    reg("excel-html.xls", "shampoo", "HTML table saved as .xls by a lab system", "refuse")
    write("excel-xml-2003.xml", excel_xml_2003())
    reg("excel-xml-2003.xml", "shampoo", "Excel 'XML Spreadsheet 2003'", "refuse")
    # 37 Shift_JIS
    head = ["配合"] + S_HEAD[1:]
    write("excel-ja-shift-jis.csv", text(s_table(ids=JA_S, head=head), ",", "\r\n").encode("cp932"))
    reg("excel-ja-shift-jis.csv", "shampoo", "Excel Windows ja-JP, Save As 'CSV (コンマ区切り)' (Shift_JIS/cp932)", "refuse")
    # 38 error cells
    rows = s_table()
    rows[3][S_HEAD.index("Plantacare 818")] = "#DIV/0!"
    rows[5][S_HEAD.index("Plantapon Amino KG-L")] = "#VALUE!"
    write("excel-error-cells.csv", utf8(text(rows, ",", "\r\n"), bom=True))
    reg("excel-error-cells.csv", "shampoo", "Excel 365 Windows en-US, CSV UTF-8, formula error values in cells", "refuse")
    write("report.pdf", pdf())
    reg("report.pdf", None, "PDF report (Print/Export to PDF)", "refuse")
    # 40 Unicode minus and leading plus
    rows = s_table()
    rows[4][S_HEAD.index("Plantapon ACG 50")] = "\u22125"
    col = S_HEAD.index("Arlypon F")
    rows[2][col] = "+" + rows[2][col]
    write("unicode-minus.csv", utf8(text(rows, ",", "\n")))
    reg("unicode-minus.csv", "shampoo", "Typed/pasted cells: U+2212 minus sign (negative amount) and a leading '+'", "refuse")


def main():
    make_canonical()
    make_reads()
    make_refuse()
    assert len(FILES) == 43, len(FILES)
    with open(os.path.join(HERE, "files.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(FILES, f, ensure_ascii=False, indent=1)
        f.write("\n")
    for e in FILES:
        assert os.path.getsize(os.path.join(HERE, e["file"])) < 20000, e["file"]


if __name__ == "__main__":
    main()
