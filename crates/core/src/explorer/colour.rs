//! Per-material values the explorer colours by: influence, k-means clusters, metadata (the
//! sensitivities are [`crate::sensitivity`], shared with the editor).

use crate::bundle::Manifest;
use crate::projection::knn::squared_distance;
use crate::rng::Rng;

/// ‖act(code)‖ of each material (`reps` is `[n, d]` row-major): the seed's "near the origin =
/// barely moves the property".
pub fn influence(reps: &[f64], n: usize, d: usize) -> Vec<f64> {
    (0..n)
        .map(|i| squared_distance(&reps[i * d..(i + 1) * d], &vec![0.0; d]).sqrt())
        .collect()
}

/// k-means (k-means++ seeding, Lloyd iterations until no point moves, at most 300) of the
/// `[n, d]` rows; labels are renumbered by first appearance so the same clustering always
/// gets the same colours. Deterministic for a seed.
pub fn kmeans(reps: &[f64], n: usize, d: usize, k: usize, seed: u64) -> Vec<usize> {
    let k = k.clamp(1, n.max(1));
    if n == 0 {
        return Vec::new();
    }
    let row = |i: usize| &reps[i * d..(i + 1) * d];
    let mut rng = Rng::new(seed);
    let mut centres: Vec<Vec<f64>> = vec![row(rng.below(n)).to_vec()];
    let mut nearest: Vec<f64> = (0..n)
        .map(|i| squared_distance(row(i), &centres[0]))
        .collect();
    while centres.len() < k {
        let total: f64 = nearest.iter().sum();
        let next = if total <= 0.0 {
            // Fewer distinct points than k: the remaining centres repeat.
            rng.below(n)
        } else {
            let mut target = rng.uniform() * total;
            let mut pick = n - 1;
            for (i, w) in nearest.iter().enumerate() {
                if target < *w {
                    pick = i;
                    break;
                }
                target -= w;
            }
            pick
        };
        centres.push(row(next).to_vec());
        let c = centres.last().cloned().unwrap_or_default();
        for (i, best) in nearest.iter_mut().enumerate() {
            *best = best.min(squared_distance(row(i), &c));
        }
    }
    let mut labels = vec![usize::MAX; n];
    for _ in 0..300 {
        let mut moved = false;
        for (i, label) in labels.iter_mut().enumerate() {
            let best = (0..k)
                .min_by(|&a, &b| {
                    squared_distance(row(i), &centres[a])
                        .total_cmp(&squared_distance(row(i), &centres[b]))
                        .then(a.cmp(&b))
                })
                .unwrap_or(0);
            if *label != best {
                *label = best;
                moved = true;
            }
        }
        if !moved {
            break;
        }
        let mut sums = vec![vec![0.0; d]; k];
        let mut counts = vec![0usize; k];
        for (i, &l) in labels.iter().enumerate() {
            counts[l] += 1;
            for (s, v) in sums[l].iter_mut().zip(row(i)) {
                *s += v;
            }
        }
        for c in 0..k {
            if counts[c] > 0 {
                centres[c] = sums[c].iter().map(|s| s / counts[c] as f64).collect();
            }
        }
    }
    let mut renumber = vec![usize::MAX; k];
    let mut next = 0;
    labels
        .into_iter()
        .map(|l| {
            if renumber[l] == usize::MAX {
                renumber[l] = next;
                next += 1;
            }
            renumber[l]
        })
        .collect()
}

/// Distinct values of a metadata column in first-seen order, and each material's index into
/// them (`None` where the material lacks it); numeric columns are returned as numbers instead.
pub enum MetadataValues {
    Categories {
        names: Vec<String>,
        of: Vec<Option<usize>>,
    },
    Numbers(Vec<Option<f64>>),
}

pub fn metadata_values(manifest: &Manifest, key: &str) -> MetadataValues {
    let raw: Vec<Option<&String>> = manifest
        .materials
        .iter()
        .map(|m| m.metadata.get(key))
        .collect();
    let numbers: Vec<Option<f64>> = raw
        .iter()
        .map(|v| v.and_then(|s| s.trim().parse::<f64>().ok().filter(|x| x.is_finite())))
        .collect();
    let present = raw.iter().filter(|v| v.is_some()).count();
    let numeric = numbers.iter().filter(|v| v.is_some()).count();
    // Periodic groups are numbers but categories to the eye: few distinct integers are kept
    // as categories.
    let mut distinct: Vec<&String> = Vec::new();
    for v in raw.iter().flatten() {
        if !distinct.contains(v) {
            distinct.push(v);
        }
    }
    if present > 0 && numeric == present && distinct.len() > 12 {
        return MetadataValues::Numbers(numbers);
    }
    let names: Vec<String> = distinct.iter().map(|s| (*s).clone()).collect();
    let of = raw
        .iter()
        .map(|v| v.and_then(|s| names.iter().position(|n| n == s)))
        .collect();
    MetadataValues::Categories { names, of }
}

/// Metadata keys present on at least one material, sorted.
pub fn metadata_keys(manifest: &Manifest) -> Vec<String> {
    let mut keys: Vec<String> = manifest
        .materials
        .iter()
        .flat_map(|m| m.metadata.keys().cloned())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::projection::shapes::clusters;

    #[test]
    fn kmeans_finds_planted_clusters_and_is_deterministic() {
        let (data, truth) = clusters(300, 4, 5, 3);
        let labels = kmeans(&data, 300, 5, 4, 1);
        assert_eq!(labels, kmeans(&data, 300, 5, 4, 1));
        assert_eq!(labels[0], 0, "renumbered by first appearance");
        // Same partition as the truth (up to names).
        for i in 0..300 {
            for j in 0..300 {
                assert_eq!(labels[i] == labels[j], truth[i] == truth[j]);
            }
        }
        // More clusters than distinct points: no panic, every label < k.
        let same = vec![1.0; 10];
        assert!(kmeans(&same, 5, 2, 4, 1).iter().all(|&l| l < 4));
    }

    #[test]
    fn influence_is_the_norm() {
        assert_eq!(influence(&[3.0, 4.0, 0.0, 0.0], 2, 2), [5.0, 0.0]);
    }
}
