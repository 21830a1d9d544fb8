use mixlab_core::data::{Format, write_csv};
use mixlab_core::synthetic::{SyntheticConfig, generate};

use crate::args::SyntheticArgs;
use crate::error::{CliError, io_error};

pub fn run(a: SyntheticArgs) -> Result<(), CliError> {
    let (lo, hi) = match a.per_recipe[..] {
        [lo, hi] if 1 <= lo && lo <= hi && hi <= a.materials => (lo, hi),
        _ => {
            return Err(CliError::Usage(format!(
                "--per-recipe must be MIN,MAX with 1 ≤ MIN ≤ MAX ≤ {}",
                a.materials
            )));
        }
    };
    if a.groups == 0 || a.groups > a.materials {
        return Err(CliError::Usage(format!(
            "--groups must be 1..={}",
            a.materials
        )));
    }
    let cfg = SyntheticConfig {
        materials: a.materials,
        groups: a.groups,
        recipes: a.recipes,
        per_recipe: (lo, hi),
        seed: a.seed,
        targets: a.properties,
        ..SyntheticConfig::default()
    };
    let (ds, group_of) = generate(&cfg);
    let format = if a.wide { Format::Wide } else { Format::Long };
    let file = std::fs::File::create(&a.out).map_err(io_error(&a.out))?;
    write_csv(&ds, format, std::io::BufWriter::new(file)).map_err(io_error(&a.out))?;
    if let Some(path) = &a.groups_out {
        let mut text = String::from("material,group\n");
        for (name, g) in ds.materials.iter().zip(&group_of) {
            text.push_str(&format!("{name},g{g}\n"));
        }
        std::fs::write(path, text).map_err(io_error(path))?;
    }
    eprintln!(
        "wrote {}: {} formulations, {} materials, {} entries",
        a.out.display(),
        ds.rows(),
        a.materials,
        ds.entries.len()
    );
    Ok(())
}
