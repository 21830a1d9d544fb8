//! The map of the codes while a model trains: `act(code)` itself for codes of length 1 or 2,
//! else its PCA on the frame's own axes, each axis turned to agree with the frame before so the
//! picture moves with the codes instead of flipping when PCA's signs do.

use crate::bundle::CodeActivation;
use crate::maps::activate;
use crate::projection::PcaBasis;

/// Successive 2-D frames of one training run.
#[derive(Clone, Debug, Default)]
pub struct LiveMap {
    previous: Option<Vec<f64>>,
}

impl LiveMap {
    /// `[materials, 2]` coordinates of the raw `codes` (`[materials, d]`).
    pub fn frame(&mut self, codes: &[f32], n: usize, d: usize, act: CodeActivation) -> Vec<f64> {
        let reps = activate(act, codes);
        let mut xy = if d <= 2 {
            (0..n)
                .flat_map(|i| [reps[i * d], if d == 2 { reps[i * d + 1] } else { 0.0 }])
                .collect()
        } else {
            let mut xy = PcaBasis::fit(&reps, n, d, 2).apply(&reps, n);
            if let Some(before) = &self.previous {
                for axis in 0..2 {
                    let agreement: f64 = (0..n)
                        .map(|i| xy[i * 2 + axis] * before[i * 2 + axis])
                        .sum();
                    if agreement < 0.0 {
                        (0..n).for_each(|i| xy[i * 2 + axis] = -xy[i * 2 + axis]);
                    }
                }
            }
            xy
        };
        xy.iter_mut()
            .filter(|v| !v.is_finite())
            .for_each(|v| *v = 0.0);
        self.previous = Some(xy.clone());
        xy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_codes_are_drawn_as_they_are_and_long_ones_keep_their_orientation() {
        let mut map = LiveMap::default();
        let two = map.frame(&[0.5, -0.5, 1.0, 0.0], 2, 2, CodeActivation::Identity);
        assert_eq!(two, [0.5, -0.5, 1.0, 0.0]);
        let one = map.frame(&[0.0, 100.0], 2, 1, CodeActivation::Tanh);
        assert_eq!(one, [0.0, 0.0, 1.0, 0.0]);

        // Three materials on a line in 3-D: the first axis is that line; negating the codes
        // (what PCA's sign convention could do between two frames) must not flip the picture.
        let codes = [1.0f32, 2.0, 0.0, -1.0, -2.0, 0.1, 0.0, 0.0, -0.1];
        let mut map = LiveMap::default();
        let a = map.frame(&codes, 3, 3, CodeActivation::Identity);
        let flipped: Vec<f32> = codes.iter().map(|c| -c).collect();
        let b = map.frame(&flipped, 3, 3, CodeActivation::Identity);
        // PCA's axis signs are arbitrary: a frame is never mirrored against the one before.
        let agree: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!(agree >= 0.0, "{a:?} → {b:?}");
        assert!((a[0].abs() - 5f64.sqrt()).abs() < 0.01, "{a:?}");
    }
}
