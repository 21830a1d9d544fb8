use mixlab_core::data::{read_folds, read_test_ids};
use std::time::Instant;

use mixlab_core::data::Dataset;
use mixlab_core::evaluate::{
    SplitResult, cross_validate_auto, markdown_table, markdown_table_labelled, sweep_code_dims,
};
use mixlab_core::metrics::{Split, fold_splits, kfold_splits, random_splits, test_set_splits};
use mixlab_core::train::TrainConfig;

use super::load;
use crate::args::EvaluateArgs;
use crate::error::{CliError, file_error, io_error, read_bytes};
use crate::{progress, report_html};

pub fn run(a: EvaluateArgs) -> Result<(), CliError> {
    let (ds, _) = load(&a.data)?;
    ds.check_trainable().map_err(file_error(&a.data.data))?;
    let groups = a.group_by_mixture.then(|| ds.mixture_keys());
    let split_list = match (a.kfold, &a.folds, &a.test_ids) {
        (Some(k), _, _) if k < 2 => {
            return Err(CliError::Usage(format!("--kfold {k}: at least 2 folds")));
        }
        (Some(k), _, _) => kfold_splits(ds.rows(), groups.as_deref(), k, a.model.seed),
        (None, Some(path), _) => fold_splits(
            &read_folds(read_bytes(path)?.as_slice(), &ds.ids).map_err(file_error(path))?,
        ),
        (None, None, Some(path)) => test_set_splits(
            ds.rows(),
            read_test_ids(read_bytes(path)?.as_slice(), &ds.ids).map_err(file_error(path))?,
        ),
        (None, None, None) => {
            let seed = a.model.seed;
            random_splits(
                ds.rows(),
                groups.as_deref(),
                a.splits,
                a.test_fraction,
                seed,
            )
        }
    };
    let cfg = a.model.config(&a.data, &ds)?;
    if a.model.auto {
        return run_auto(&a, &ds, &cfg, &split_list);
    }
    let (n_splits, steps) = (split_list.len(), cfg.steps * cfg.members);
    let bar = progress::runs(a.code_dims.len() * n_splits * steps);
    let dims = &a.code_dims;
    let sweep = sweep_code_dims(&ds, &cfg, dims, &split_list, |d, s, step, _| {
        let done = dims.iter().position(|&x| x == d).unwrap_or(0) * n_splits + s;
        bar.set_position((done * steps + step) as u64);
        bar.set_message(format!("d={d} split {}/{n_splits}", s + 1));
    });
    bar.finish();
    let table = markdown_table(&sweep);
    let report = serde_json::json!({
        "data": a.data.data.display().to_string(),
        "rows": ds.rows(),
        "splits": split_list.iter().map(|s| serde_json::json!({"train": s.train.len(), "test": s.test.len()})).collect::<Vec<_>>(),
        "steps": steps,
        "results": sweep.iter().map(|(d, per_split)| serde_json::json!({
            "code_dim": d,
            "splits": per_split.iter().map(|s| &s.scores).collect::<Vec<_>>(),
            "curves": per_split.iter().map(|s| &s.curve).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    write_reports(&a, &table, &report)
}

/// report.md, report.html (with plotly) and report.json in `--out`; the table on stdout.
fn write_reports(
    a: &EvaluateArgs,
    table: &str,
    report: &serde_json::Value,
) -> Result<(), CliError> {
    let out = &a.out;
    std::fs::create_dir_all(out).map_err(io_error(out))?;
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(out.join(name), bytes).map_err(io_error(&out.join(name)))
    };
    write("report.md", table.as_bytes())?;
    let title = a.data.data.display().to_string();
    write(
        "report.html",
        report_html::render(report, &title).as_bytes(),
    )?;
    write(report_html::PLOTLY_FILE, report_html::PLOTLY_JS)?;
    let json = serde_json::to_string_pretty(report).unwrap_or_default();
    write("report.json", json.as_bytes())?;
    println!("{table}");
    Ok(())
}

/// `--auto`: each split chooses its configuration on its training rows, then trains it.
fn run_auto(
    a: &EvaluateArgs,
    ds: &Dataset,
    cfg: &TrainConfig,
    splits: &[Split],
) -> Result<(), CliError> {
    let bar = progress::stages();
    bar.set_length(splits.len() as u64);
    let started = Instant::now();
    let results = cross_validate_auto(
        ds,
        cfg,
        splits,
        a.model.auto_metric.into(),
        a.model.auto_budget,
        || started.elapsed().as_secs_f64(),
        |split, message| {
            bar.set_position(split as u64);
            bar.set_message(format!("split {}/{}: {message}", split + 1, splits.len()));
        },
    );
    bar.finish_and_clear();
    let per_split: Vec<SplitResult> = results.iter().map(|(r, _)| r.clone()).collect();
    let mut table = markdown_table_labelled(&[("auto".to_string(), per_split.as_slice())]);
    table.push_str("\nChosen per split (--auto, on each split's training rows):\n\n");
    for (i, (_, auto)) in results.iter().enumerate() {
        table.push_str(&format!(
            "- split {}: {} ({} candidates, {:.0} s)\n",
            i + 1,
            auto.chosen.join(" "),
            auto.trials.len(),
            auto.seconds
        ));
    }
    table.push_str(&format!(
        "\nTotal {:.0} s.\n",
        started.elapsed().as_secs_f64()
    ));
    let report = serde_json::json!({
        "data": a.data.data.display().to_string(),
        "rows": ds.rows(),
        "splits": splits.iter().map(|s| serde_json::json!({"train": s.train.len(), "test": s.test.len()})).collect::<Vec<_>>(),
        "auto": results.iter().map(|(_, r)| r).collect::<Vec<_>>(),
        "results": [serde_json::json!({
            "code_dim": "auto",
            "splits": per_split.iter().map(|s| &s.scores).collect::<Vec<_>>(),
            "curves": per_split.iter().map(|s| &s.curve).collect::<Vec<_>>(),
        })],
    });
    write_reports(a, &table, &report)
}
