//! Error metrics and data splits for the evaluation protocol (k random splits, given folds,
//! or group splits where rows of one group must not straddle train and test).

#[cfg(any(not(target_arch = "wasm32"), feature = "train"))]
use std::collections::BTreeMap;

use serde::Serialize;

use crate::rng::Rng;
#[cfg(any(not(target_arch = "wasm32"), feature = "train"))]
use crate::{bundle::TargetKind, data::Dataset, model::MixModel};

/// Mean absolute error over pairs `(prediction, truth)`; NaN for no pairs.
pub fn mae(pairs: &[(f64, f64)]) -> f64 {
    mean(pairs.iter().map(|(p, y)| (p - y).abs()))
}

/// Root mean squared error.
pub fn rmse(pairs: &[(f64, f64)]) -> f64 {
    mean(pairs.iter().map(|(p, y)| (p - y).powi(2))).sqrt()
}

/// Coefficient of determination, 1 − SS_res / SS_tot (NaN when the truth is constant).
pub fn r2(pairs: &[(f64, f64)]) -> f64 {
    let my = mean(pairs.iter().map(|(_, y)| *y));
    let ss_tot: f64 = pairs.iter().map(|(_, y)| (y - my).powi(2)).sum();
    let ss_res: f64 = pairs.iter().map(|(p, y)| (y - p).powi(2)).sum();
    if ss_tot == 0.0 {
        f64::NAN
    } else {
        1.0 - ss_res / ss_tot
    }
}

/// Area under the ROC curve for scores against 0/1 labels (ties count half); NaN when only
/// one class is present.
pub fn roc_auc(pairs: &[(f64, f64)]) -> f64 {
    let mut v: Vec<(f64, bool)> = pairs.iter().map(|&(s, y)| (s, y >= 0.5)).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = v.iter().filter(|(_, y)| *y).count() as f64;
    let negatives = v.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return f64::NAN;
    }
    // Sum of the (average) ranks of the positives: the Mann–Whitney U statistic.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1].0 == v[i].0 {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg_rank * v[i..=j].iter().filter(|(_, y)| *y).count() as f64;
        i = j + 1;
    }
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// One train/test partition of row indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// `k` independent random splits with `test_fraction` of the rows held out, keeping every
/// group (rows with equal `groups[i]`) on one side. `groups = None` puts each row alone.
pub fn random_splits(
    rows: usize,
    groups: Option<&[String]>,
    k: usize,
    test_fraction: f64,
    seed: u64,
) -> Vec<Split> {
    let members = group_members(rows, groups);
    let mut rng = Rng::new(seed);
    (0..k)
        .map(|_| {
            let mut order: Vec<usize> = (0..members.len()).collect();
            rng.shuffle(&mut order);
            let want = ((rows as f64) * test_fraction).round() as usize;
            let mut test = Vec::new();
            for &g in &order {
                if test.len() >= want.max(1) {
                    break;
                }
                test.extend_from_slice(&members[g]);
            }
            finish(rows, test)
        })
        .collect()
}

/// `k`-fold cross-validation: every row is held out exactly once. Groups (rows with equal
/// `groups[i]`) are shuffled by `seed` and each goes whole to the fold with the fewest rows so
/// far, so folds differ in size by at most one group.
pub fn kfold_splits(rows: usize, groups: Option<&[String]>, k: usize, seed: u64) -> Vec<Split> {
    let members = group_members(rows, groups);
    let k = k.clamp(1, members.len().max(1));
    let mut order: Vec<usize> = (0..members.len()).collect();
    Rng::new(seed).shuffle(&mut order);
    let mut folds: Vec<Vec<usize>> = vec![Vec::new(); k];
    for g in order {
        let smallest = (0..k).min_by_key(|&f| folds[f].len()).unwrap_or(0);
        folds[smallest].extend_from_slice(&members[g]);
    }
    folds.into_iter().map(|test| finish(rows, test)).collect()
}

/// Splits from given fold labels: fold `f` is the test set of split `f`.
pub fn fold_splits(fold_of_row: &[usize]) -> Vec<Split> {
    let folds = fold_of_row.iter().copied().max().map_or(0, |m| m + 1);
    (0..folds)
        .map(|f| {
            let test = (0..fold_of_row.len())
                .filter(|&r| fold_of_row[r] == f)
                .collect();
            finish(fold_of_row.len(), test)
        })
        .collect()
}

/// Splits from given test sets: every other row trains.
pub fn test_set_splits(rows: usize, tests: Vec<Vec<usize>>) -> Vec<Split> {
    tests.into_iter().map(|t| finish(rows, t)).collect()
}

fn group_members(rows: usize, groups: Option<&[String]>) -> Vec<Vec<usize>> {
    match groups {
        None => (0..rows).map(|r| vec![r]).collect(),
        Some(g) => {
            let mut index: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
            for (r, key) in g.iter().enumerate().take(rows) {
                index.entry(key.as_str()).or_default().push(r);
            }
            index.into_values().collect()
        }
    }
}

fn finish(rows: usize, mut test: Vec<usize>) -> Split {
    test.sort_unstable();
    let mut is_test = vec![false; rows];
    test.iter().for_each(|&r| is_test[r] = true);
    Split {
        train: (0..rows).filter(|&r| !is_test[r]).collect(),
        test,
    }
}

/// Mean and (population) standard deviation of the finite values.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64;
    (m, var.sqrt())
}

/// Errors of one target on one set of rows (NaN where a metric does not apply).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Scores {
    pub rows: usize,
    pub mae: f64,
    pub rmse: f64,
    pub r2: f64,
    /// Binary targets only.
    pub roc_auc: f64,
    pub accuracy: f64,
}

/// `model`'s predictions of `rows` of `ds` (a blocking readback), in chunks of at most about
/// 4 million dense fractions (16 MB): a study-scale table (30,000 recipes × 5,400 materials)
/// would otherwise be one 650 MB matrix.
#[cfg(any(not(target_arch = "wasm32"), feature = "train"))]
pub fn predict_rows(
    model: &MixModel,
    ds: &Dataset,
    rows: &[usize],
) -> Result<crate::model::Prediction, crate::model::PredictError> {
    let chunk = ((1 << 22) / ds.materials.len().max(1)).max(1);
    let mut out = crate::model::Prediction {
        rows: 0,
        targets: model.manifest.targets.len(),
        values: Vec::new(),
        spread: Vec::new(),
    };
    for part in rows.chunks(chunk) {
        let p = model.predict(&ds.batch(part))?;
        out.rows += p.rows;
        out.values.extend(p.values);
        out.spread.extend(p.spread);
    }
    Ok(out)
}

/// Scores of every target of `model` on `rows` of `ds` (a blocking prediction); targets with no
/// measured value in those rows are left out.
#[cfg(any(not(target_arch = "wasm32"), feature = "train"))]
pub fn score_rows(model: &MixModel, ds: &Dataset, rows: &[usize]) -> BTreeMap<String, Scores> {
    if rows.is_empty() {
        return BTreeMap::new();
    }
    let Ok(pred) = predict_rows(model, ds, rows) else {
        return BTreeMap::new();
    };
    scores_of(&model.manifest, ds, rows, |i, k| pred.row(i)[k])
}

/// Scores of `manifest`'s targets on `rows` of `ds`, `predicted(i, k)` being the prediction of
/// target `k` for `rows[i]` (made once, scored on several subsets by `evaluate`).
#[cfg(any(not(target_arch = "wasm32"), feature = "train"))]
pub fn scores_of(
    manifest: &crate::bundle::Manifest,
    ds: &Dataset,
    rows: &[usize],
    predicted: impl Fn(usize, usize) -> f64,
) -> BTreeMap<String, Scores> {
    let t = ds.targets.len();
    let mut out = BTreeMap::new();
    for (k, target) in manifest.targets.iter().enumerate() {
        let pairs: Vec<(f64, f64)> = rows
            .iter()
            .enumerate()
            .map(|(i, &r)| (predicted(i, k), ds.target_values[r * t + k]))
            .filter(|(_, y)| y.is_finite())
            .collect();
        if pairs.is_empty() {
            continue;
        }
        let binary = target.kind == TargetKind::Binary;
        let accuracy = pairs
            .iter()
            .filter(|(p, y)| (*p >= 0.5) == (*y >= 0.5))
            .count() as f64
            / pairs.len() as f64;
        out.insert(
            target.name.clone(),
            Scores {
                rows: pairs.len(),
                mae: mae(&pairs),
                rmse: rmse(&pairs),
                r2: if binary { f64::NAN } else { r2(&pairs) },
                roc_auc: if binary { roc_auc(&pairs) } else { f64::NAN },
                accuracy: if binary { accuracy } else { f64::NAN },
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kfold_holds_out_every_row_once_and_keeps_groups_whole() {
        let splits = kfold_splits(23, None, 5, 3);
        assert_eq!(splits.len(), 5);
        let mut seen: Vec<usize> = splits.iter().flat_map(|s| s.test.clone()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..23).collect::<Vec<_>>());
        assert!(
            splits
                .iter()
                .all(|s| (4..=5).contains(&s.test.len()) && s.train.len() + s.test.len() == 23)
        );
        assert_eq!(splits, kfold_splits(23, None, 5, 3), "seeded");
        let groups: Vec<String> = (0..20).map(|r| format!("g{}", r / 4)).collect();
        for s in kfold_splits(20, Some(&groups), 3, 1) {
            for g in s.test.iter().map(|&r| &groups[r]) {
                assert!(
                    s.train.iter().all(|&r| &groups[r] != g),
                    "group {g} straddles"
                );
            }
        }
        assert_eq!(
            kfold_splits(3, None, 10, 1).len(),
            3,
            "no more folds than rows"
        );
    }

    #[test]
    fn regression_metrics_on_known_values() {
        let pairs = [(1.0, 2.0), (2.0, 2.0), (5.0, 3.0)];
        assert!((mae(&pairs) - 1.0).abs() < 1e-12);
        assert!((rmse(&pairs) - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        // Truth mean 7/3: SS_tot = 1/9 + 1/9 + 4/9 = 2/3, SS_res = 1 + 0 + 4 = 5.
        assert!((r2(&pairs) - (1.0 - 5.0 / (2.0 / 3.0))).abs() < 1e-12);
        assert!(mae(&[]).is_nan());
    }

    #[test]
    fn auc_matches_hand_counts_and_handles_ties() {
        // Perfect ranking, inverse ranking, and all tied.
        assert_eq!(
            roc_auc(&[(0.1, 0.0), (0.4, 0.0), (0.35, 1.0), (0.8, 1.0)]),
            0.75
        );
        assert_eq!(roc_auc(&[(0.9, 0.0), (0.1, 1.0)]), 0.0);
        assert_eq!(roc_auc(&[(0.5, 0.0), (0.5, 1.0), (0.5, 1.0)]), 0.5);
        assert!(roc_auc(&[(0.5, 1.0)]).is_nan());
    }

    #[test]
    fn group_splits_never_straddle_and_are_seeded() {
        let groups: Vec<String> = (0..100).map(|r| format!("mix{}", r / 4)).collect();
        let splits = random_splits(100, Some(&groups), 5, 0.1, 3);
        assert_eq!(splits.len(), 5);
        for s in &splits {
            assert_eq!(s.train.len() + s.test.len(), 100);
            assert!(s.test.len() >= 8 && s.test.len() <= 12, "{}", s.test.len());
            for &t in &s.test {
                assert!(s.train.iter().all(|&r| groups[r] != groups[t]));
            }
        }
        assert_eq!(splits, random_splits(100, Some(&groups), 5, 0.1, 3));
        assert_ne!(splits, random_splits(100, Some(&groups), 5, 0.1, 4));
    }

    #[test]
    fn fold_splits_cover_every_row_once() {
        let folds = [0, 1, 2, 0, 1, 2, 2];
        let splits = fold_splits(&folds);
        assert_eq!(splits.len(), 3);
        let mut tested: Vec<usize> = splits.iter().flat_map(|s| s.test.clone()).collect();
        tested.sort_unstable();
        assert_eq!(tested, (0..7).collect::<Vec<_>>());
        assert_eq!(splits[2].test, vec![2, 5, 6]);
    }
}
