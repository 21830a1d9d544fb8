//! The `mixlab` binary end to end: train → bundle on disk → predict; errors on bad input.

use std::path::PathBuf;
use std::process::Command;

fn mixlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mixlab"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mixlab-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// 60 rows of water/salt/sugar with y = 10·salt + 2·sugar and a condition.
fn write_csv(dir: &std::path::Path) -> PathBuf {
    let mut csv = String::from("id,water,salt,sugar,temp,y\n");
    for i in 0..60 {
        let salt = (i % 7) as f64 * 5.0;
        let sugar = (i % 5) as f64 * 4.0;
        let temp = 20.0 + (i % 3) as f64 * 10.0;
        let y = 10.0 * salt / 100.0 + 2.0 * sugar / 100.0 + temp / 100.0;
        csv.push_str(&format!(
            "r{i},{},{salt},{sugar},{temp},{y}\n",
            100.0 - salt - sugar
        ));
    }
    let path = dir.join("data.csv");
    std::fs::write(&path, csv).unwrap();
    std::fs::write(
        dir.join("materials.csv"),
        "name,kind\nwater,solvent\nsalt,mineral\nsugar,carbohydrate\nlead,metal\n",
    )
    .unwrap();
    path
}

/// Train a small seeded model on `data` into `out`.
fn train_small(data: &std::path::Path, out: &std::path::Path) {
    let status = mixlab()
        .args(["train", "--data"])
        .arg(data)
        .args([
            "--targets",
            "y",
            "--conditions",
            "temp",
            "--steps",
            "200",
            "--hidden",
            "8",
        ])
        .args(["--code-dim", "3", "--name", "salty", "--out"])
        .arg(out)
        .arg("--materials-info")
        .arg(data.with_file_name("materials.csv"))
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn train_then_predict_round_trip() {
    let dir = temp_dir("train");
    let data = write_csv(&dir);
    let out = dir.join("bundle");
    train_small(&data, &out);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["name"], "salty");
    assert_eq!(manifest["dataset"]["rows"], 60);
    assert_eq!(manifest["materials"].as_array().unwrap().len(), 3);
    assert_eq!(manifest["conditions"][0]["name"], "temp");
    assert_eq!(manifest["materials"][1]["metadata"]["kind"], "mineral");

    let output = mixlab()
        .args(["predict", "--bundle"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let y = json["predictions"]["y"].as_f64().unwrap();
    assert!(y.is_finite() && (0.0..3.0).contains(&y), "prediction {y}");

    // Same seed, same data: the weights file is byte-identical.
    let again = dir.join("again");
    train_small(&data, &again);
    assert_eq!(
        std::fs::read(out.join("weights.safetensors")).unwrap(),
        std::fs::read(again.join("weights.safetensors")).unwrap()
    );
}

/// The same table as every spreadsheet writes it: what `score` reads, `train` and `evaluate`
/// read too, to the same numbers (one reader in the core).
#[test]
fn train_and_evaluate_read_every_dialect_score_reads() {
    let dir = temp_dir("dialects");
    let data = write_csv(&dir);
    let text = std::fs::read_to_string(&data).unwrap();
    let semicolon = text.replace(',', ";").replace('.', ",");
    let variants = [
        ("semicolon-decimal-comma.csv", semicolon.clone()),
        (
            "bom-crlf.csv",
            format!("\u{feff}{}", text.replace('\n', "\r\n")),
        ),
        (
            "semicolon-bom-crlf.csv",
            format!("\u{feff}{}", semicolon.replace('\n', "\r\n")),
        ),
        (
            "quoted-spaced.csv",
            text.lines()
                .map(|l| {
                    l.split(',')
                        .map(|c| format!("\" {c} \""))
                        .collect::<Vec<_>>()
                        .join(",")
                        + "\n"
                })
                .collect(),
        ),
    ];
    let reference = dir.join("reference");
    train_small(&data, &reference);
    let weights = std::fs::read(reference.join("weights.safetensors")).unwrap();
    for (name, body) in variants {
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        // Score reads it (the model's own data: every row is scored).
        let scored = run_ok(
            mixlab()
                .args(["score", "--bundle"])
                .arg(&reference)
                .arg("--data")
                .arg(&path),
        );
        assert_eq!(scored.lines().count(), 61, "{name}");
        // Train reads it to the same numbers: byte-identical weights for the seed.
        let out = dir.join(format!("{name}.bundle"));
        train_small(&path, &out);
        assert_eq!(
            std::fs::read(out.join("weights.safetensors")).unwrap(),
            weights,
            "{name}"
        );
        let report = evaluate(&path, &dir.join(format!("{name}.eval")), &[]);
        assert_eq!(report["rows"], 60, "{name}");
    }
}

#[test]
fn bad_input_is_a_clear_error_with_row_and_column() {
    let dir = temp_dir("bad");
    let data = dir.join("bad.csv");
    std::fs::write(&data, "id,water,salt,y\na,90,10,1\nb,80,lots,2\n").unwrap();
    let output = mixlab()
        .args(["train", "--data"])
        .arg(&data)
        .args(["--targets", "y", "--out"])
        .arg(dir.join("never"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("row 3, column 3 (\"salt\"): \"lots\" is not a number"),
        "{stderr}"
    );

    let broken = dir.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("manifest.json"),
        "{\"format\": \"mixlab-bundle\", \"schema_version\": 99}",
    )
    .unwrap();
    std::fs::write(broken.join("weights.safetensors"), b"").unwrap();
    let output = mixlab()
        .args(["predict", "--bundle"])
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("schema version 99 is not supported"));
}

/// Run `mixlab evaluate` on `data` into `out` with common small settings plus `extra`;
/// returns report.json.
fn evaluate(data: &std::path::Path, out: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let output = mixlab()
        .args(["evaluate", "--data"])
        .arg(data)
        .args([
            "--targets",
            "y",
            "--conditions",
            "temp",
            "--hidden",
            "8",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
}

#[test]
fn evaluate_kfold_holds_out_every_row_once() {
    let dir = temp_dir("kfold");
    let data = write_csv(&dir);
    let out = dir.join("report");
    let json = evaluate(
        &data,
        &out,
        &["--steps", "20", "--code-dims", "2", "--kfold", "4"],
    );
    let splits = json["splits"].as_array().unwrap();
    assert_eq!(splits.len(), 4);
    let held_out: u64 = splits.iter().map(|s| s["test"].as_u64().unwrap()).sum();
    assert_eq!(held_out, 60, "every row held out once");
    assert!(splits.iter().all(|s| s["train"].as_u64().unwrap() == 45));
    // Seeded: the same folds and figures again; one fold is refused with the reason.
    let again = evaluate(
        &data,
        &dir.join("again"),
        &["--steps", "20", "--code-dims", "2", "--kfold", "4"],
    );
    assert_eq!(json["results"], again["results"]);
    let output = mixlab()
        .args(["evaluate", "--data"])
        .arg(&data)
        .args(["--targets", "y", "--kfold", "1", "--out"])
        .arg(dir.join("one"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("--kfold 1: at least 2 folds"));
}

#[test]
fn evaluate_writes_the_protocol_table_for_each_code_length() {
    let dir = temp_dir("evaluate");
    let data = write_csv(&dir);
    let out = dir.join("report");
    let args = [
        "--steps",
        "60",
        "--code-dims",
        "2,3",
        "--splits",
        "3",
        "--group-by-mixture",
    ];
    let json = evaluate(&data, &out, &args);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let rows: Vec<&str> = md
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(rows.len(), 2, "{md}");
    assert!(
        rows[0].starts_with("| 2 | y | ") && rows[1].starts_with("| 3 | y | "),
        "{md}"
    );
    assert_eq!(json["results"].as_array().unwrap().len(), 2);
    assert_eq!(json["splits"].as_array().unwrap().len(), 3);
    let eval = &json["results"][0]["splits"][0]["y"]["eval"];
    assert!(eval["mae"].as_f64().unwrap().is_finite());
    // Learning curves (one per split, with the held-out loss) and the offline HTML report.
    let curve = json["results"][1]["curves"][2].as_array().unwrap();
    assert_eq!(curve.len(), 2, "60 steps: checks at 50 and 60");
    assert!(curve[1]["monitor"].as_f64().unwrap().is_finite());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<script src=\"plotly-cartesian.min.js\"></script>"));
    assert!(html.contains("\"code_dim\":3"));
    assert!(
        std::fs::metadata(out.join("plotly-cartesian.min.js"))
            .unwrap()
            .len()
            > 1_000_000
    );

    // Official folds: one split per fold, every row tested once.
    let folds = dir.join("folds.csv");
    let mut text = String::from("id,fold\n");
    (0..60).for_each(|i| text.push_str(&format!("r{i},{}\n", i % 4)));
    std::fs::write(&folds, text).unwrap();
    let folds = folds.to_string_lossy().into_owned();
    let json = evaluate(
        &data,
        &out,
        &["--steps", "20", "--code-dims", "2", "--folds", &folds],
    );
    let tests: Vec<u64> = json["splits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["test"].as_u64().unwrap())
        .collect();
    assert_eq!(tests, vec![15, 15, 15, 15]);

    // Given test sets (the standard splits' form): their sizes, and RMSE ± standard error.
    let sets = dir.join("test-ids.csv");
    let mut text = String::from("split,id\n");
    (0..10).for_each(|i| text.push_str(&format!("{},r{i}\n", i % 2)));
    std::fs::write(&sets, text).unwrap();
    let sets = sets.to_string_lossy().into_owned();
    let json = evaluate(
        &data,
        &out,
        &["--steps", "20", "--code-dims", "2", "--test-ids", &sets],
    );
    let sizes: Vec<(u64, u64)> = (json["splits"].as_array().unwrap().iter())
        .map(|s| (s["train"].as_u64().unwrap(), s["test"].as_u64().unwrap()))
        .collect();
    assert_eq!(sizes, vec![(55, 5), (55, 5)]);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("(mean ± standard error over 2 splits)"), "{md}");
}

#[test]
fn dose_scaled_bundles_store_their_scales_and_predict_like_the_reference() {
    let dir = temp_dir("dose-scale");
    let data = write_csv(&dir);
    let out = dir.join("bundle");
    run_ok(
        mixlab()
            .args(["train", "--data"])
            .arg(&data)
            .args([
                "--targets",
                "y",
                "--conditions",
                "temp",
                "--hidden",
                "8",
                "--steps",
                "40",
            ])
            .args(["--dose-scale", "--out"])
            .arg(&out),
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let scales: Vec<f64> = (manifest["materials"].as_array().unwrap().iter())
        .map(|m| m["dose_scale"].as_f64().unwrap())
        .collect();
    assert!(scales.iter().all(|&s| s > 0.0 && s < 1.0), "{scales:?}");
    // The bundle reads back and predicts (the native model against the f64 reference is
    // tested in the core; here the CLI's path end to end).
    let text = run_ok(mixlab().args(["predict", "--bundle"]).arg(&out));
    assert!(text.contains("\"y\""), "{text}");
}

#[test]
fn descriptor_codes_from_a_file_or_magpie_are_recorded_and_bad_tables_are_named() {
    let dir = temp_dir("descriptors");
    let data = write_csv(&dir);
    let table = dir.join("descriptors.csv");
    std::fs::write(
        &table,
        "name,polar,mass\nwater,1,18\nsalt,1,58\nsugar,0.5,342\n",
    )
    .unwrap();
    let train = |extra: &[&str], out: &std::path::Path| {
        let mut cmd = mixlab();
        cmd.args(["train", "--data"]).arg(&data);
        cmd.args(["--targets", "y", "--conditions", "temp", "--hidden", "8"]);
        cmd.args(["--steps", "40"])
            .args(extra)
            .arg("--out")
            .arg(out);
        cmd.output().unwrap()
    };
    let out = dir.join("bundle");
    let run = train(
        &[
            "--descriptors",
            table.to_str().unwrap(),
            "--offset-penalty",
            "0.5",
        ],
        &out,
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let recorded = &manifest["training"]["descriptors"];
    assert_eq!(recorded["features"], 2, "{recorded}");
    assert_eq!(recorded["offset_penalty"], 0.5, "{recorded}");
    let text = run_ok(mixlab().args(["predict", "--bundle"]).arg(&out));
    assert!(text.contains("\"y\""), "{text}");

    // Water, salt and sugar are not elements: the built-in table says so, and which it has.
    let run = train(&["--descriptors", "magpie"], &dir.join("no"));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        err.contains("none of the model's materials is in the descriptor table \"magpie\""),
        "{err}"
    );
    std::fs::write(&table, "name,polar\nwater,1\nsalt,high\n").unwrap();
    let run = train(&["--descriptors", table.to_str().unwrap()], &dir.join("no"));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("row 3, column \"polar\": \"high\" is not a number"),
        "{err}"
    );
    let run = train(&["--descriptors", "oliynyk"], &dir.join("no"));
    assert!(String::from_utf8_lossy(&run.stderr).contains("unknown descriptor table"));

    // A target's own loss: recorded in the bundle; a name that is not a target is refused.
    let own = dir.join("own-loss");
    let run = train(&["--target-loss", "y=l1"], &own);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(own.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["targets"][0]["loss"], "l1");
    let run = train(&["--target-loss", "viscosity=l1"], &dir.join("no"));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("\"viscosity\" is not a target (the targets: y)"),
        "{err}"
    );
}

#[test]
fn score_appends_predictions_for_every_row() {
    let dir = temp_dir("score");
    let data = write_csv(&dir);
    let bundle = dir.join("bundle");
    train_small(&data, &bundle);
    let out = dir.join("scored.csv");
    let status = mixlab()
        .args(["score", "--bundle"])
        .arg(&bundle)
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id,water,salt,sugar,temp,y,y_predicted,in_domain,domain_note,status"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 60);
    // Predictions track the truth (y spans ~0.2..4.2): mean absolute error well under 1.
    let err: f64 = rows
        .iter()
        .map(|l| {
            let c: Vec<f64> = (l.split(',').skip(1).take(6))
                .map(|v| v.parse().unwrap())
                .collect();
            assert!(l.ends_with(",scored"), "{l}");
            (c[4] - c[5]).abs()
        })
        .sum::<f64>()
        / 60.0;
    assert!(err < 1.0, "mean error {err}");
}

#[test]
fn score_stops_at_problems_until_a_flag_decides() {
    let dir = temp_dir("score-decide");
    let data = write_csv(&dir);
    let bundle = dir.join("bundle");
    train_small(&data, &bundle);
    let file = dir.join("new.csv");
    std::fs::write(
        &file,
        "id;water;salt;suggar\nA;80;20;0\nB;70;-5;0\nC;60;20;20\n",
    )
    .unwrap();
    let score = |extra: &[&str]| {
        mixlab()
            .args(["score", "--bundle"])
            .arg(&bundle)
            .arg("--data")
            .arg(&file)
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = score(&[]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    for want in [
        "row 3, column 3 (\"salt\"): negative amount -5",
        "--skip-invalid",
        "--unknown drop|skip",
        "condition \"temp\" is not in the file",
    ] {
        assert!(stderr.contains(want), "{want:?} not in {stderr}");
    }
    let ok = score(&["--skip-invalid", "--unknown", "skip", "--fill", "temp=25"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let out = String::from_utf8(ok.stdout).unwrap();
    let status: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.rsplit(';').next().unwrap())
        .collect();
    assert_eq!(status[0], "scored");
    assert!(
        status[1].starts_with("skipped: negative amounts"),
        "{}",
        status[1]
    );
    assert_eq!(status[2], "skipped: has a material the model does not know");
}

fn run_ok(cmd: &mut Command) -> String {
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// An ensemble trained on a long CSV, a new material fitted from a few formulations, and the
/// spread in scores; synthetic data round-trips through the long format.
#[test]
fn ensemble_long_format_fit_material_and_synthetic() {
    let dir = temp_dir("ensemble");
    // Long CSV without sugar: y = 3·salt − 2·oil, with the target on every row.
    let mut long = String::from("formulation_id,material,amount,y\n");
    for i in 0..150 {
        let (s, o) = ((i % 9) as f64 * 4.0, (i % 7) as f64 * 5.0);
        let y = 3.0 * s / 100.0 - 2.0 * o / 100.0;
        long.push_str(&format!("F{i},water,{},{y}\n", 100.0 - s - o));
        if s > 0.0 {
            long.push_str(&format!("F{i},salt,{s},{y}\n"));
        }
        if o > 0.0 {
            long.push_str(&format!("F{i},oil,{o},{y}\n"));
        }
    }
    std::fs::write(dir.join("long.csv"), long).unwrap();
    let bundle = dir.join("bundle");
    run_ok(
        mixlab()
            .args(["train", "--data"])
            .arg(dir.join("long.csv"))
            .args([
                "--targets",
                "y",
                "--steps",
                "600",
                "--hidden",
                "16",
                "--code-dim",
                "3",
            ])
            .args([
                "--learning-rate",
                "0.01",
                "--members",
                "3",
                "--snapshots",
                "5",
                "--out",
            ])
            .arg(&bundle),
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["architecture"]["members"], 3);
    assert_eq!(manifest["snapshot_steps"].as_array().unwrap().len(), 5);
    assert_eq!(manifest["materials"].as_array().unwrap().len(), 3);
    let predict: serde_json::Value =
        serde_json::from_str(&run_ok(mixlab().args(["predict", "--bundle"]).arg(&bundle))).unwrap();
    assert_eq!(predict["members"], 3);
    assert!(predict["spread"]["y"].as_f64().unwrap() > 0.0);

    // Sugar (y += 1·sugar) from 10 formulations, wide.
    let mut wide = String::from("id,water,salt,sugar,y\n");
    for i in 0..10 {
        let (s, g) = ((i % 4) as f64 * 5.0, 5.0 + (i % 5) as f64 * 5.0);
        let y = 3.0 * s / 100.0 + g / 100.0;
        wide.push_str(&format!("N{i},{},{s},{g},{y}\n", 100.0 - s - g));
    }
    std::fs::write(dir.join("sugar.csv"), &wide).unwrap();
    let grown = dir.join("grown");
    let report: serde_json::Value = serde_json::from_str(&run_ok(
        mixlab()
            .args(["fit-material", "--bundle"])
            .arg(&bundle)
            .args(["--material", "sugar", "--targets", "y", "--data"])
            .arg(dir.join("sugar.csv"))
            .arg("--out")
            .arg(&grown),
    ))
    .unwrap();
    let (before, after) = (
        report["before"]["y"]["mae"].as_f64().unwrap(),
        report["after"]["y"]["mae"].as_f64().unwrap(),
    );
    assert!(after < 0.5 * before, "fit-material MAE {before} -> {after}");
    let scored = run_ok(
        mixlab()
            .args(["score", "--bundle"])
            .arg(&grown)
            .arg("--data")
            .arg(dir.join("sugar.csv")),
    );
    let header = scored.lines().next().unwrap();
    assert_eq!(
        header,
        "id,water,salt,sugar,y,y_predicted,y_spread,in_domain,domain_note,status"
    );
    assert_eq!(scored.lines().count(), 11);

    // Fitting a material the model already has is refused with a clear message.
    let output = mixlab()
        .args(["fit-material", "--bundle"])
        .arg(&bundle)
        .args(["--material", "salt", "--targets", "y", "--data"])
        .arg(dir.join("sugar.csv"))
        .arg("--out")
        .arg(dir.join("nope"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("\"salt\" is already a material"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Synthetic data (long) with its groups as material metadata trains.
    run_ok(
        mixlab()
            .args([
                "synthetic",
                "--materials",
                "40",
                "--groups",
                "4",
                "--recipes",
                "300",
            ])
            .args(["--per-recipe", "3,8", "--out"])
            .arg(dir.join("syn.csv"))
            .arg("--groups-out")
            .arg(dir.join("groups.csv")),
    );
    let syn = dir.join("syn-bundle");
    run_ok(
        mixlab()
            .args(["train", "--data"])
            .arg(dir.join("syn.csv"))
            .args([
                "--targets",
                "property",
                "--epochs",
                "2",
                "--batch-size",
                "50",
            ])
            .arg("--materials-info")
            .arg(dir.join("groups.csv"))
            .arg("--out")
            .arg(&syn),
    );
    let manifest = std::fs::read_to_string(syn.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"group\": \"g3\""));
    // --epochs 2 over 300 rows in batches of 50 is 12 steps.
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(manifest["training"]["steps"], 12);
}

/// Without the `wgpu` feature, `--backend wgpu` says how to get it instead of failing obscurely.
#[cfg(not(feature = "wgpu"))]
#[test]
fn wgpu_backend_needs_the_feature() {
    let dir = temp_dir("no-wgpu");
    let data = write_csv(&dir);
    let output = mixlab()
        .args(["train", "--data"])
        .arg(&data)
        .args(["--targets", "y", "--backend", "wgpu", "--out"])
        .arg(dir.join("b"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("built without the wgpu feature"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `--backend wgpu` trains on a GPU adapter (here lavapipe, Mesa's software Vulkan: Debian's
/// mesa-vulkan-drivers) and learns as well as the CPU backend. Built with
/// `cargo test -p mixlab-cli --features wgpu` (the feature is off by default: compiling native
/// wgpu roughly doubles a clean build).
#[cfg(feature = "wgpu")]
#[test]
fn wgpu_backend_trains_like_the_cpu() {
    let dir = temp_dir("wgpu");
    let data = write_csv(&dir);
    let mae = |backend: &str| -> f64 {
        let out = dir.join(backend);
        run_ok(
            mixlab()
                .args(["train", "--data"])
                .arg(&data)
                .args(["--targets", "y", "--conditions", "temp", "--steps", "300"])
                .args([
                    "--hidden",
                    "16",
                    "--code-dim",
                    "3",
                    "--learning-rate",
                    "0.01",
                ])
                .args([
                    "--validation-fraction",
                    "0",
                    "--snapshots",
                    "3",
                    "--backend",
                    backend,
                ])
                .arg("--out")
                .arg(&out),
        );
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap())
                .unwrap();
        let recorded = m["training"]["backend"].as_str().unwrap_or("cpu");
        assert_eq!(recorded, backend);
        m["metrics"]["y.train.mae"]["value"].as_f64().unwrap()
    };
    let (cpu, gpu) = (mae("cpu"), mae("wgpu"));
    // y spans about 0.2..0.9; both fit it, to within a few hundredths of each other.
    assert!(cpu < 0.05 && gpu < 0.05, "train MAE cpu {cpu}, wgpu {gpu}");
    assert!((cpu - gpu).abs() < 0.02, "train MAE cpu {cpu}, wgpu {gpu}");
}

/// `mixlab <command> --bundle <model> <flag> <file>` that must fail: its standard error.
fn fails(command: &str, model: &std::path::Path, flag: &str, file: &std::path::Path) -> String {
    let out = mixlab()
        .args([command, "--bundle"])
        .arg(model)
        .arg(flag)
        .arg(file)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{command} should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn design_writes_ranked_candidates_and_names_contradictions() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = temp_dir("design");
    for model in ["concrete", "shampoo", "glass-tg", "steels"] {
        let out = dir.join(format!("{model}.csv"));
        let problem = dir.join(format!("{model}-problem.json"));
        run_ok(
            mixlab()
                .args(["design", "--bundle"])
                .arg(root.join(format!("public/models/{model}")))
                .arg("--spec")
                .arg(root.join(format!("public/examples/design-{model}.json")))
                .arg("--out")
                .arg(&out)
                .arg("--export-problem")
                .arg(&problem),
        );
        // The problem for an outside solver: the pool, its bounds and the ensemble.
        let p: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&problem).unwrap()).unwrap();
        let pool = p["materials"].as_array().unwrap().len();
        assert!(
            pool > 1 && p["lo"].as_array().unwrap().len() == pool,
            "{model}"
        );
        let member = &p["model"]["members"][0];
        assert_eq!(member["reps"].as_array().unwrap().len(), pool, "{model}");
        assert!(!p["goals"].as_array().unwrap().is_empty(), "{model}");
        let csv = std::fs::read_to_string(&out).unwrap();
        let mut rows = csv::Reader::from_reader(csv.as_bytes());
        let head = rows.headers().unwrap().clone();
        assert_eq!(&head[0], "rank");
        let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 10, "{model}: {csv}");
        let first_material = head.iter().position(|h| h == "active_limits").unwrap() + 1;
        let mut last = f64::INFINITY;
        for r in &records {
            let d: f64 = r[1].parse().unwrap();
            assert!(
                d > 0.0 && d <= last + 1e-12,
                "{model}: ranked by desirability"
            );
            last = d;
            let sum: f64 = (first_material..r.len())
                .map(|i| r[i].parse::<f64>().unwrap())
                .sum();
            assert!(
                (sum - 100.0).abs() < 1e-6,
                "{model}: a recipe sums to {sum} %"
            );
            assert_eq!(
                &r[first_material - 2],
                "inside",
                "{model}: in the training domain"
            );
        }
    }
    // Contradictions: every one named, nothing searched, exit code 1.
    let spec = dir.join("bad.json");
    std::fs::write(
        &spec,
        r#"{"goals": [{"goal": "maximize", "target": "strength"}],
            "limits": {"cement": {"fixed": 60}, "water": {"fixed": 50}}, "domain": "off"}"#,
    )
    .unwrap();
    let err = fails(
        "design",
        &root.join("public/models/concrete"),
        "--spec",
        &spec,
    );
    assert!(
        err.contains("\"strength\", which this model does not predict"),
        "{err}"
    );
    assert!(err.contains("add up to 110 %"), "{err}");
    // In the training domain (the default), the fixed amounts are named against it.
    std::fs::write(
        &spec,
        r#"{"goals": [{"goal": "maximize", "target": "strength_mpa"}],
            "limits": {"cement": {"fixed": 60}}}"#,
    )
    .unwrap();
    let err = fails(
        "design",
        &root.join("public/models/concrete"),
        "--spec",
        &spec,
    );
    assert!(
        err.contains("cement is fixed at 60 % here but was 4.482 %–22.54 % in training"),
        "{err}"
    );
    // A spec that is not JSON for a design names the file and the field.
    std::fs::write(&spec, r#"{"goals": [], "colour": "red"}"#).unwrap();
    let err = fails(
        "design",
        &root.join("public/models/concrete"),
        "--spec",
        &spec,
    );
    assert!(err.contains("bad.json") && err.contains("colour"), "{err}");
}

#[test]
fn suggest_proposes_distinct_untried_recipes_with_reasons() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = temp_dir("suggest");
    // Twenty measured recipes: the first rows of the concrete data.
    let data = std::fs::read_to_string(root.join("data/concrete/data.csv")).unwrap();
    let trials = dir.join("trials.csv");
    std::fs::write(
        &trials,
        data.lines().take(21).collect::<Vec<_>>().join("\n"),
    )
    .unwrap();
    let out = dir.join("next.csv");
    run_ok(
        mixlab()
            .args(["suggest", "--bundle"])
            .arg(root.join("public/models/concrete"))
            .arg("--measured")
            .arg(&trials)
            .arg("--spec")
            .arg(root.join("public/examples/design-concrete.json"))
            .args(["--n", "8", "--out"])
            .arg(&out),
    );
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let head = reader.headers().unwrap().clone();
    assert_eq!(&head[0], "reason");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 8, "{csv}");
    let first = head.iter().position(|h| h == "active_limits").unwrap() + 1;
    let recipe = |r: &csv::StringRecord| -> Vec<(String, f64)> {
        (first..r.len())
            .map(|i| (head[i].to_string(), r[i].parse::<f64>().unwrap() / 100.0))
            .collect()
    };
    let measured: Vec<Vec<(String, f64)>> = {
        let mut m = csv::Reader::from_reader(data.as_bytes());
        let h = m.headers().unwrap().clone();
        m.records()
            .take(20)
            .map(|r| {
                let r = r.unwrap();
                (1..8)
                    .map(|i| (h[i].to_string(), r[i].parse().unwrap()))
                    .collect()
            })
            .collect()
    };
    let l1 = |a: &[(String, f64)], b: &[(String, f64)]| -> f64 {
        let of = |v: &[(String, f64)], n: &str| v.iter().find(|x| x.0 == n).map_or(0.0, |x| x.1);
        let names: std::collections::BTreeSet<&str> =
            a.iter().chain(b).map(|x| x.0.as_str()).collect();
        names.iter().map(|n| (of(a, n) - of(b, n)).abs()).sum()
    };
    let suggested: Vec<_> = rows.iter().map(recipe).collect();
    for (i, (r, s)) in rows.iter().zip(&suggested).enumerate() {
        assert!(["exploit", "explore"].contains(&&r[0]), "{}", &r[0]);
        let ei: f64 = r[1].parse().unwrap();
        let chance: f64 = r[2].parse().unwrap();
        assert!(ei >= 0.0 && (0.0..=1.0).contains(&chance));
        let sum: f64 = s.iter().map(|x| x.1).sum();
        assert!((sum - 1.0).abs() < 1e-8);
        for m in &measured {
            assert!(l1(s, m) >= 0.04, "suggestion {i} repeats a measured recipe");
        }
        for t in &suggested[i + 1..] {
            assert!(l1(s, t) >= 0.08 - 1e-9, "two suggestions too close");
        }
    }
    // A measured file naming a material the model lacks is refused, naming it.
    std::fs::write(&trials, "cement,unobtainium,strength_mpa\n50,50,30\n").unwrap();
    let err = fails(
        "suggest",
        &root.join("public/models/concrete"),
        "--measured",
        &trials,
    );
    assert!(err.contains("unobtainium"), "{err}");
}
