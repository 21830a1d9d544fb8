//! Datasets written back as CSV (the synthetic generator's output), in the layouts the readers
//! take, and the dataset fingerprint a bundle records.

use std::io::Write;

use super::{Dataset, Format};

/// `ds` as CSV: long (`formulation_id,material,amount` and the targets on each row) or wide
/// (`id`, a column per material, the targets). Missing targets and zero amounts are empty.
pub fn write_csv(ds: &Dataset, format: Format, out: impl Write) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let t = ds.targets.len();
    let targets = |r: usize| -> Vec<String> {
        ds.target_values[r * t..(r + 1) * t]
            .iter()
            .map(|v| {
                if v.is_finite() {
                    v.to_string()
                } else {
                    String::new()
                }
            })
            .collect()
    };
    let names = ds.targets.iter().map(|s| s.name.clone());
    match format {
        Format::Wide => {
            let mut head = vec!["id".to_string()];
            head.extend(ds.materials.iter().cloned());
            head.extend(names);
            w.write_record(&head)?;
            for r in 0..ds.rows() {
                let mut rec = vec![ds.ids[r].clone()];
                rec.extend(ds.dense_row(r).iter().map(|f| {
                    if *f == 0.0 {
                        String::new()
                    } else {
                        f.to_string()
                    }
                }));
                rec.extend(targets(r));
                w.write_record(&rec)?;
            }
        }
        Format::Long => {
            let mut head: Vec<String> = [super::LONG_ID, super::LONG_MATERIAL, super::LONG_AMOUNT]
                .map(String::from)
                .to_vec();
            head.extend(names);
            w.write_record(&head)?;
            for r in 0..ds.rows() {
                let ys = targets(r);
                for &(i, f) in ds.row(r) {
                    let mut rec = vec![
                        ds.ids[r].clone(),
                        ds.materials[i as usize].clone(),
                        f.to_string(),
                    ];
                    rec.extend(ys.iter().cloned());
                    w.write_record(&rec)?;
                }
            }
        }
    }
    w.flush()
}

/// The SHA-256 of a file's bytes in hex, as a bundle's `dataset.sha256`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut hash = Sha256Hex::default();
    hash.update(bytes);
    hash.finish()
}

/// [`sha256_hex`] of bytes that come in pieces (the trainer hashes a file as it reads it, so
/// the hash has the reading's progress bar).
#[derive(Default)]
pub struct Sha256Hex(sha2::Sha256);

impl Sha256Hex {
    pub fn update(&mut self, bytes: &[u8]) {
        sha2::Digest::update(&mut self.0, bytes);
    }

    pub fn finish(self) -> String {
        sha2::Digest::finalize(self.0)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{WideSpec, read_dataset};

    #[test]
    fn written_datasets_read_back_equal_in_both_layouts() {
        let spec = WideSpec {
            targets: vec!["visc".parse().unwrap()],
            ..WideSpec::default()
        };
        let text = "id,water,salt,visc\nA,0.75,0.25,120\nB,0.5,0.5,\n";
        let ds = read_dataset(text.as_bytes(), None, &spec).unwrap();
        for format in [Format::Wide, Format::Long] {
            let mut out = Vec::new();
            write_csv(&ds, format, &mut out).unwrap();
            let back = read_dataset(out.as_slice(), None, &spec).unwrap();
            assert_eq!(back.entries, ds.entries, "{format:?}");
            assert_eq!(back.ids, ds.ids);
            assert_eq!(back.target_values[0], 120.0);
            assert!(back.target_values[1].is_nan());
        }
    }

    #[test]
    fn sha256_in_pieces_equals_sha256_of_the_whole() {
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut hash = Sha256Hex::default();
        for piece in bytes.chunks(333) {
            hash.update(piece);
        }
        assert_eq!(hash.finish(), sha256_hex(&bytes));
    }

    #[test]
    fn sha256_of_known_bytes() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
