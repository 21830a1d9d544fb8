use super::*;
use crate::Device;
use crate::MixModel;
use crate::bundle::tests::{tiny, tiny_ensemble};
use crate::model::{Batch, reference_predict};
use crate::table::ReadError;

fn plan_of(text: &str) -> Plan {
    check(&tiny().manifest, text.as_bytes(), &[], None, |_| {}).unwrap()
}

fn score_text(bundle: &crate::Bundle, text: &str, decisions: Decisions) -> (Results, String) {
    let model = MixModel::new(bundle, &Device::flex());
    let plan = check(&bundle.manifest, text.as_bytes(), &[], None, |_| {}).unwrap();
    let mut out = Vec::new();
    let results = score(&model, &plan, text.as_bytes(), decisions, &mut out).unwrap();
    (results, String::from_utf8(out).unwrap())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-5 * b.abs().max(1e-3)
}

#[test]
fn a_clean_file_scores_every_row_like_the_model() {
    let bundle = tiny_ensemble();
    let text = "id,water,salt,oil,age,viscosity\nA,70,30,0,7,120\nB,0.5,0.25,0.25,28,\n";
    let plan = check(&bundle.manifest, text.as_bytes(), &[], None, |_| {}).unwrap();
    assert!(!plan.report.needs_decision(), "{:?}", plan.report);
    assert_eq!((plan.report.formulations, plan.report.clean), (2, 2));
    assert_eq!(plan.report.truth, ["viscosity"]);
    let (results, out) = score_text(&bundle, text, Decisions::default());
    let want = reference_predict(
        &bundle,
        &Batch {
            rows: 2,
            fractions: vec![0.7, 0.3, 0.0, 0.5, 0.25, 0.25],
            conditions: vec![7.0, 28.0],
        },
    );
    for r in 0..2 {
        for t in 0..2 {
            assert!(close(results.values[t][r], want.row(r)[t]));
            assert!(close(results.spread[t][r], want.spread_row(r)[t]));
        }
    }
    assert_eq!(results.ids, ["A", "B"]);
    assert_eq!(results.rows, [2, 3]);
    assert_eq!(results.truth, vec![vec![Some(120.0), None]]);
    assert_eq!(results.metrics.len(), 1);
    assert_eq!(results.metrics[0].n, 1);
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id,water,salt,oil,age,viscosity,viscosity_predicted,stable_predicted,\
         viscosity_spread,stable_spread,in_domain,domain_note,status"
    );
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&first[..6], ["A", "70", "30", "0", "7", "120"]);
    assert!(close(first[6].parse().unwrap(), want.row(0)[0]));
    assert_eq!(&first[10..], ["yes", "", "scored"]);
}

#[test]
fn semicolons_decimal_commas_bom_crlf_and_quotes_read_like_commas() {
    let bundle = tiny();
    let plain = "id,water,salt,age\nA,0.7,0.3,7\n\"B, two\",0.6,0.4,14\n";
    let local = "\u{feff}\"id\";\"water\";\"salt\";age\r\nA;0,7;0,3;7\r\n\"B, two\";0,6;0,4;14\r\n";
    let (a, _) = score_text(&bundle, plain, Decisions::default());
    let (b, out) = score_text(&bundle, local, Decisions::default());
    assert_eq!(a.ids, b.ids);
    assert_eq!(a.values, b.values);
    assert!(out.starts_with("id;water;salt;age;viscosity_predicted"));
    // Predictions are written with the file's decimal comma.
    let cell = out.lines().nth(1).unwrap().split(';').nth(4).unwrap();
    assert!(cell.contains(',') && !cell.contains('.'), "{cell}");
}

/// Every kind of problem, each at a known row and column.
const BAD: &str = "\
id,water,salt,slat,note,age
A,70,30,0,ok,7
B,60,30,10,ok,7
C,50,20,0,ok,7
D,-5,105,0,ok,7
E,abc,30,0,ok,7
F,70,30,0,ok,
A,70,30,0,ok,14
G,70,30
H,0,0,0,ok,7
";

#[test]
fn the_report_names_every_problem_with_its_row_and_column() {
    let plan = plan_of(BAD);
    let r = &plan.report;
    let listed = |kind: IssueKind| -> Vec<(usize, Option<usize>)> {
        r.groups
            .iter()
            .find(|g| g.kind == kind)
            .map(|g| g.listed.iter().map(|i| (i.row, i.column)).collect())
            .unwrap_or_default()
    };
    assert_eq!(listed(IssueKind::UnknownMaterial), [(3, Some(4))]);
    assert_eq!(listed(IssueKind::OffSum), [(4, None)]);
    assert_eq!(listed(IssueKind::Negative), [(5, Some(2))]);
    assert_eq!(listed(IssueKind::NotNumeric), [(6, Some(2))]);
    assert_eq!(listed(IssueKind::EmptyCell), [(7, Some(6))]);
    assert_eq!(listed(IssueKind::DuplicateId), [(8, Some(1))]);
    assert_eq!(listed(IssueKind::Malformed), [(9, None)]);
    assert_eq!(listed(IssueKind::ZeroSum), [(10, None)]);
    assert_eq!(r.unknown_materials.len(), 1);
    assert_eq!(r.unknown_materials[0].name, "slat");
    assert_eq!(r.unknown_materials[0].suggestions[0], "salt");
    assert_eq!(r.unknown_materials[0].formulations, 1);
    assert_eq!(r.carried, ["note"]);
    assert_eq!((r.lines, r.formulations, r.clean), (9, 9, 1));
    assert!(r.missing_conditions.is_empty());
    // The sum is judged with the unknown material counted: B sums to 100.
    assert_eq!(listed(IssueKind::OffSum).len(), 1);
}

#[test]
fn decisions_choose_which_rows_score_and_the_rest_are_listed_as_skipped() {
    let bundle = tiny();
    let (kept, out) = score_text(&bundle, BAD, Decisions::default());
    // A, B (slat dropped, renormalised), C (normalised), A again: 4 scored, 5 skipped.
    assert_eq!(kept.ids, ["A", "B", "C", "A"]);
    assert_eq!(kept.skipped, 5);
    // Dropping slat leaves water 60 : salt 30.
    let want = reference_predict(
        &bundle,
        &Batch {
            rows: 1,
            fractions: vec![60.0 / 90.0, 30.0 / 90.0, 0.0],
            conditions: vec![7.0],
        },
    );
    assert!(close(kept.values[0][1], want.row(0)[0]));
    let status: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap())
        .collect();
    assert_eq!(status[0], "scored");
    assert!(
        status[3].starts_with("skipped: negative amounts (column 2)"),
        "{}",
        status[3]
    );
    assert_eq!(out.lines().count(), 10, "every input row is in the output");

    let strict = Decisions {
        unknown: UnknownChoice::Skip,
        off_sum: SumChoice::Skip,
        duplicates: DuplicateChoice::Skip,
        fill: vec![],
    };
    let (only, _) = score_text(&bundle, BAD, strict);
    assert_eq!(only.ids, ["A"]);
    assert_eq!(only.skipped, 8);
}

#[test]
fn a_missing_condition_needs_a_value_and_is_filled_with_it() {
    let bundle = tiny();
    let text = "id,water,salt\nA,0.7,0.3\n";
    let plan = check(&bundle.manifest, text.as_bytes(), &[], None, |_| {}).unwrap();
    assert_eq!(plan.report.missing_conditions.len(), 1);
    assert_eq!(plan.report.missing_conditions[0].name, "age");
    assert!(plan.report.needs_decision());
    let model = MixModel::new(&bundle, &Device::flex());
    let err = score(
        &model,
        &plan,
        text.as_bytes(),
        Decisions::default(),
        Vec::new(),
    );
    assert_eq!(err.unwrap_err(), ScoreError::MissingCondition("age".into()));
    let fill = Decisions {
        fill: vec![("age".into(), 14.0)],
        ..Decisions::default()
    };
    let (r, _) = score_text(&bundle, text, fill);
    let want = reference_predict(
        &bundle,
        &Batch {
            rows: 1,
            fractions: vec![0.7, 0.3, 0.0],
            conditions: vec![14.0],
        },
    );
    assert!(close(r.values[0][0], want.row(0)[0]));
}

#[test]
fn a_long_file_scores_like_its_wide_twin() {
    let bundle = tiny();
    let long = "formulation_id,material,amount,age\nA,water,70,7\nB,water,50,14\nA,salt,30,7\nB,oil,25,\nB,oil,25,14\n";
    let wide = "id,water,salt,oil,age\nA,70,30,0,7\nB,50,0,50,14\n";
    let plan = plan_of(long);
    assert_eq!(plan.report.format, Format::Long);
    assert_eq!(plan.report.formulations, 2);
    assert!(!plan.report.needs_decision(), "{:?}", plan.report.groups);
    let (l, out) = score_text(&bundle, long, Decisions::default());
    let (w, _) = score_text(&bundle, wide, Decisions::default());
    assert_eq!(l.ids, w.ids);
    assert_eq!(l.rows, [2, 3]);
    assert_eq!(l.values, w.values);
    assert!(
        out.starts_with("formulation_id,age,viscosity_predicted"),
        "{out}"
    );

    let bad = "formulation_id,material,amount,age\nA,water,70,7\nA,saltt,30,7\nB,water,x,7\nC,water,1,7\nC,salt,1,8\n";
    let r = plan_of(bad).report;
    assert_eq!(r.unknown_materials[0].name, "saltt");
    assert_eq!(r.unknown_materials[0].column, Some(2));
    assert_eq!(r.count(IssueKind::NotNumeric), 1);
    assert_eq!(
        r.groups
            .iter()
            .find(|g| g.kind == IssueKind::Conflict)
            .unwrap()
            .listed[0]
            .row,
        6
    );
    assert_eq!((r.formulations, r.clean), (3, 0));
    let (s, _) = score_text(&bundle, bad, Decisions::default());
    assert_eq!(s.ids, ["A"]);
    assert_eq!(s.skipped, 2);
}

#[test]
fn the_report_lists_the_first_hundred_and_counts_all() {
    let mut text = String::from("id,water,salt,age\n");
    for i in 0..250 {
        text.push_str(&format!("r{i},-1,1,7\n"));
    }
    let r = plan_of(&text).report;
    let g = &r.groups[0];
    assert_eq!(
        (g.kind, g.count, g.listed.len()),
        (IssueKind::Negative, 250, LISTED)
    );
    assert_eq!(g.listed[99].row, 101);
}

#[test]
fn whole_file_problems_are_errors() {
    let m = tiny().manifest;
    let err = |t: &str| check(&m, t.as_bytes(), &[], None, |_| {}).err();
    assert_eq!(err(""), Some(ScoreError::Read(ReadError::NoHeader)));
    assert_eq!(err("id,water\n"), Some(ScoreError::Read(ReadError::NoRows)));
    assert_eq!(
        err("id,water,water\nA,1,1\n"),
        Some(ScoreError::Read(ReadError::DuplicateColumn {
            name: "water".into(),
            first: 2,
            column: 3
        }))
    );
}
