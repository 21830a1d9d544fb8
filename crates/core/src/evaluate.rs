//! The study's protocol: train on each split, then report errors on the Full data, the held-out
//! (Eval) rows and the Train rows, as mean ± std over splits, for a sweep of code lengths.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Device;
use crate::data::Dataset;
use crate::metrics::{Scores, Split, mean_std, predict_rows, scores_of};
use crate::model::MixModel;
use crate::train::{CurvePoint, TrainConfig, train_on_rows};
use crate::trust::{TargetTrust, Trust};

/// Scores of one split: target → subset ("full", "eval", "train") → scores.
pub type SplitScores = BTreeMap<String, BTreeMap<String, Scores>>;

/// What one split gives: its scores, member 0's learning curve (training loss and the loss on
/// the split's test rows, at every check) and the predictions of its held-out rows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SplitResult {
    pub scores: SplitScores,
    pub curve: Vec<CurvePoint>,
    #[serde(skip)]
    pub held_out: Vec<HeldOut>,
}

/// A held-out row's prediction: per target the ensemble mean and spread (target units).
#[derive(Clone, Debug, PartialEq)]
pub struct HeldOut {
    pub row: usize,
    pub values: Vec<f64>,
    pub spread: Vec<f64>,
}

/// Train once per split (same seed) and score each model on Full / Eval / Train rows.
/// `progress(split, step, loss)` reports training.
pub fn cross_validate(
    ds: &Dataset,
    cfg: &TrainConfig,
    splits: &[Split],
    mut progress: impl FnMut(usize, usize, f64),
) -> Vec<SplitResult> {
    let all: Vec<usize> = (0..ds.rows()).collect();
    splits
        .iter()
        .enumerate()
        .map(|(i, split)| {
            let (bundle, report) = train_on_rows(ds, cfg, &split.train, &split.test, |tick| {
                progress(i, tick.step, tick.loss)
            });
            let model = MixModel::new(&bundle, &Device::flex());
            // Every row predicted once; the subsets are scored from it.
            let pred = predict_rows(&model, ds, &all).ok();
            let mut scores = SplitScores::new();
            if let Some(p) = &pred {
                for (subset, rows) in [
                    ("full", &all),
                    ("eval", &split.test),
                    ("train", &split.train),
                ] {
                    let of_row = |i: usize, k: usize| p.row(rows[i])[k];
                    for (target, s) in scores_of(&model.manifest, ds, rows, of_row) {
                        scores
                            .entry(target)
                            .or_default()
                            .insert(subset.to_string(), s);
                    }
                }
            }
            let held_out = (pred.iter())
                .flat_map(|p| {
                    split.test.iter().map(|&row| HeldOut {
                        row,
                        values: p.row(row).to_vec(),
                        spread: p.spread_row(row).to_vec(),
                    })
                })
                .collect();
            SplitResult {
                scores,
                curve: report.curve,
                held_out,
            }
        })
        .collect()
}

/// The trust view of `results` (one per fold) on `ds`.
pub fn trust(ds: &Dataset, results: &[SplitResult]) -> Trust {
    let t = ds.targets.len();
    let targets = (ds.targets.iter().enumerate())
        .map(|(k, target)| {
            let per_fold = |f: fn(&Scores) -> f64| -> Vec<Option<f64>> {
                (results.iter())
                    .map(|r| {
                        let s = r.scores.get(&target.name)?.get("eval")?;
                        Some(f(s)).filter(|v| v.is_finite())
                    })
                    .collect()
            };
            let points: Vec<(f64, f64, f64, usize)> = (results.iter().enumerate())
                .flat_map(|(fold, r)| {
                    r.held_out.iter().filter_map(move |h| {
                        let y = ds.target_values[h.row * t + k];
                        y.is_finite().then(|| (y, h.values[k], h.spread[k], fold))
                    })
                })
                .collect();
            let has_spread = points.iter().any(|p| p.2 > 0.0);
            let within = |z: f64| {
                has_spread.then(|| {
                    let inside = points
                        .iter()
                        .filter(|p| (p.0 - p.1).abs() <= z * p.2)
                        .count();
                    inside as f64 / points.len().max(1) as f64
                })
            };
            TargetTrust {
                name: target.name.clone(),
                binary: target.kind == crate::bundle::TargetKind::Binary,
                fold_mae: per_fold(|s| s.mae),
                fold_rmse: per_fold(|s| s.rmse),
                fold_r2: per_fold(|s| s.r2),
                fold_roc_auc: per_fold(|s| s.roc_auc),
                within_1sd: within(1.0),
                within_2sd: within(2.0),
                points,
            }
        })
        .collect();
    Trust {
        folds: results.len(),
        targets,
        chosen: Vec::new(),
    }
}

/// The study's table as Markdown: one row per code length and target, each cell mean ± std
/// over splits; MAE on Full / Eval / Train, then RMSE and R² (or ROC-AUC) on Eval.
pub fn markdown_table(sweep: &[(usize, Vec<SplitResult>)]) -> String {
    let labelled: Vec<(String, &[SplitResult])> = (sweep.iter())
        .map(|(d, s)| (d.to_string(), s.as_slice()))
        .collect();
    markdown_table_labelled(&labelled)
}

/// [`markdown_table`] with any label in the first column ("auto" when each split chose its
/// own configuration).
pub fn markdown_table_labelled(sweep: &[(String, &[SplitResult])]) -> String {
    let mut md = String::from(
        "| d | target | Full MAE | Eval MAE | Train MAE | Eval RMSE | Eval R² | Eval ROC-AUC |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    let cell = |splits: &[SplitResult], target: &str, subset: &str, f: fn(&Scores) -> f64| {
        let values: Vec<f64> = splits
            .iter()
            .filter_map(|s| s.scores.get(target)?.get(subset).map(f))
            .collect();
        match mean_std(&values) {
            (m, _) if m.is_nan() => "–".to_string(),
            (m, s) => format!("{} ± {}", sig(m), sig(s)),
        }
    };
    let mut errors = String::new();
    for (d, splits) in sweep {
        let splits: &[SplitResult] = splits;
        let targets: Vec<String> = splits
            .first()
            .map(|s| s.scores.keys().cloned().collect())
            .unwrap_or_default();
        for t in &targets {
            md.push_str(&format!(
                "| {d} | {t} | {} | {} | {} | {} | {} | {} |\n",
                cell(splits, t, "full", |s| s.mae),
                cell(splits, t, "eval", |s| s.mae),
                cell(splits, t, "train", |s| s.mae),
                cell(splits, t, "eval", |s| s.rmse),
                cell(splits, t, "eval", |s| s.r2),
                cell(splits, t, "eval", |s| s.roc_auc),
            ));
            // The literature's form (standard splits): mean ± standard error of the mean.
            let rmse: Vec<f64> = (splits.iter())
                .filter_map(|s| s.scores.get(t)?.get("eval").map(|x| x.rmse))
                .collect();
            let (m, sd) = mean_std(&rmse);
            if rmse.len() > 1 && m.is_finite() {
                let se = sd / (rmse.len() as f64).sqrt();
                errors.push_str(&format!(
                    "d={d} {t}: Eval RMSE {} ± {} (mean ± standard error over {} splits)\n",
                    sig(m),
                    sig(se),
                    rmse.len()
                ));
            }
        }
    }
    if !errors.is_empty() {
        md.push('\n');
        md.push_str(&errors);
    }
    md
}

/// Four significant digits.
fn sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 8) as usize;
    format!("{v:.digits$}")
}

/// [`cross_validate`] with each split's configuration chosen by [`crate::auto::choose`] on
/// that split's training rows only (never its test rows), starting from `cfg`.
/// `progress(split, message)` reports the search and the training.
#[allow(clippy::too_many_arguments)]
pub fn cross_validate_auto(
    ds: &Dataset,
    cfg: &TrainConfig,
    splits: &[Split],
    metric: crate::auto::AutoMetric,
    budget: f64,
    now: impl Fn() -> f64,
    mut progress: impl FnMut(usize, String),
) -> Vec<(SplitResult, crate::auto::AutoReport)> {
    splits
        .iter()
        .enumerate()
        .map(|(i, split)| {
            let (chosen, report) =
                crate::auto::choose(ds, &split.train, cfg, metric, budget, &now, |p| {
                    progress(
                        i,
                        format!("choosing {}/{}: {}", p.trial + 1, p.total, p.change),
                    )
                });
            let result = cross_validate(ds, &chosen, std::slice::from_ref(split), |_, step, _| {
                progress(i, format!("training the chosen model, step {step}"))
            });
            (
                result.into_iter().next().expect("one split in, one out"),
                report,
            )
        })
        .collect()
}

/// Evaluate a sweep of code lengths with the same splits.
pub fn sweep_code_dims(
    ds: &Dataset,
    cfg: &TrainConfig,
    code_dims: &[usize],
    splits: &[Split],
    mut progress: impl FnMut(usize, usize, usize, f64),
) -> Vec<(usize, Vec<SplitResult>)> {
    code_dims
        .iter()
        .map(|&d| {
            let cfg = TrainConfig {
                code_dim: d,
                ..cfg.clone()
            };
            (
                d,
                cross_validate(ds, &cfg, splits, |s, step, loss| progress(d, s, step, loss)),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::TargetKind;
    use crate::bundle::Transform;
    use crate::data::TargetSpec;
    use crate::metrics::random_splits;
    use crate::rng::Rng;

    fn dataset() -> Dataset {
        let mut rng = Rng::new(9);
        let mut ds = Dataset::new(
            vec!["a".into(), "b".into(), "c".into(), "d".into()],
            vec![],
            vec![TargetSpec {
                name: "y".into(),
                kind: TargetKind::Regression,
                transform: Transform::None,
            }],
        );
        for i in 0..120 {
            let f: Vec<f64> = (0..4).map(|_| rng.uniform()).collect();
            let s: f64 = f.iter().sum();
            let f: Vec<f32> = f.iter().map(|x| (x / s) as f32).collect();
            let y = 4.0 * f64::from(f[0]) - 3.0 * f64::from(f[2]);
            ds.push_row(format!("r{i}"), &f, &[], &[y]);
        }
        ds
    }

    #[test]
    fn protocol_reports_full_eval_train_and_a_table() {
        let ds = dataset();
        let cfg = TrainConfig {
            hidden: vec![16],
            steps: 300,
            batch_size: 32,
            learning_rate: 1e-2,
            validation_fraction: 0.0,
            ..TrainConfig::default()
        };
        let splits = random_splits(ds.rows(), None, 2, 0.2, 1);
        let sweep = sweep_code_dims(&ds, &cfg, &[2, 4], &splits, |_, _, _, _| {});
        assert_eq!(sweep.len(), 2);
        for (_, per_split) in &sweep {
            assert_eq!(per_split.len(), 2);
            for (s, split) in per_split.iter().zip(&splits) {
                let y = &s.scores["y"];
                assert_eq!(y["eval"].rows, split.test.len());
                assert_eq!(y["train"].rows, split.train.len());
                assert_eq!(y["full"].rows, 120);
                // Learned: far better than the target's spread (~1), and R² well above 0.
                assert!(y["eval"].mae < 0.3, "eval MAE {}", y["eval"].mae);
                assert!(y["eval"].r2 > 0.6, "eval R² {}", y["eval"].r2);
                assert!(y["eval"].roc_auc.is_nan());
                // A learning curve with the held-out loss, falling from the start.
                assert_eq!(s.curve.len(), 300 / crate::train::CHECK_EVERY);
                let test_loss: Vec<f64> = s.curve.iter().filter_map(|p| p.monitor).collect();
                assert_eq!(test_loss.len(), s.curve.len());
                assert!(
                    test_loss[test_loss.len() - 1] < 0.5 * test_loss[0],
                    "{test_loss:?}"
                );
            }
        }
        let md = markdown_table(&sweep);
        // The table (header, rule, a row per code length), then RMSE ± standard error per row.
        assert_eq!(md.lines().take_while(|l| l.starts_with('|')).count(), 2 + 2);
        assert_eq!(
            md.lines()
                .filter(|l| l.contains("(mean ± standard error over"))
                .count(),
            2,
            "{md}"
        );
        assert!(md.lines().nth(2).unwrap().starts_with("| 2 | y | "), "{md}");
        assert!(md.contains(" ± "));
    }

    #[test]
    fn binary_scores_use_auc_and_accuracy() {
        let mut ds = dataset();
        ds.targets[0].kind = TargetKind::Binary;
        ds.target_values = (0..120).map(|i| f64::from(u8::from(i % 2 == 0))).collect();
        let (bundle, _) = train_on_rows(
            &ds,
            &TrainConfig {
                steps: 5,
                hidden: vec![4],
                ..TrainConfig::default()
            },
            &(0..100).collect::<Vec<_>>(),
            &[],
            |_| {},
        );
        let model = MixModel::new(&bundle, &Device::flex());
        let s = crate::metrics::score_rows(&model, &ds, &(100..120).collect::<Vec<_>>())["y"];
        assert_eq!(s.rows, 20);
        assert!((0.0..=1.0).contains(&s.roc_auc) && (0.0..=1.0).contains(&s.accuracy));
        assert!(s.r2.is_nan());
    }
}
