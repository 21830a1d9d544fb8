//! `report.html` for `mixlab evaluate`: box plots of the per-split errors and learning curves,
//! drawn by the vendored plotly.js written next to it (no network needed to open it).

use serde_json::{Value, json};

/// The vendored plotly.js the report loads (public/vendor/plotly).
pub const PLOTLY_JS: &[u8] =
    include_bytes!("../../../public/vendor/plotly/plotly-cartesian.min.js");
pub const PLOTLY_FILE: &str = "plotly-cartesian.min.js";

/// The page for a report.json value (`results[].code_dim/splits/curves`). The data travels as
/// JSON inside a non-executed script element; `<` is escaped so no name can close it.
pub fn render(report: &Value, title: &str) -> String {
    let data = json!({
        "title": title,
        "results": report["results"],
    })
    .to_string()
    .replace('<', "\\u003c");
    let title = escape(title);
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} · Mixlab evaluation</title>
<script src="{PLOTLY_FILE}"></script>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
.plot {{ width: 100%; max-width: 1100px; height: 420px; }}
p.note {{ color: #555; max-width: 60rem; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="note">Per-split errors for each code length (box plots: one point per split), then learning
curves: the mean over splits of the training loss and of the loss on each split's held-out rows
(standardised units: squared error for regression targets, cross-entropy for binary ones).
The same numbers are in report.json; the table is in report.md.</p>
<div id="plots"></div>
<script type="application/json" id="report-data">{data}</script>
<script>
{SCRIPT}
</script>
</body>
</html>
"#
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Builds the plots from the embedded JSON; every label goes through plotly as text.
const SCRIPT: &str = r#"
const data = JSON.parse(document.getElementById('report-data').textContent);
const text = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const host = document.getElementById('plots');
function panel(title) {
  const h = document.createElement('h2'); h.textContent = title; host.appendChild(h);
  const div = document.createElement('div'); div.className = 'plot'; host.appendChild(div);
  return div;
}
const targets = new Set();
for (const r of data.results) for (const s of r.splits) for (const t of Object.keys(s)) targets.add(t);
for (const target of targets) {
  const binary = data.results.some((r) => r.splits.some((s) => s[target] && s[target].eval && s[target].eval.roc_auc != null));
  const metric = binary ? 'roc_auc' : 'mae';
  const traces = [];
  for (const subset of binary ? ['eval', 'train'] : ['full', 'eval', 'train']) {
    const x = [], y = [];
    for (const r of data.results) for (const s of r.splits) {
      const v = s[target] && s[target][subset] && s[target][subset][metric];
      if (v != null) { x.push('d = ' + r.code_dim); y.push(v); }
    }
    traces.push({ type: 'box', name: subset, x, y, boxpoints: 'all', jitter: 0.3 });
  }
  Plotly.newPlot(panel(`${target}: ${binary ? 'ROC-AUC' : 'MAE'} per split`), traces, {
    boxmode: 'group', title: { text: text(target) },
    yaxis: { title: { text: binary ? 'ROC-AUC' : 'MAE' } },
  });
}
const curves = [];
for (const r of data.results) {
  const runs = (r.curves || []).filter((c) => c.length);
  if (!runs.length) continue;
  const steps = runs[0].map((p) => p.step);
  const mean = (key) => steps.map((_, i) => {
    const v = runs.map((c) => c[i] && c[i][key]).filter((x) => x != null);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
  });
  curves.push({ x: steps, y: mean('train'), name: `d = ${r.code_dim} train`, mode: 'lines' });
  curves.push({ x: steps, y: mean('monitor'), name: `d = ${r.code_dim} held out`, mode: 'lines', line: { dash: 'dot' } });
}
Plotly.newPlot(panel('Learning curves'), curves, {
  xaxis: { title: { text: 'step' } }, yaxis: { title: { text: 'loss' }, type: 'log' },
});
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_break_out_of_the_page() {
        let report = json!({"results": [{"code_dim": 2, "splits": [{"</script><img src=x onerror=alert(1)>": {}}], "curves": []}]});
        let html = render(&report, "<b>x</b>");
        assert!(!html.contains("</script><img"));
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert_eq!(html.matches("</script>").count(), 3);
        assert!(PLOTLY_JS.len() > 1_000_000);
    }
}
