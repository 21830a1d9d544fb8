//! The projected coordinates as files: CSV (name, x, y[, z]) and JSON (the view's spec too).

use serde_json::json;

use crate::projection::Spec;

/// `name,x,y[,z]`, one row per material; names quoted as CSV needs.
pub fn coordinates_csv(names: &[String], coords: &[f32], dims: usize) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let axes = ["x", "y", "z"];
    let header: Vec<&str> = std::iter::once("name")
        .chain(axes.iter().take(dims).copied())
        .collect();
    let _ = w.write_record(&header);
    for (i, name) in names.iter().enumerate() {
        let mut rec = vec![crate::spreadsheet::neutralise_str(name).into_owned()];
        rec.extend((0..dims).map(|a| {
            coords
                .get(i * dims + a)
                .map_or(String::new(), |v| v.to_string())
        }));
        let _ = w.write_record(&rec);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// `{"spec": …, "materials": [{"name", "x", "y"[, "z"]}]}`.
pub fn coordinates_json(names: &[String], coords: &[f32], spec: &Spec) -> String {
    let dims = spec.dims;
    let axes = ["x", "y", "z"];
    let materials: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut o = json!({ "name": name });
            for (a, axis) in axes.iter().take(dims).enumerate() {
                // Through the f32's shortest text, so 1.2069645 is not written as 1.2069644927978516.
                o[*axis] = json!(
                    coords
                        .get(i * dims + a)
                        .and_then(|v| v.to_string().parse::<f64>().ok())
                );
            }
            o
        })
        .collect();
    serde_json::to_string_pretty(&json!({ "spec": spec, "materials": materials }))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::projection::Method;

    #[test]
    fn csv_and_json_hold_every_point() {
        let names = vec!["a, b".to_string(), "c".to_string()];
        let csv = coordinates_csv(&names, &[1.0, 2.0, 3.5, -4.0], 2);
        assert_eq!(csv, "name,x,y\n\"a, b\",1,2\nc,3.5,-4\n");
        let j: serde_json::Value = serde_json::from_str(&coordinates_json(
            &names,
            &[1.0, 2.0, 3.5, -4.0],
            &Spec::new(Method::Pca, 2),
        ))
        .unwrap();
        assert_eq!(j["materials"][1]["y"], -4.0);
        assert_eq!(j["spec"]["method"], "pca");
    }
}
