//! The response curve as an SVG string: one panel per target (band, curve, current point) over
//! a shared x axis. Drawn by the app after each edit, so it is a few kilobytes of markup the
//! browser lays out within a frame; plotly.js took ~30 ms to redraw the same three subplots.

use std::fmt::Write;

/// One target's panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// The y-axis title (already in words: "Viscosity at 10 s⁻¹ (cP)").
    pub title: String,
    pub log: bool,
    /// The curve, one value per x.
    pub mid: Vec<f64>,
    /// The band around it (low, high), one pair per x.
    pub band: Vec<(f64, f64)>,
    /// The current formulation's value.
    pub here: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    pub x_title: String,
    pub xs: Vec<f64>,
    /// The current formulation's x.
    pub here: f64,
    /// The material's training range, shaded.
    pub shade: Option<(f64, f64)>,
    pub panels: Vec<Panel>,
}

/// Pixels: a panel's height and the gap between panels.
const PANEL_HEIGHT: f64 = 150.0;
const GAP: f64 = 18.0;
/// Margins in pixels: left (y titles and tick labels), right, top, bottom (the x axis).
const MARGIN: [f64; 4] = [80.0, 20.0, 10.0, 45.0];

/// Text for SVG markup: names come from anyone's files.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Round numbers (1, 2 or 5 × 10ᵏ apart) covering `lo..=hi`, about `count` of them.
pub fn linear_ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / count.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// Ticks of a log axis over `lo..=hi` (both > 0): the powers of ten, with 2 and 5 between them
/// when the range spans less than two decades.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return vec![lo];
    }
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let mults: &[f64] = if b - a <= 2 { &[1.0, 2.0, 5.0] } else { &[1.0] };
    let ticks: Vec<f64> = (a..=b)
        .flat_map(|k| mults.iter().map(move |m| m * 10f64.powi(k)))
        .filter(|v| *v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9))
        .collect();
    if ticks.len() < 2 {
        // Less than one step of 1-2-5 inside: fall back to even ticks on the log scale.
        return linear_ticks(lo, hi, 3);
    }
    ticks
}

/// A tick label: as few digits as the tick spacing needs; exponents for very large or small.
pub fn tick_label(v: f64, step: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.0e}");
        return s.replace("e", "e+").replace("e+-", "e−");
    }
    let decimals = if step > 0.0 {
        (-step.log10().floor()).max(0.0) as usize
    } else {
        0
    };
    let decimals = decimals.max(if a < 1.0 {
        (-a.log10()).ceil() as usize
    } else {
        0
    });
    format!("{v:.decimals$}").replace('-', "−")
}

/// `v` with `digits` significant digits (the current point's hover text).
pub fn significant(v: f64, digits: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (digits as i32 - 1 - v.abs().log10().floor() as i32).max(0) as usize;
    format!("{v:.decimals$}").replace('-', "−")
}

/// The range a panel shows: every finite value (positive ones on a log axis) with some room.
fn range(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && (!log || *v > 0.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return if log { (1.0, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        let (a, b) = (lo.log10(), hi.log10());
        let pad = 0.06 * (b - a).max(0.05);
        (10f64.powf(a - pad), 10f64.powf(b + pad))
    } else {
        let pad = 0.06 * (hi - lo).max(1e-9 * hi.abs().max(1.0));
        (lo - pad, hi + pad)
    }
}

/// A linear or log mapping of data onto pixels.
struct Scale {
    lo: f64,
    hi: f64,
    p0: f64,
    p1: f64,
    log: bool,
}

impl Scale {
    fn at(&self, v: f64) -> f64 {
        let f = |x: f64| {
            if self.log {
                x.max(f64::MIN_POSITIVE).log10()
            } else {
                x
            }
        };
        let t = (f(v) - f(self.lo)) / (f(self.hi) - f(self.lo));
        self.p0 + t.clamp(-0.05, 1.05) * (self.p1 - self.p0)
    }
}

fn path(points: impl Iterator<Item = (f64, f64)>) -> String {
    let mut d = String::new();
    for (k, (x, y)) in points.enumerate() {
        let _ = write!(d, "{}{x:.1},{y:.1}", if k == 0 { 'M' } else { 'L' });
    }
    d
}

/// The figure's height in pixels for `panels` targets.
pub fn height(panels: usize) -> f64 {
    MARGIN[2] + MARGIN[3] + panels as f64 * PANEL_HEIGHT + panels.saturating_sub(1) as f64 * GAP
}

/// The whole figure, `width` pixels wide.
pub fn svg(c: &Curve, width: f64) -> String {
    let [left, right, top_margin, _] = MARGIN;
    let n = c.panels.len();
    let h = height(n);
    let (x0, x1) = (left, (width - right).max(left + 50.0));
    let (xlo, xhi) = {
        let (lo, hi) = range(c.xs.iter().copied().chain([c.here]), false);
        (lo, hi)
    };
    let sx = Scale {
        lo: xlo,
        hi: xhi,
        p0: x0,
        p1: x1,
        log: false,
    };
    let mut s = String::with_capacity(16 * 1024);
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="curve" width="{width:.0}" height="{h:.0}" viewBox="0 0 {width:.0} {h:.0}" font-family="sans-serif" font-size="11">"#
    );
    let bottom = top_margin + n as f64 * PANEL_HEIGHT + n.saturating_sub(1) as f64 * GAP;
    if let Some((a, b)) = c.shade {
        let (a, b) = (sx.at(a.max(xlo)), sx.at(b.min(xhi)));
        if b > a {
            let _ = write!(
                s,
                r#"<rect class="training" x="{a:.1}" y="{top_margin:.1}" width="{:.1}" height="{:.1}" fill="rgba(16,185,129,0.10)"/>"#,
                b - a,
                bottom - top_margin
            );
        }
    }
    let xticks = linear_ticks(xlo, xhi, 6);
    let xstep = xticks
        .get(1)
        .zip(xticks.first())
        .map_or(1.0, |(b, a)| b - a);
    for (i, p) in c.panels.iter().enumerate() {
        let top = top_margin + i as f64 * (PANEL_HEIGHT + GAP);
        let band = p.band.iter().flat_map(|&(lo, hi)| [lo, hi]);
        let all = band.chain(p.mid.iter().copied()).chain([p.here]);
        let (lo, hi) = range(all, p.log);
        let sy = Scale {
            lo,
            hi,
            p0: top + PANEL_HEIGHT,
            p1: top,
            log: p.log,
        };
        let yticks = if p.log {
            log_ticks(lo, hi)
        } else {
            linear_ticks(lo, hi, 5)
        };
        let ystep = yticks
            .get(1)
            .zip(yticks.first())
            .map_or(1.0, |(b, a)| b - a);
        let _ = write!(s, r#"<g class="panel" data-target-index="{i}">"#);
        for &t in &yticks {
            let y = sy.at(t);
            let step = if p.log { t } else { ystep };
            let _ = write!(
                s,
                r##"<line x1="{x0:.1}" x2="{x1:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#e5e7eb"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#444">{}</text>"##,
                x0 - 6.0,
                y + 4.0,
                tick_label(t, step)
            );
        }
        for &t in &xticks {
            let x = sx.at(t);
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" x2="{x:.1}" y1="{top:.1}" y2="{:.1}" stroke="#f0f1f3"/>"##,
                top + PANEL_HEIGHT
            );
        }
        let band = path(
            c.xs.iter()
                .zip(p.band.iter().map(|b| b.0))
                .chain(c.xs.iter().zip(p.band.iter().map(|b| b.1)).rev())
                .filter(|(_, v)| v.is_finite())
                .map(|(&x, v)| (sx.at(x), sy.at(v))),
        );
        let line = path(
            c.xs.iter()
                .zip(&p.mid)
                .filter(|(_, v)| v.is_finite())
                .map(|(&x, &v)| (sx.at(x), sy.at(v))),
        );
        let title = escape(&p.title);
        let (hx, hy) = (sx.at(c.here), sy.at(p.here));
        let mid = top + PANEL_HEIGHT / 2.0;
        let _ = write!(
            s,
            r##"<path class="band" d="{band}Z" fill="rgba(47,111,222,0.15)"/><path class="line" d="{line}" fill="none" stroke="#2f6fde" stroke-width="2"/><circle class="here" cx="{hx:.1}" cy="{hy:.1}" r="5" fill="#b42318"><title>{title}: {} at {} %</title></circle><rect x="{x0:.1}" y="{top:.1}" width="{:.1}" height="{PANEL_HEIGHT:.1}" fill="none" stroke="#9ca3af"/><text transform="translate(14 {mid:.1}) rotate(-90)" text-anchor="middle" fill="#222">{title}</text></g>"##,
            significant(p.here, 4),
            significant(c.here, 4),
            x1 - x0,
        );
    }
    for &t in &xticks {
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#444">{}</text>"##,
            sx.at(t),
            bottom + 15.0,
            tick_label(t, xstep)
        );
    }
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#222">{}</text></svg>"##,
        (x0 + x1) / 2.0,
        bottom + 36.0,
        escape(&c.x_title)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_round_and_cover_the_range() {
        assert_eq!(
            linear_ticks(0.0, 10.0, 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(
            linear_ticks(4.3, 16.2, 6),
            vec![6.0, 8.0, 10.0, 12.0, 14.0, 16.0]
        );
        assert_eq!(linear_ticks(4.3, 16.2, 3), vec![5.0, 10.0, 15.0]);
        let t = linear_ticks(-0.013, 0.021, 4);
        assert!(
            t.len() >= 3 && t[0] >= -0.013 && *t.last().unwrap() <= 0.021,
            "{t:?}"
        );
    }

    #[test]
    fn log_ticks_are_decades_or_one_two_five() {
        assert_eq!(
            log_ticks(3.0, 40_000.0),
            vec![10.0, 100.0, 1000.0, 10_000.0]
        );
        assert_eq!(log_ticks(150.0, 2100.0), vec![200.0, 500.0, 1000.0, 2000.0]);
        assert!(log_ticks(101.0, 104.0).len() >= 2);
    }

    #[test]
    fn labels_are_short() {
        assert_eq!(tick_label(10.0, 2.0), "10");
        assert_eq!(tick_label(0.25, 0.05), "0.25");
        assert_eq!(tick_label(-2.0, 1.0), "−2");
        assert_eq!(tick_label(1e6, 1e6), "1e+6");
        assert_eq!(tick_label(0.0, 1.0), "0");
        assert_eq!(significant(338.4567, 4), "338.5");
        assert_eq!(significant(0.012345, 3), "0.0123");
    }

    fn curve(title: &str) -> Curve {
        let xs: Vec<f64> = (0..100).map(|i| 5.0 + 0.1 * i as f64).collect();
        let mid: Vec<f64> = xs.iter().map(|x| 100.0 + x * x).collect();
        Curve {
            x_title: "Plantacare <818> (mass %)".into(),
            here: 9.0,
            shade: Some((6.0, 12.0)),
            panels: vec![
                Panel {
                    title: title.into(),
                    log: false,
                    band: mid.iter().map(|v| (v - 10.0, v + 10.0)).collect(),
                    mid: mid.clone(),
                    here: 181.0,
                },
                Panel {
                    title: "Viscosity (cP)".into(),
                    log: true,
                    // The low edge is not drawable on a log axis.
                    band: mid.iter().map(|v| (-v, 2.0 * v)).collect(),
                    mid,
                    here: 181.0,
                },
            ],
            xs,
        }
    }

    #[test]
    fn the_svg_has_a_panel_per_target_and_escapes_names() {
        let s = svg(&curve("Turbidity <b>&</b> (NTU)"), 600.0);
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert_eq!(s.matches(r#"class="panel""#).count(), 2);
        assert_eq!(s.matches(r#"class="here""#).count(), 2);
        assert!(s.contains("Turbidity &lt;b&gt;&amp;&lt;/b&gt; (NTU)"));
        assert!(s.contains("Plantacare &lt;818&gt; (mass %)"));
        assert!(!s.contains("<b>"));
        assert!(s.contains(r#"class="training""#));
        assert!(!s.contains("NaN") && !s.contains("inf"), "{s}");
        assert_eq!(height(2), MARGIN[2] + MARGIN[3] + 2.0 * PANEL_HEIGHT + GAP);
    }
}
