#!/usr/bin/env python3
"""Write public/examples/shampoo-batch.csv: the shampoo dataset's formulations (id, the 19
material fractions) with its three measured targets as truth columns, for the app's "Score a
file" example (the parity plot and metrics need the true values). Deterministic; stdlib only."""
import csv
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent
src = root / "data/shampoo/data.csv"
dst = root / "public/examples/shampoo-batch.csv"
drop = {"turbidity_error_ntu", "viscosity_class", "rheology_type"}
with src.open(newline="") as f:
    rows = list(csv.reader(f))
keep = [i for i, h in enumerate(rows[0]) if h not in drop]
dst.parent.mkdir(parents=True, exist_ok=True)
with dst.open("w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    for r in rows:
        w.writerow([r[i] for i in keep])
print(f"{dst.relative_to(root)}: {len(rows) - 1} formulations, {len(keep)} columns")
