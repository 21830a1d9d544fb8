use mixlab_core::neighbours::nearest;
use mixlab_core::projection;

use super::read_bundle;
use crate::args::NeighboursArgs;
use crate::error::CliError;

pub fn run(a: NeighboursArgs) -> Result<(), CliError> {
    let bundle = read_bundle(&a.bundle.bundle)?;
    let m = &bundle.manifest;
    let of = m
        .material_index(&a.material)
        .ok_or_else(|| CliError::Usage(format!("the model has no material {:?}", a.material)))?;
    let d = m.architecture.code_dim;
    let points = projection::rows_of(
        &mixlab_core::maps::representations(&bundle),
        m.materials.len(),
        d,
    );
    println!("name,distance");
    for nb in nearest(&points, of, a.k, a.distance.into()) {
        println!("{},{}", m.materials[nb.index].name, nb.distance);
    }
    Ok(())
}
