"""Mixlab's model and training loop in PyTorch (CPU, float32), for the training-speed benchmark
(scripts/bench-train-speed.sh). Same algorithm as crates/core/src/train.rs, not the same random
numbers:

- materials: every column that is not id / a condition / a target; each row normalised to sum 1;
- codes e_i ~ N(0, 0.1^2), m = fractions @ tanh(codes); standardised conditions concatenated;
- MLP (ReLU), He-uniform weights (bound sqrt(6/d_in)), zero biases, one output per target;
- regression targets standardised with the training rows' mean and population std (conditions
  likewise), masked mean squared error per target, summed over targets;
- Adam (0.9, 0.999, 1e-8), cosine decay lr_t = lr (0.1 + 0.45 (1 + cos(pi t / steps)));
- 10 % of rows held out for validation; batches of `batch_size` rows from a reshuffle of the
  training rows each epoch (the tail that does not fill a batch is skipped, as in Rust).

Prints one JSON object: train_seconds (the training loop only), total_seconds (from the start of
this script, torch import and CSV reading included), and MAE in the target's units.

    python bench/torch_train.py --data data/concrete/data.csv --targets strength_mpa \
        --conditions age_days,total_mass_kg_per_m3 --code-dim 8 --hidden 64,64 --steps 3000
"""

import time

T0 = time.perf_counter()

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402

import torch  # noqa: E402

T_IMPORT = time.perf_counter()


def read_wide(path, targets, conditions, drop):
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    header = [h.strip() for h in rows[0]]
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    skip = {header[0], *targets, *conditions, *drop}
    materials = [h for h in header if h not in skip]
    col = {h: i for i, h in enumerate(header)}

    def num(cell):
        cell = cell.strip()
        return float(cell) if cell else math.nan

    amounts = torch.tensor([[num(r[col[m]]) for m in materials] for r in body], dtype=torch.float64)
    amounts = torch.nan_to_num(amounts, nan=0.0)
    fractions = (amounts / amounts.sum(dim=1, keepdim=True)).float()
    cond = torch.tensor([[num(r[col[c]]) for c in conditions] for r in body], dtype=torch.float64)
    y = torch.tensor([[num(r[col[t]]) for t in targets] for r in body], dtype=torch.float64)
    return materials, fractions, cond.reshape(len(body), len(conditions)), y


def nan_mean_std(x):
    """Column mean and population std of the finite values (std floored at 1e-6, as in Rust)."""
    mask = torch.isfinite(x)
    n = mask.sum(0).clamp_min(1)
    z = torch.where(mask, x, torch.zeros_like(x))
    mean = z.sum(0) / n
    var = (torch.where(mask, x - mean, torch.zeros_like(x)) ** 2).sum(0) / n
    return mean, var.sqrt().clamp_min(1e-6)


class MixModel(torch.nn.Module):
    def __init__(self, n_materials, code_dim, n_conditions, hidden, n_targets):
        super().__init__()
        self.codes = torch.nn.Parameter(0.1 * torch.randn(n_materials, code_dim))
        widths = [code_dim + n_conditions, *hidden, n_targets]
        self.layers = torch.nn.ModuleList()
        for d_in, d_out in zip(widths[:-1], widths[1:]):
            layer = torch.nn.Linear(d_in, d_out)
            bound = math.sqrt(6.0 / d_in)
            with torch.no_grad():
                layer.weight.uniform_(-bound, bound)
                layer.bias.zero_()
            self.layers.append(layer)

    def forward(self, fractions, conditions):
        x = fractions @ torch.tanh(self.codes)
        if conditions.shape[1]:
            x = torch.cat([x, conditions], dim=1)
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x


def masked_mse(out, y, mask):
    per = (out - y) ** 2 * mask
    return (per.sum(0) / mask.sum(0).clamp_min(1.0)).sum()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--targets", required=True, help="regression targets, comma separated")
    p.add_argument("--conditions", default="")
    p.add_argument("--drop", default="")
    p.add_argument("--code-dim", type=int, default=8)
    p.add_argument("--hidden", default="64,64")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--validation-fraction", type=float, default=0.1)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    split = lambda s: [x for x in (v.strip() for v in s.split(",")) if x]  # noqa: E731
    targets, conditions, drop = split(a.targets), split(a.conditions), split(a.drop)
    hidden = [int(h) for h in split(a.hidden)]

    materials, fractions, cond_raw, y_raw = read_wide(a.data, targets, conditions, drop)
    rows = fractions.shape[0]
    order = torch.randperm(rows)
    n_val = min(round(rows * a.validation_fraction), rows - 1)
    val_rows, train_rows = order[:n_val], order[n_val:].sort().values

    c_mean, c_std = nan_mean_std(cond_raw[train_rows])
    t_mean, t_std = nan_mean_std(y_raw[train_rows])
    cond = ((cond_raw - c_mean) / c_std).float()
    mask = torch.isfinite(y_raw).float()
    y = torch.nan_to_num((y_raw - t_mean) / t_std, nan=0.0).float()

    model = MixModel(len(materials), a.code_dim, len(conditions), hidden, len(targets))
    opt = torch.optim.Adam(model.parameters(), lr=a.learning_rate, betas=(0.9, 0.999), eps=1e-8)
    bs = max(1, min(a.batch_size, len(train_rows)))
    x_tr, c_tr, y_tr, m_tr = fractions[train_rows], cond[train_rows], y[train_rows], mask[train_rows]
    n_train = len(train_rows)

    t_loop = time.perf_counter()
    epoch, cursor = None, n_train
    losses = []
    for step in range(1, a.steps + 1):
        if cursor + bs > n_train:
            epoch, cursor = torch.randperm(n_train), 0
        idx = epoch[cursor : cursor + bs]
        cursor += bs
        lr = a.learning_rate * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * step / a.steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss = masked_mse(model(x_tr[idx], c_tr[idx]), y_tr[idx], m_tr[idx])
        loss.backward()
        opt.step()
        losses.append(loss.item())  # Rust also reads the loss back every step
    train_seconds = time.perf_counter() - t_loop

    with torch.no_grad():
        pred = model(fractions, cond).double() * t_std + t_mean
    metrics = {}
    for k, name in enumerate(targets):
        for split_name, r in (("train", train_rows), ("validation", val_rows)):
            ok = torch.isfinite(y_raw[r, k])
            err = (pred[r, k][ok] - y_raw[r, k][ok]).abs()
            metrics[f"{name}.{split_name}.mae"] = float(err.mean()) if len(err) else math.nan

    print(
        json.dumps(
            {
                "trainer": "pytorch",
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "steps": a.steps,
                "batch_size": bs,
                "train_rows": n_train,
                "validation_rows": int(n_val),
                "final_loss": losses[-1] if losses else math.nan,
                "train_seconds": train_seconds,
                "import_seconds": T_IMPORT - T0,
                "total_seconds": time.perf_counter() - T0,
                "metrics": metrics,
            }
        )
    )


if __name__ == "__main__":
    main()
