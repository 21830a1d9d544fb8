//! Type-ahead over material names and metadata (INCI names, aliases, types): built once per
//! model, then each keystroke is one pass over lower-cased strings — microseconds for the
//! thousands of materials a real raw-material library has.

use crate::bundle::Manifest;

pub struct MaterialIndex {
    names: Vec<String>,
    /// Name and metadata values, lower-cased, one string per material.
    haystacks: Vec<String>,
}

impl MaterialIndex {
    pub fn new(manifest: &Manifest) -> Self {
        MaterialIndex {
            names: manifest
                .materials
                .iter()
                .map(|m| m.name.to_lowercase())
                .collect(),
            haystacks: manifest
                .materials
                .iter()
                .map(|m| {
                    std::iter::once(m.name.as_str())
                        .chain(m.metadata.values().map(String::as_str))
                        .collect::<Vec<_>>()
                        .join(" | ")
                        .to_lowercase()
                })
                .collect(),
        }
    }

    /// Up to `limit` materials matching every word of `query`, best first: names that start
    /// with it, then names that contain it, then matches in the metadata only. `skip` says
    /// which materials to leave out (already in the formulation).
    pub fn query(&self, query: &str, limit: usize, skip: impl Fn(usize) -> bool) -> Vec<usize> {
        let q = query.trim().to_lowercase();
        let words: Vec<&str> = q.split_whitespace().collect();
        let mut ranked: Vec<(u8, usize)> = self
            .haystacks
            .iter()
            .enumerate()
            .filter(|(i, h)| !skip(*i) && words.iter().all(|w| h.contains(w)))
            .map(|(i, _)| {
                let name = &self.names[i];
                let rank = if name.starts_with(&q) {
                    0
                } else if name.contains(&q) {
                    1
                } else {
                    2
                };
                (rank, i)
            })
            .collect();
        ranked.sort_by_key(|&(rank, i)| (rank, self.names[i].len(), i));
        ranked.into_iter().take(limit).map(|(_, i)| i).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::tests::tiny;

    #[test]
    fn names_first_then_metadata_and_every_word_must_match() {
        let mut m = tiny().manifest;
        m.materials[2]
            .metadata
            .insert("inci".into(), "Sodium Chloride Water Solution".into());
        let idx = MaterialIndex::new(&m);
        assert_eq!(
            idx.query("wat", 10, |_| false),
            vec![0, 2],
            "name match before metadata"
        );
        assert_eq!(idx.query("SODIUM chloride", 10, |_| false), vec![2]);
        assert_eq!(idx.query("wat", 10, |i| i == 0), vec![2]);
        assert_eq!(idx.query("", 2, |_| false).len(), 2);
        assert!(idx.query("zzz", 10, |_| false).is_empty());
    }

    #[test]
    fn thousands_of_materials_rank_and_limit() {
        let mut m = tiny().manifest;
        let template = m.materials[0].clone();
        m.materials = (0..5400)
            .map(|i| {
                let mut x = template.clone();
                x.name = format!("Material {i:04} grade {}", i % 7);
                x.metadata.insert("group".into(), format!("g{}", i % 30));
                x
            })
            .collect();
        let idx = MaterialIndex::new(&m);
        let hits = idx.query("material 12", 12, |_| false);
        assert_eq!(hits.len(), 12);
        assert!(hits.iter().all(|&i| m.materials[i].name.contains("12")));
    }
}
