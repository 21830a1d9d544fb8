//! Automatic configuration (`mixlab train --auto`, `evaluate --auto`, the New model page's
//! "automatic" option): a greedy search over the options that matter most, each candidate
//! scored on held-out rows of the training data only — never a test fold.
//!
//! Why greedy, one option at a time, in a fixed order: a full grid of the six choices is about
//! a hundred trainings, far beyond a 10-minute budget on two cores, and the options interact
//! weakly enough that a pass from the defaults finds most of the gain (docs/model-quality.md
//! lists what it chose per dataset). Each candidate is a single member; the final model gets
//! the members asked for.

use serde::Serialize;

use crate::bundle::{LossKind, TargetKind};
use crate::data::Dataset;
use crate::metrics::{Split, kfold_splits, predict_rows, random_splits, scores_of};
use crate::model::MixModel;
use crate::train::{TrainConfig, train_on_rows};
pub use crate::train_setup::AutoMetric;

/// Datasets up to this many rows are scored by 3-fold cross-validation of the training rows
/// (one split of a few hundred rows is too noisy to choose by); larger ones by one 80/20 split.
pub const INNER_FOLDS_UP_TO: usize = 600;

/// A change is kept only when it beats the current best by more than this share of its score:
/// held-out scores on a few hundred rows move by about that much from seed to seed, and chasing
/// such noise picks a different configuration for every split.
pub const MARGIN: f64 = 0.01;

/// One candidate tried.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trial {
    /// What differs from the best so far ("start" for the first).
    pub change: String,
    pub score: f64,
    /// It became the best.
    pub kept: bool,
}

/// The search's record (written into the bundle's training record and `evaluate`'s report).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AutoReport {
    pub metric: AutoMetric,
    /// "3-fold" or "80/20" of the training rows.
    pub inner: String,
    pub trials: Vec<Trial>,
    /// The chosen options, as `mixlab train` flags.
    pub chosen: Vec<String>,
    pub seconds: f64,
    /// Candidates left untried because the time budget ran out.
    pub untried: usize,
}

impl AutoReport {
    /// Put the search on the bundle's training record (`training.auto`), where the page and
    /// the CLI read it.
    pub fn record(&self, m: &mut crate::bundle::Manifest) {
        m.training.insert(
            "auto".into(),
            serde_json::to_value(self).unwrap_or_default(),
        );
    }
}

/// Progress of the search: candidate `trial` of at most `total`, what it changes, and the
/// training step within it.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoProgress<'a> {
    pub trial: usize,
    pub total: usize,
    pub change: &'a str,
    pub step: usize,
    pub steps: usize,
}

/// A candidate's change to a configuration.
type Change = (String, fn(&mut TrainConfig, f64), f64);

/// The options tried, in order, as alternatives to the current best. Steps are doubled at most
/// twice (the second only if the first helped).
fn stages(base: &TrainConfig, has_regression: bool) -> Vec<Vec<Change>> {
    // Turning a switch the other way, named by what the candidate has.
    let toggle = |on: bool, name: &str, flip: fn(&mut TrainConfig, f64)| -> Vec<Change> {
        let label = if on {
            format!("no {name}")
        } else {
            name.to_string()
        };
        vec![(label, flip, 0.0)]
    };
    let mut log_dose = toggle(base.log_dose, "log-dose block", |c, _| {
        c.log_dose = !c.log_dose
    });
    if !base.log_dose && base.dropout == 0.0 {
        // The block doubles the codes and overfits small data without dropout (steels: Train MAE
        // 20 against 63), so it is also tried with some: one at a time would never pair them.
        log_dose.push((
            "log-dose block, dropout 0.1".into(),
            |c, _| {
                c.log_dose = true;
                c.dropout = 0.1;
            },
            0.0,
        ));
    }
    let mut s: Vec<Vec<Change>> = vec![
        log_dose,
        toggle(base.dose_scale, "dose scale", |c, _| {
            c.dose_scale = !c.dose_scale
        }),
        [4.0, 8.0, 16.0]
            .into_iter()
            .filter(|&d| d as usize != base.code_dim)
            .map(|d| -> Change {
                (
                    format!("code length {d}"),
                    |c, v| c.code_dim = v as usize,
                    d,
                )
            })
            .collect(),
        [0.0, 0.1, 0.2]
            .into_iter()
            .filter(|&p| p != base.dropout)
            .map(|p| -> Change { (format!("dropout {p}"), |c, v| c.dropout = v, p) })
            .collect(),
        [64.0, 128.0]
            .into_iter()
            .filter(|&w| base.hidden != [w as usize, w as usize])
            .map(|w| -> Change {
                (
                    format!("hidden {w},{w}"),
                    |c, v| c.hidden = vec![v as usize, v as usize],
                    w,
                )
            })
            .collect(),
    ];
    if has_regression {
        let label = if base.loss == LossKind::L1 {
            "loss mse"
        } else {
            "loss l1"
        };
        s.push(vec![(
            label.into(),
            |c, _| {
                c.loss = if c.loss == LossKind::L1 {
                    LossKind::Mse
                } else {
                    LossKind::L1
                }
            },
            0.0,
        )]);
    }
    s
}

/// The options as `mixlab train` flags (those the search may change).
pub fn flags(c: &TrainConfig) -> Vec<String> {
    let mut f = vec![
        format!("--code-dim={}", c.code_dim),
        format!(
            "--hidden={}",
            (c.hidden.iter().map(usize::to_string))
                .collect::<Vec<_>>()
                .join(",")
        ),
        format!("--dropout={}", c.dropout),
        format!("--loss={}", format!("{:?}", c.loss).to_lowercase()),
        format!("--steps={}", c.steps),
    ];
    if c.dose_scale {
        f.push("--dose-scale".into());
    }
    if c.log_dose {
        f.push("--log-dose".into());
    }
    f
}

/// The held-out score of `cfg` trained on `inner` splits of the rows.
fn score(
    ds: &Dataset,
    cfg: &TrainConfig,
    inner: &[Split],
    metric: AutoMetric,
    spreads: &[f64],
    mut on_step: impl FnMut(usize),
) -> f64 {
    let mut total = 0.0;
    let mut count = 0usize;
    for (i, split) in inner.iter().enumerate() {
        let (bundle, _) = train_on_rows(ds, cfg, &split.train, &[], |tick| {
            on_step(i * cfg.steps + tick.step)
        });
        let model = MixModel::new(&bundle, &crate::Device::flex());
        let Ok(pred) = predict_rows(&model, ds, &split.test) else {
            return f64::INFINITY;
        };
        let scores = scores_of(&model.manifest, ds, &split.test, |i, k| pred.row(i)[k]);
        for (k, target) in model.manifest.targets.iter().enumerate() {
            let Some(s) = scores.get(&target.name) else {
                continue;
            };
            let v = match target.kind {
                TargetKind::Binary => 1.0 - s.roc_auc,
                TargetKind::Regression => {
                    let e = match metric {
                        AutoMetric::Mae => s.mae,
                        AutoMetric::Rmse => s.rmse,
                    };
                    e / spreads[k]
                }
            };
            if v.is_finite() {
                total += v;
                count += 1;
            }
        }
    }
    if count == 0 {
        f64::INFINITY
    } else {
        total / count as f64
    }
}

/// The inner splits of `rows` (indices into the dataset), seeded.
fn inner_splits(rows: &[usize], seed: u64) -> (Vec<Split>, String) {
    let local = |s: Split| Split {
        train: s.train.iter().map(|&i| rows[i]).collect(),
        test: s.test.iter().map(|&i| rows[i]).collect(),
    };
    if rows.len() <= INNER_FOLDS_UP_TO {
        let splits = kfold_splits(rows.len(), None, 3, seed);
        (splits.into_iter().map(local).collect(), "3-fold".into())
    } else {
        let splits = random_splits(rows.len(), None, 1, 0.2, seed);
        (splits.into_iter().map(local).collect(), "80/20".into())
    }
}

/// Choose a configuration for training on `rows` of `ds`, starting from `base` (its members,
/// seed, descriptors and other options are kept). `now()` is a clock in seconds (the caller's:
/// wasm has no `Instant`); no candidate starts once `budget` seconds have passed.
pub fn choose(
    ds: &Dataset,
    rows: &[usize],
    base: &TrainConfig,
    metric: AutoMetric,
    budget: f64,
    now: impl Fn() -> f64,
    mut progress: impl FnMut(&AutoProgress),
) -> (TrainConfig, AutoReport) {
    let started = now();
    let (inner, inner_name) = inner_splits(rows, base.seed ^ 0xA070);
    let t = ds.targets.len();
    // Each regression target's spread over the rows (in its units), to put targets on a par.
    let spreads: Vec<f64> = (0..t)
        .map(|k| {
            let v: Vec<f64> = rows
                .iter()
                .map(|&r| ds.target_values[r * t + k])
                .filter(|v| v.is_finite())
                .collect();
            let (_, sd) = crate::metrics::mean_std(&v);
            if sd > 0.0 { sd } else { 1.0 }
        })
        .collect();
    let has_regression = (ds.targets.iter()).any(|tg| tg.kind == TargetKind::Regression);
    let single = |c: &TrainConfig| TrainConfig {
        members: 1,
        snapshot_steps: Vec::new(),
        ..c.clone()
    };
    let stages = stages(base, has_regression);
    // Start, the stages' alternatives, and up to two doublings of the steps.
    let total = 1 + stages.iter().map(Vec::len).sum::<usize>() + 2;
    let mut trial = 0usize;
    let mut trials: Vec<Trial> = Vec::new();
    let mut evaluate = |cfg: &TrainConfig, change: &str, trial: usize| {
        let steps = cfg.steps * inner.len();
        score(ds, &single(cfg), &inner, metric, &spreads, |step| {
            progress(&AutoProgress {
                trial,
                total,
                change,
                step,
                steps,
            })
        })
    };
    let mut best = base.clone();
    let mut best_score = evaluate(&best, "start", trial);
    trials.push(Trial {
        change: "start".into(),
        score: best_score,
        kept: true,
    });
    let mut untried = 0;
    let out_of_time = |now: f64| now - started > budget;
    for stage in stages {
        // Alternatives of one option are compared with each other and the current best.
        let mut stage_best: Option<(TrainConfig, f64, usize)> = None;
        for (label, apply, value) in stage {
            if out_of_time(now()) {
                untried += 1;
                continue;
            }
            trial += 1;
            let mut cand = best.clone();
            apply(&mut cand, value);
            let s = evaluate(&cand, &label, trial);
            trials.push(Trial {
                change: label,
                score: s,
                kept: false,
            });
            let to_beat = stage_best
                .as_ref()
                .map_or(best_score * (1.0 - MARGIN), |b| b.1);
            if s < to_beat {
                stage_best = Some((cand, s, trials.len() - 1));
            }
        }
        if let Some((cand, s, at)) = stage_best {
            best = cand;
            best_score = s;
            trials[at].kept = true;
        }
    }
    for _ in 0..2 {
        if out_of_time(now()) {
            untried += 1;
            break;
        }
        trial += 1;
        let cand = TrainConfig {
            steps: best.steps * 2,
            ..best.clone()
        };
        let label = format!("steps {}", cand.steps);
        let s = evaluate(&cand, &label, trial);
        let kept = s < best_score * (1.0 - MARGIN);
        trials.push(Trial {
            change: label,
            score: s,
            kept,
        });
        if !kept {
            break;
        }
        best = cand;
        best_score = s;
    }
    let report = AutoReport {
        metric,
        inner: inner_name,
        trials,
        chosen: flags(&best),
        seconds: now() - started,
        untried,
    };
    (best, report)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bundle::Transform;
    use crate::data::TargetSpec;
    use crate::rng::Rng;

    /// y = ln(1 + trace / 1e-3): a trace material whose effect saturates over 2.5 decades of
    /// dose (absent from every sixth row), which the log-dose block should learn.
    pub(crate) fn saturating() -> Dataset {
        let target = TargetSpec {
            name: "y".into(),
            kind: TargetKind::Regression,
            transform: Transform::None,
        };
        let mut ds = Dataset::new(vec!["base".into(), "trace".into()], vec![], vec![target]);
        let mut rng = Rng::new(9);
        for r in 0..240 {
            let trace = if r % 6 == 0 {
                0.0
            } else {
                10f64.powf(-4.0 + 2.5 * rng.uniform())
            };
            let y = (1.0 + trace / 1e-3).ln();
            ds.push_row(
                format!("r{r}"),
                &[(1.0 - trace) as f32, trace as f32],
                &[],
                &[y],
            );
        }
        ds
    }

    #[test]
    fn the_search_scores_on_training_rows_only_and_keeps_what_helps() {
        let ds = saturating();
        let rows: Vec<usize> = (0..200).collect();
        let base = TrainConfig {
            code_dim: 2,
            hidden: vec![16],
            steps: 300,
            learning_rate: 1e-2,
            members: 3,
            ..TrainConfig::default()
        };
        let mut seen_steps = 0;
        let (chosen, report) = choose(
            &ds,
            &rows,
            &base,
            AutoMetric::Mae,
            f64::INFINITY,
            || 0.0,
            |p| seen_steps = seen_steps.max(p.step),
        );
        assert_eq!(report.inner, "3-fold");
        assert!(seen_steps > 0);
        assert_eq!(chosen.members, 3, "the members asked for are kept");
        assert!(chosen.log_dose, "{:?}", report.trials);
        let kept: Vec<&Trial> = report.trials.iter().filter(|t| t.kept).collect();
        assert!(
            kept.windows(2).all(|w| w[1].score < w[0].score),
            "each kept change improved the score: {:?}",
            report.trials
        );
        assert!(report.chosen.contains(&"--log-dose".to_string()));
        // Deterministic for a seed.
        let (again, _) = choose(
            &ds,
            &rows,
            &base,
            AutoMetric::Mae,
            f64::INFINITY,
            || 0.0,
            |_| {},
        );
        assert_eq!(again, chosen);
        // A spent budget tries nothing beyond the start.
        let clock = std::cell::Cell::new(0.0);
        let (same, cut) = choose(
            &ds,
            &rows,
            &base,
            AutoMetric::Mae,
            1.0,
            || {
                clock.set(clock.get() + 10.0);
                clock.get()
            },
            |_| {},
        );
        assert_eq!(same, base);
        assert_eq!(cut.trials.len(), 1);
        assert!(cut.untried > 0);
    }
}
