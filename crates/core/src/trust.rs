//! What cross-validation says of a model (the app's trust view, `mixlab evaluate --kfold`):
//! the held-out errors per fold, every held-out point, and the calibration of the ensemble
//! spread. Built by `evaluate::trust`; plain data here, so the page can hold it without the
//! trainer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How far a model can be trusted, from cross-validation: per target the held-out errors as
/// mean ± std over folds, each fold's error, every held-out point for a parity plot, and how
/// often the truth lies within one and two ensemble spreads of the prediction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trust {
    pub folds: usize,
    pub targets: Vec<TargetTrust>,
    /// With the automatic configuration: what each fold chose (as `mixlab train` flags).
    #[serde(default)]
    pub chosen: Vec<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetTrust {
    pub name: String,
    pub binary: bool,
    /// Held-out (Eval) MAE, RMSE, R² and ROC-AUC per fold (`None` where it does not apply).
    pub fold_mae: Vec<Option<f64>>,
    pub fold_rmse: Vec<Option<f64>>,
    pub fold_r2: Vec<Option<f64>>,
    pub fold_roc_auc: Vec<Option<f64>>,
    /// (measured, predicted, spread, fold) of every held-out row with a measured value.
    pub points: Vec<(f64, f64, f64, usize)>,
    /// Share of points whose measured value is within ±1 and ±2 spreads of the prediction;
    /// `None` when there is no spread (one member).
    pub within_1sd: Option<f64>,
    pub within_2sd: Option<f64>,
}

impl TargetTrust {
    /// Mean and standard deviation over folds of a per-fold figure.
    pub fn summary(values: &[Option<f64>]) -> (f64, f64) {
        let finite: Vec<f64> = values.iter().flatten().copied().collect();
        crate::metrics::mean_std(&finite)
    }
}

impl Trust {
    /// The figures as model-card metrics: `<target>.cv.<metric>` with the mean over folds
    /// (`value`), their standard deviation and the number of folds; calibration as `within_1sd`
    /// and `within_2sd` shares.
    pub fn add_to_metrics(&self, metrics: &mut BTreeMap<String, serde_json::Value>) {
        for t in &self.targets {
            let figures: [(&str, &[Option<f64>]); 4] = [
                ("mae", &t.fold_mae),
                ("rmse", &t.fold_rmse),
                ("r2", &t.fold_r2),
                ("roc_auc", &t.fold_roc_auc),
            ];
            for (name, values) in figures {
                let (mean, std) = TargetTrust::summary(values);
                if mean.is_finite() {
                    metrics.insert(
                        format!("{}.cv.{name}", t.name),
                        serde_json::json!({"value": mean, "std": std, "folds": self.folds}),
                    );
                }
            }
            for (name, share) in [("within_1sd", t.within_1sd), ("within_2sd", t.within_2sd)] {
                if let Some(v) = share {
                    metrics.insert(
                        format!("{}.cv.{name}", t.name),
                        serde_json::json!({"value": v, "rows": t.points.len()}),
                    );
                }
            }
        }
    }
}
