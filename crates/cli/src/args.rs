//! What can be typed: one args struct per command, shared groups flattened into them, and a
//! `ValueEnum` for every closed choice. What the arguments mean is decided in `commands/`.

use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mixlab_core::bundle::{CodeActivation, HiddenActivation, LossKind};
use mixlab_core::data::{ConditionSpec, TargetSpec};
use mixlab_core::neighbours::Distance;
use mixlab_core::projection::Method;
use mixlab_core::scoring::{DuplicateChoice, SumChoice, UnknownChoice};
use mixlab_core::train::Schedule;
use mixlab_core::train_setup::AutoMetric;

/// A closed choice on the command line that stands for a core enum of the same variants: the
/// clap `ValueEnum` and its conversion, written once.
macro_rules! choice {
    ($(#[$meta:meta])* $name:ident => $core:ty { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, ValueEnum)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl From<$name> for $core {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => <$core>::$variant),+
                }
            }
        }
    };
}

#[derive(Parser)]
#[command(
    name = "mixlab",
    version,
    about = "Train and use Mixlab mixture models"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum Command {
    /// Train a model on a formulation CSV and write a bundle directory.
    Train(TrainArgs),
    /// The study's protocol: k random splits (or given folds, or splits that keep each
    /// mixture on one side), a sweep of code lengths, Full / Eval / Train errors as
    /// mean ± std, written as report.md, report.json and report.html (box plots of the
    /// per-split errors and learning curves; opens offline).
    Evaluate(EvaluateArgs),
    /// Score a CSV (wide or long, comma or semicolon) with a bundle: the input with
    /// `<target>_predicted` (and `_spread`, `in_domain`, `domain_note`, `status`) appended.
    /// The file is checked first; problems stop the run unless a flag says what to do.
    Score(ScoreArgs),
    /// Add a new material to a bundle from a few formulations that contain it (with measured
    /// targets): only its code is trained, the regressor and all other codes stay frozen.
    FitMaterial(FitMaterialArgs),
    /// Write synthetic formulations with planted material groups (long CSV) and the groups
    /// (materials CSV, usable as --materials-info), for scale tests.
    Synthetic(SyntheticArgs),
    /// Project a bundle's material codes to 2-D or 3-D (PCA, t-SNE, UMAP, Isomap, LLE) and
    /// write the coordinates (CSV name,x,y[,z], or JSON when --out ends in .json). The same
    /// parameters and seed give the same picture as the app's explorer.
    Project(ProjectArgs),
    /// The materials nearest to one material in code space (act(code) of the bundle), as the
    /// explorer lists them: CSV name,distance, nearest first.
    Neighbours(NeighboursArgs),
    /// Check a share link against a bundle as the app opens it, and print what it holds as
    /// JSON (model path, formulation, conditions, explorer view); a bad part is named.
    Link(LinkArgs),
    /// Predict one formulation (the bundle's default unless given) and print JSON.
    Predict(PredictArgs),
    /// Inverse design: find recipes that meet the goals of a design spec (JSON: goals per
    /// target, material limits, q.s., ingredient limit, group and linear limits, prices and
    /// cost, conditions; see docs/formats.md) and write them ranked as CSV. Contradictory
    /// limits are named before any search.
    Design(DesignArgs),
    /// Column roles for a CSV: what each header is to the bundle (material, condition, target,
    /// id, ignored) — exact names, names recognised despite case, spacing, units or an alias
    /// in the model's metadata, and ranked suggestions for the rest. Writes a mapping (JSON)
    /// to review and pass to `score --mapping`.
    Map(MapArgs),
    /// The next experiments: from measured recipes (a CSV with the model's target columns),
    /// a batch of recipes to make next, each marked exploit (predicted to beat the best
    /// measured) or explore (uncertain enough that it may), with its expected improvement.
    Suggest(SuggestArgs),
}

/// A bundle directory to read.
#[derive(Args)]
pub struct BundleArg {
    /// Bundle directory (manifest.json + weights.safetensors).
    #[arg(long)]
    pub bundle: PathBuf,
}

/// Which CSV and which of its columns mean what.
#[derive(Args)]
pub struct DataOpts {
    /// Formulation CSV, wide (id, one column per material, condition and target columns) or
    /// long (formulation_id, material, amount rows; recognised by those column names); what
    /// spreadsheets export is read (delimiter, decimal mark, encoding; see docs/formats.md).
    #[arg(long)]
    pub data: PathBuf,
    /// For a long CSV: a wide CSV of conditions and targets keyed by an id column
    /// (otherwise they are read from the long file's own columns).
    #[arg(long)]
    pub properties: Option<PathBuf>,
    /// Target columns as NAME[:regression|:log10|:binary], comma separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub targets: Vec<TargetSpec>,
    /// Condition columns (process inputs such as age), comma separated; NAME:log10 feeds the
    /// model log10 of the value (for inputs spanning decades).
    #[arg(long, value_delimiter = ',')]
    pub conditions: Vec<ConditionSpec>,
    /// Columns to ignore, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub drop: Vec<String>,
    /// Column roles (a mapping JSON from `mixlab map` or the app): mapped headers are renamed
    /// to the names they map to (which --targets and --conditions then use), ignored ones dropped.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
}

choice! {
    CodeAct => CodeActivation {
        Tanh,
        Sigmoid,
        Identity,
    }
}

choice! {
    LossOpt => LossKind {
        Mse,
        L1,
        Huber,
    }
}

choice! {
    HiddenAct => HiddenActivation {
        Relu,
        Gelu,
        Silu,
        Tanh,
    }
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
pub enum BackendOpt {
    /// burn's Flex CPU backend: bit-identical weights for a seed.
    Cpu,
    /// A GPU through wgpu (Vulkan, Metal or DX12), if this build has the `wgpu` feature.
    Wgpu,
}

choice! {
    AutoMetricOpt => AutoMetric {
        Mae,
        Rmse,
    }
}

choice! {
    ScheduleOpt => Schedule {
        Cosine,
        Constant,
    }
}

/// The model and its training.
#[derive(Args)]
pub struct ModelOpts {
    /// Length of each material's code.
    #[arg(long, default_value_t = 8)]
    pub code_dim: usize,
    #[arg(long, value_enum, default_value = "tanh")]
    pub code_activation: CodeAct,
    /// Hidden layer widths, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "64,64")]
    pub hidden: Vec<usize>,
    #[arg(long, value_enum, default_value = "relu")]
    pub hidden_activation: HiddenAct,
    #[arg(long, default_value_t = 3000)]
    pub steps: usize,
    /// Train for this many passes over the training rows instead of --steps.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Learning-rate schedule: cosine decay to 10 % of the rate, or constant.
    #[arg(long, value_enum, default_value = "cosine")]
    pub schedule: ScheduleOpt,
    /// Where to train.
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: BackendOpt,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 3e-3)]
    pub learning_rate: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of the training rows held out for validation figures and early stopping.
    #[arg(long, default_value_t = 0.1)]
    pub validation_fraction: f64,
    /// Decoupled weight decay on the regressor's weights (0 = off).
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Stop when the validation loss has not improved for N checks (one every 50 steps),
    /// keeping the best weights.
    #[arg(long, value_name = "N")]
    pub early_stopping: Option<usize>,
    /// Skip connections around hidden layers of equal width.
    #[arg(long)]
    pub residual: bool,
    /// Pool each material's fraction divided by its spread over the training formulations
    /// (stored in the bundle), so that low-dose materials move the mixture vector as far as
    /// major ones.
    #[arg(long)]
    pub dose_scale: bool,
    /// Choose code length, widths, dropout, steps, dose scale, log-dose block and loss
    /// automatically, by held-out rows of the training data (3-fold up to 600 rows, else
    /// 80/20), starting from the options given; the choice is recorded in the bundle (and per
    /// split in evaluate's report, where it ignores --code-dims).
    #[arg(long)]
    pub auto: bool,
    /// With --auto: what candidates are scored by (MAE or RMSE; 1 − ROC-AUC for binary targets).
    #[arg(long, value_enum, default_value = "mae")]
    pub auto_metric: AutoMetricOpt,
    /// With --auto: seconds after which no further candidate is tried.
    #[arg(long, default_value_t = 600.0)]
    pub auto_budget: f64,
    /// A second code block on the log dose: each material's code gets another --code-dim
    /// entries, pooled with ln(1 + fraction / its median training dose), so a material's effect
    /// can saturate with dose and low doses are told apart.
    #[arg(long)]
    pub log_dose: bool,
    /// Descriptor-informed codes: each material's code is learnt as a linear map of its
    /// descriptors plus a penalised offset, so alike materials start alike and one absent from
    /// the training rows still gets a code. "magpie" (element properties, built in) or a CSV
    /// file: the material's name, then numeric columns.
    #[arg(long, value_name = "magpie|FILE")]
    pub descriptors: Option<String>,
    /// With --descriptors: penalty on each material's departure from its descriptor's code.
    #[arg(long, default_value_t = 1.0)]
    pub offset_penalty: f64,
    /// With --descriptors: penalty on the descriptor map's entries.
    #[arg(long, default_value_t = 0.0)]
    pub map_penalty: f64,
    /// The regression loss on standardised targets: mse, l1 (when the score is a MAE) or huber.
    #[arg(long, value_enum, default_value = "mse")]
    pub loss: LossOpt,
    /// A regression target's own loss when it should differ from --loss (comma-separated
    /// NAME=mse|l1|huber): e.g. L1 for a target scored by MAE beside others scored by RMSE.
    #[arg(long, value_delimiter = ',', value_name = "NAME=LOSS")]
    pub target_loss: Vec<String>,
    /// Dropout rate on the hidden activations during training.
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f64,
    /// Ensemble size: K members trained with different seeds; predictions are their mean and
    /// uncertainty their spread.
    #[arg(long, default_value_t = 1)]
    pub members: usize,
}

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataOpts,
    #[command(flatten)]
    pub model: ModelOpts,
    /// Output bundle directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Bundle name shown in the app.
    #[arg(long, default_value = "model")]
    pub name: String,
    #[arg(long, default_value = "")]
    pub description: String,
    /// JSON file merged into the manifest's dataset info (name, source, licence, units, labels).
    #[arg(long)]
    pub dataset_info: Option<PathBuf>,
    /// CSV describing materials: first column the material name, other columns become
    /// the material's metadata (type, group...) in the bundle.
    #[arg(long)]
    pub materials_info: Option<PathBuf>,
    /// Number of snapshots of the codes kept in the bundle (log-spaced steps from 0 to the
    /// end) for the app's learning-dynamics animation; 0 = none.
    #[arg(long, default_value_t = 24)]
    pub snapshots: usize,
}

#[derive(Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub data: DataOpts,
    #[command(flatten)]
    pub model: ModelOpts,
    /// Code lengths to sweep, comma separated (overrides --code-dim).
    #[arg(long, value_delimiter = ',', default_value = "2,4,6,10,20,50,100")]
    pub code_dims: Vec<usize>,
    /// Number of random splits.
    #[arg(long, default_value_t = 5)]
    pub splits: usize,
    /// Share of rows in each random split's test set.
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// CSV of official folds (columns id, fold); replaces the random splits.
    #[arg(long)]
    pub folds: Option<PathBuf>,
    /// CSV of given test sets (columns split, id: each split's test ids; the rest trains),
    /// such as the 20 standard concrete splits (data/concrete/pbp_test_splits.csv); replaces the
    /// random splits. The report adds Eval RMSE as mean ± standard error, as the literature gives it.
    #[arg(long, conflicts_with = "folds")]
    pub test_ids: Option<PathBuf>,
    /// K-fold cross-validation (each row held out once; folds drawn with --seed, equal
    /// mixtures kept together with --group-by-mixture), as the app's trust view runs it;
    /// replaces the random splits.
    #[arg(long, value_name = "K", conflicts_with_all = ["folds", "test_ids"])]
    pub kfold: Option<usize>,
    /// Keep rows with the same mixture (equal fractions) on one side of every split, as
    /// for concrete measured at several ages.
    #[arg(long)]
    pub group_by_mixture: bool,
    /// Output directory for report.md, report.json, report.html (+ plotly-cartesian.min.js).
    #[arg(long)]
    pub out: PathBuf,
}

choice! {
    /// What to do with materials the model does not know.
    UnknownOpt => UnknownChoice {
        /// Drop them and renormalise the row.
        Drop,
        /// Skip the rows that have them.
        Skip,
    }
}

choice! {
    /// What to do with rows that do not sum to 1 or 100.
    OffSumOpt => SumChoice {
        Normalise,
        Skip,
    }
}

choice! {
    /// What to do with repeated ids.
    DuplicatesOpt => DuplicateChoice {
        Keep,
        Skip,
    }
}

/// `--fill NAME=VALUE`: a value for a condition the file lacks.
#[derive(Clone, Debug)]
pub struct Fill {
    pub name: String,
    pub value: f64,
}

impl FromStr for Fill {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        s.split_once('=')
            .and_then(|(n, v)| {
                let value = v.trim().parse::<f64>().ok().filter(|v| v.is_finite())?;
                Some(Fill {
                    name: n.trim().to_string(),
                    value,
                })
            })
            .ok_or_else(|| format!("{s:?}: expected NAME=VALUE"))
    }
}

#[derive(Args)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub bundle: BundleArg,
    /// CSV: wide (id, material columns, conditions) or long (formulation_id, material, amount).
    #[arg(long)]
    pub data: PathBuf,
    /// Output CSV (standard output when absent).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Columns to copy through unscored even if they hold numbers, comma separated.
    #[arg(long, alias = "ignore", value_delimiter = ',')]
    pub carry: Vec<String>,
    /// Materials the model does not know: drop them and renormalise, or skip those rows.
    #[arg(long, value_enum)]
    pub unknown: Option<UnknownOpt>,
    /// Rows that do not sum to 1 or 100: normalise them, or skip them.
    #[arg(long, value_enum)]
    pub off_sum: Option<OffSumOpt>,
    /// Repeated ids: score every row, or only the first of each id.
    #[arg(long, value_enum)]
    pub duplicates: Option<DuplicatesOpt>,
    /// A value for a condition the file lacks, NAME=VALUE (repeatable).
    #[arg(long)]
    pub fill: Vec<Fill>,
    /// Score the other rows when some cannot be scored (negative, non-numeric, empty...).
    #[arg(long)]
    pub skip_invalid: bool,
    /// Column roles (a mapping JSON from `mixlab map` or the app's "Export mapping").
    #[arg(long)]
    pub mapping: Option<PathBuf>,
}

#[derive(Args)]
pub struct MapArgs {
    #[command(flatten)]
    pub bundle: BundleArg,
    /// The CSV whose header to map.
    #[arg(long)]
    pub data: PathBuf,
    /// A mapping to start from (its roles are kept).
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Give unknown columns their best suggestion (else they are ignored).
    #[arg(long)]
    pub take_suggestions: bool,
    /// Where to write the mapping (standard output when absent).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct FitMaterialArgs {
    /// Bundle directory to start from.
    #[arg(long)]
    pub bundle: PathBuf,
    /// Name of the new material (a column of the wide CSV or a material of the long one).
    #[arg(long)]
    pub material: String,
    #[command(flatten)]
    pub data: DataOpts,
    /// Start from the code of this existing material (one you judge similar) instead of
    /// the origin.
    #[arg(long)]
    pub start_from: Option<String>,
    #[arg(long, default_value_t = 500)]
    pub steps: usize,
    #[arg(long, default_value_t = 0.05)]
    pub learning_rate: f64,
    /// Output bundle directory (may equal --bundle).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args)]
pub struct SyntheticArgs {
    #[arg(long, default_value_t = 5400)]
    pub materials: usize,
    #[arg(long, default_value_t = 30)]
    pub groups: usize,
    #[arg(long, default_value_t = 30000)]
    pub recipes: usize,
    /// Materials per recipe, MIN,MAX.
    #[arg(long, value_delimiter = ',', default_value = "10,60")]
    pub per_recipe: Vec<usize>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of properties (target columns property, property_2, ...).
    #[arg(long, default_value_t = 3)]
    pub properties: usize,
    /// Write a wide CSV (one column per material) instead of a long one.
    #[arg(long)]
    pub wide: bool,
    /// Output CSV of formulations.
    #[arg(long)]
    pub out: PathBuf,
    /// Output CSV of materials and their planted group.
    #[arg(long)]
    pub groups_out: Option<PathBuf>,
}

choice! {
    MethodOpt => Method {
        Pca,
        Tsne,
        Umap,
        Isomap,
        Lle,
    }
}

/// A projection's parameters; unset ones take the method's defaults for the model's size.
#[derive(Args)]
pub struct ProjectionOpts {
    #[arg(long, value_enum, default_value = "pca")]
    pub method: MethodOpt,
    #[arg(long, default_value_t = 2)]
    pub dims: usize,
    /// t-SNE perplexity (default 30, lowered for small models as the app does).
    #[arg(long)]
    pub perplexity: Option<f64>,
    /// t-SNE learning rate; 0 = automatic.
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// t-SNE iterations (default 1000) or UMAP epochs (default 0 = automatic).
    #[arg(long)]
    pub iterations: Option<usize>,
    /// UMAP neighbours (default 15).
    #[arg(long)]
    pub neighbours: Option<usize>,
    /// UMAP min_dist (default 0.1).
    #[arg(long)]
    pub min_dist: Option<f64>,
    /// Isomap/LLE neighbours (default 10).
    #[arg(long)]
    pub k: Option<usize>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The spec as in the app's share links (`tsne.2.p30.lr0.it1000.s1`); overrides the
    /// flags above.
    #[arg(long)]
    pub spec: Option<String>,
}

#[derive(Args)]
pub struct ProjectArgs {
    #[command(flatten)]
    pub bundle: BundleArg,
    #[command(flatten)]
    pub projection: ProjectionOpts,
    /// Output file (.csv or .json); standard output (CSV) when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also store the projection in the bundle, so the app shows it at once.
    #[arg(long)]
    pub add: bool,
    /// Print trustworthiness@10 of the map (how many map neighbours are true neighbours).
    #[arg(long)]
    pub trust: bool,
    /// Print the kNN purity of this metadata column (e.g. `group`): the share of each
    /// material's k nearest (in the map, and in the full code space) with the same value,
    /// beside what a random layout gives.
    #[arg(long)]
    pub purity: Option<String>,
    /// Neighbours for --purity.
    #[arg(long, default_value_t = 3)]
    pub purity_k: usize,
    /// Write the matrix that is projected (act(code), one row per material, no header).
    #[arg(long)]
    pub codes_out: Option<PathBuf>,
    /// Store every method's default projection (2-D and 3-D) in the bundle, as training
    /// does, instead of projecting once.
    #[arg(long)]
    pub store_defaults: bool,
}

choice! {
    DistanceOpt => Distance {
        Euclidean,
        Cosine,
    }
}

#[derive(Args)]
pub struct NeighboursArgs {
    #[command(flatten)]
    pub bundle: BundleArg,
    #[arg(long)]
    pub material: String,
    #[arg(long, default_value_t = 5)]
    pub k: usize,
    #[arg(long, value_enum, default_value = "euclidean")]
    pub distance: DistanceOpt,
}

#[derive(Args)]
pub struct LinkArgs {
    /// Bundle directory the link is read against.
    #[arg(long)]
    pub bundle: PathBuf,
    /// The link: a whole URL or its `?…#…` part.
    pub url: String,
}

#[derive(Args)]
pub struct PredictArgs {
    #[command(flatten)]
    pub bundle: BundleArg,
    /// The formulation as in the app's share links: `Water:74.7:q;Plantacare 818:11.5;...`
    /// (material:percent, summing to 100).
    #[arg(long)]
    pub formulation: Option<String>,
    /// Condition values, `age_days:28;...` (others keep the bundle's defaults).
    #[arg(long)]
    pub conditions: Option<String>,
}

#[derive(Args)]
pub struct DesignArgs {
    #[command(flatten)]
    pub bundle: BundleArg,
    /// The design spec (JSON).
    #[arg(long)]
    pub spec: PathBuf,
    /// Output CSV; standard output when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Overrides the spec's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Overrides the spec's number of candidates.
    #[arg(long)]
    pub candidates: Option<usize>,
    /// Also write the resolved problem and the model (pool materials only) as JSON, for an
    /// outside solver (the SciPy peer benchmark, `bench/design_peers.py`).
    #[arg(long)]
    pub export_problem: Option<PathBuf>,
}

#[derive(Args)]
pub struct SuggestArgs {
    #[command(flatten)]
    pub bundle: BundleArg,
    /// The recipes measured so far (wide or long CSV, like training data).
    #[arg(long)]
    pub measured: PathBuf,
    /// Goals and limits (a design spec); without one, every target is maximised (binary ones:
    /// their probability).
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// How many recipes to suggest.
    #[arg(long, default_value_t = 8)]
    pub n: usize,
    /// Output CSV; standard output when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Overrides the spec's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Column roles for the measured recipes (a mapping JSON, as for `score --mapping`).
    #[arg(long)]
    pub mapping: Option<PathBuf>,
}
