//! A simulated experimental campaign on synthetic data whose truth is known: start from 20
//! measured recipes, each round retrain the model on everything measured so far, pick 8 recipes
//! to make next, "measure" them with the generator, and count the rounds until one of them
//! truly reaches the target. Three ways of picking: `mixlab suggest` (expected improvement over
//! the ensemble's members, with exploration), pure exploitation (the design's best predicted
//! recipes) and random recipes (drawn as the generator draws its data).
//!
//! ```sh
//! cargo run --release -p mixlab-cli --example campaign -- --seeds 10 --rounds 15
//! ```
//!
//! Prints one line per seed and strategy, then the median rounds (docs/model-quality.md).

use clap::Parser;
use mixlab_core::data::Dataset;
use mixlab_core::design::{self, DesignSpec, Measured};
use mixlab_core::host_model::HostModel;
use mixlab_core::model::Prediction;
use mixlab_core::rng::Rng;
use mixlab_core::synthetic::{SyntheticConfig, Truth, generate_with_truth};
use mixlab_core::train::{TrainConfig, train};

#[derive(Parser)]
struct Args {
    /// Campaigns per strategy (synthetic seeds 1..=N).
    #[arg(long, default_value_t = 10)]
    seeds: u64,
    /// Rounds before a campaign is given up ("> N").
    #[arg(long, default_value_t = 15)]
    rounds: usize,
    /// Recipes measured before the first round.
    #[arg(long, default_value_t = 20)]
    start: usize,
    /// Recipes per round.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// The target: this share of the way from the best starting recipe to the best recipe a
    /// design on the truth itself finds (an oracle, known only to the simulation).
    #[arg(long, default_value_t = 0.9)]
    reach: f64,
    /// Materials and planted groups of the synthetic library.
    #[arg(long, default_value_t = 60)]
    materials: usize,
    #[arg(long, default_value_t = 8)]
    groups: usize,
    /// Training steps per round.
    #[arg(long, default_value_t = 1500)]
    steps: usize,
    /// Ensemble members per model.
    #[arg(long, default_value_t = 5)]
    members: usize,
    /// Which pickers to run (all three by default).
    #[arg(long, value_delimiter = ',', default_value = "suggest,exploit,random")]
    strategies: Vec<Strategy>,
}

#[derive(Clone, Copy, PartialEq, Debug, clap::ValueEnum)]
enum Strategy {
    Suggest,
    Exploit,
    Random,
}

type Recipe = Vec<(usize, f64)>;

fn recipe_of(ds: &Dataset, r: usize) -> Recipe {
    ds.entries[ds.row_start[r]..ds.row_start[r + 1]]
        .iter()
        .map(|&(m, f)| (m as usize, f64::from(f)))
        .collect()
}

struct World {
    /// The generator's recipes: the first `start` are measured at the outset; the rest are
    /// what random picking draws from, in order.
    pool: Dataset,
    truth: Truth,
    target: f64,
}

/// A measurement: the true property plus the generator's noise.
fn measure(truth: &Truth, recipe: &Recipe, rng: &mut Rng) -> f64 {
    truth.properties(recipe)[0] + 0.01 * rng.normal()
}

fn dataset(template: &Dataset, measured: &[(Recipe, f64)]) -> Dataset {
    let mut ds = Dataset::new(
        template.materials.clone(),
        Vec::new(),
        template.targets.clone(),
    );
    for (i, (r, y)) in measured.iter().enumerate() {
        let entries = r.iter().map(|&(m, f)| (m as u32, f as f32)).collect();
        ds.push_sparse_row(format!("r{i}"), entries, &[], &[*y]);
    }
    ds
}

/// Rounds until a measured recipe truly reaches the target (`None`: not within `a.rounds`).
fn campaign(world: &World, strategy: Strategy, seed: u64, a: &Args) -> Option<usize> {
    let mut rng = Rng::new(seed.wrapping_mul(7919));
    let mut measured: Vec<(Recipe, f64)> = (0..a.start)
        .map(|r| (recipe_of(&world.pool, r), world.pool.target_values[r]))
        .collect();
    let low = measured.iter().map(|m| m.1).fold(f64::INFINITY, f64::min);
    let spec = DesignSpec::from_json(&format!(
        r#"{{"goals": [{{"goal": "maximize", "target": "property", "low": {low}, "high": {}}}],
            "domain": "off", "max_ingredients": 8, "candidates": {}, "seed": {seed}}}"#,
        world.target,
        3 * a.batch
    ))
    .expect("the campaign's spec");
    let mut next_random = a.start;
    for round in 1..=a.rounds {
        let picked: Vec<Recipe> = match strategy {
            Strategy::Random => {
                let rows = next_random..(next_random + a.batch).min(world.pool.rows());
                next_random = rows.end;
                rows.map(|r| recipe_of(&world.pool, r)).collect()
            }
            Strategy::Suggest | Strategy::Exploit => {
                let ds = dataset(&world.pool, &measured);
                let cfg = TrainConfig {
                    code_dim: 4,
                    hidden: vec![32, 32],
                    steps: a.steps,
                    learning_rate: 1e-2,
                    members: a.members,
                    validation_fraction: 0.0,
                    seed: seed * 1000 + round as u64,
                    ..TrainConfig::default()
                };
                let (bundle, _) = train(&ds, &cfg, |_| {});
                let model = HostModel::new(&bundle);
                if strategy == Strategy::Suggest {
                    let known: Vec<Measured> = measured
                        .iter()
                        .map(|(r, y)| Measured {
                            recipe: r.clone(),
                            conditions: Vec::new(),
                            values: vec![Some(*y)],
                        })
                        .collect();
                    let (_, _, s) =
                        design::suggest(&spec, &bundle.manifest, &model, &known, a.batch)
                            .expect("suggest");
                    s.into_iter().map(|s| s.candidate.recipe).collect()
                } else {
                    let (_, found) =
                        design::run(&spec, &bundle.manifest, &model, |_, _| {}).expect("design");
                    // The best predicted recipes not made already.
                    found
                        .into_iter()
                        .map(|c| c.recipe)
                        .filter(|r| measured.iter().all(|m| design::distance(r, &m.0) >= 0.04))
                        .take(a.batch)
                        .collect()
                }
            }
        };
        let mut reached = false;
        for r in picked {
            reached |= world.truth.properties(&r)[0] >= world.target;
            let y = measure(&world.truth, &r, &mut rng);
            measured.push((r, y));
        }
        if reached {
            return Some(round);
        }
    }
    None
}

/// The best true property a design can reach: the design search driven by the truth itself
/// (an oracle no campaign has; it only places the target).
fn oracle(world_truth: &Truth, manifest_of: &Dataset, spec: &DesignSpec) -> f64 {
    // Any model gives the manifest the search needs (materials, domain); one step suffices.
    let cfg = TrainConfig {
        code_dim: 2,
        hidden: vec![4],
        steps: 1,
        validation_fraction: 0.0,
        ..TrainConfig::default()
    };
    let (bundle, _) = train(manifest_of, &cfg, |_| {});
    let problem = design::Problem::new(spec, &bundle.manifest).expect("oracle spec");
    let mut search = design::Search::new(problem, &bundle.manifest);
    while let Some(rows) = search.ask() {
        let values: Vec<f64> = rows
            .iter()
            .map(|r| world_truth.properties(&r.recipe)[0])
            .collect();
        search.tell(&Prediction {
            rows: rows.len(),
            targets: 1,
            spread: vec![0.0; values.len()],
            values,
        });
    }
    search
        .finish()
        .first()
        .map_or(f64::NAN, |s| s.predicted[0].0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

fn main() {
    let a = Args::parse();
    let strategies = a.strategies.clone();
    let mut rounds: Vec<Vec<f64>> = vec![Vec::new(); strategies.len()];
    println!("seed,target,strategy,rounds");
    for seed in 1..=a.seeds {
        let cfg = SyntheticConfig {
            recipes: 3000,
            materials: a.materials,
            groups: a.groups,
            seed,
            ..SyntheticConfig::default()
        };
        let (pool, _, truth) = generate_with_truth(&cfg);
        // The target lies between the best starting recipe and the oracle's best, so no
        // campaign has reached it at round 0.
        let mut ys: Vec<f64> = (0..pool.rows())
            .map(|r| truth.properties(&recipe_of(&pool, r))[0])
            .collect();
        let start_best = ys[..a.start].iter().copied().fold(f64::MIN, f64::max);
        ys.sort_by(f64::total_cmp);
        let wide = DesignSpec::from_json(
            r#"{"goals": [{"goal": "maximize", "target": "property", "low": -10, "high": 10}],
                "domain": "off", "max_ingredients": 8, "generations": 400, "seed": 1}"#,
        )
        .expect("oracle spec");
        let best = oracle(&truth, &pool, &wide);
        eprintln!(
            "seed {seed}: start best {start_best:.3}, q90 {:.3}, q99 {:.3}, q99.9 {:.3}, max of 3000 {:.3}, oracle {best:.3}",
            ys[ys.len() * 9 / 10],
            ys[ys.len() * 99 / 100],
            ys[ys.len() * 999 / 1000],
            ys[ys.len() - 1]
        );
        let world = World {
            pool,
            truth,
            target: start_best + a.reach * (best - start_best).max(0.0) + 1e-9,
        };
        for (k, &s) in strategies.iter().enumerate() {
            let started = std::time::Instant::now();
            let r = campaign(&world, s, seed, &a);
            // Not reached: counted as one past the cap (so the median stays defined).
            rounds[k].push(r.map_or(a.rounds as f64 + 1.0, |r| r as f64));
            println!(
                "{seed},{:.4},{s:?},{}",
                world.target,
                r.map_or(format!(">{}", a.rounds), |r| r.to_string())
            );
            eprintln!("  ({:.1} s)", started.elapsed().as_secs_f64());
        }
    }
    println!();
    println!(
        "median rounds to reach {:.0} % of the way from the best start to the oracle ({} seeds, {} start, {} per round, cap {}):",
        100.0 * a.reach,
        a.seeds,
        a.start,
        a.batch,
        a.rounds
    );
    for (k, s) in strategies.iter().enumerate() {
        let m = median(rounds[k].clone());
        let shown = if m > a.rounds as f64 {
            format!(">{}", a.rounds)
        } else {
            format!("{m}")
        };
        let hits = rounds[k].iter().filter(|r| **r <= a.rounds as f64).count();
        println!("  {s:?}: {shown} (reached in {hits}/{} campaigns)", a.seeds);
    }
}
