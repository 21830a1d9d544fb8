"""The batch-scoring peer: a Mixlab bundle's ensemble in PyTorch (CPU, float32), scoring a wide
CSV read with pandas and writing it back with the predictions appended, as the app's "Score a
file" does (no validation report, no domain check). For bench/batch-scoring.sh.

Prints one JSON object: rows, read_s (pandas.read_csv), predict_s (fractions, conditions and the
forward pass), write_s (DataFrame.to_csv), seconds (the three together: file in to file out) and
total_s (from the start of this script, Python and torch imports included).

    python bench/torch_score.py --bundle DIR --data file.csv --out scored.csv
"""

import time

T0 = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import struct  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402


def read_safetensors(path):
    """name -> float32 tensor (the format is an 8-byte header length, a JSON header, the data)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    data = blob[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{name}: {info['dtype']}"
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=np.float32).copy()).reshape(info["shape"])
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bundle", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    manifest = json.load(open(f"{args.bundle}/manifest.json"))
    weights = read_safetensors(f"{args.bundle}/weights.safetensors")
    arch = manifest["architecture"]
    k = arch["members"]
    prefix = lambda m: f"members.{m}." if m > 0 else ""  # member 0 keeps the version-1 names
    n_layers = len(arch["hidden"]) + 1
    members = [
        (weights[f"{prefix(m)}codes"], [(weights[f"{prefix(m)}layers.{i}.weight"], weights[f"{prefix(m)}layers.{i}.bias"]) for i in range(n_layers)])
        for m in range(k)
    ]

    t_read = time.perf_counter()
    df = pd.read_csv(args.data)
    t_predict = time.perf_counter()
    names = [m["name"] for m in manifest["materials"]]
    amounts = df.reindex(columns=names, fill_value=0.0).fillna(0.0).to_numpy(dtype=np.float64)
    fractions = torch.from_numpy((amounts / amounts.sum(axis=1, keepdims=True)).astype(np.float32))
    conds = []
    for c in manifest["conditions"]:
        x = df[c["name"]].to_numpy(dtype=np.float64)
        if c.get("transform") == "log10":
            x = np.log10(x)
        conds.append(((x - c["mean"]) / c["std"]).astype(np.float32))
    conditions = torch.from_numpy(np.stack(conds, axis=1)) if conds else None
    act = {"relu": torch.relu, "gelu": torch.nn.functional.gelu, "silu": torch.nn.functional.silu, "tanh": torch.tanh}[arch["hidden_activation"]]
    code_act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "identity": lambda x: x}[arch["code_activation"]]
    outs = []
    with torch.inference_mode():
        for codes, layers in members:
            x = fractions @ code_act(codes)
            if conditions is not None:
                x = torch.cat([x, conditions], dim=1)
            for i, (w, b) in enumerate(layers):
                z = x @ w + b
                if i == len(layers) - 1:
                    x = z
                else:
                    h = act(z)
                    x = x + h if arch["residual"] and w.shape[0] == w.shape[1] else h
            cols = []
            for t, spec in enumerate(manifest["targets"]):
                z = x[:, t].double()
                if spec["kind"] == "binary":
                    v = torch.sigmoid(z)
                else:
                    v = z * spec["std"] + spec["mean"]
                    if spec.get("transform") == "log10":
                        v = 10.0**v
                cols.append(v)
            outs.append(torch.stack(cols, dim=1))
    stacked = torch.stack(outs)
    mean = stacked.mean(0).numpy()
    spread = stacked.std(0, unbiased=True).numpy() if k > 1 else np.zeros_like(mean)
    for t, spec in enumerate(manifest["targets"]):
        df[f"{spec['name']}_predicted"] = mean[:, t]
    if k > 1:
        for t, spec in enumerate(manifest["targets"]):
            df[f"{spec['name']}_spread"] = spread[:, t]
    t_write = time.perf_counter()
    df.to_csv(args.out, index=False)
    t_end = time.perf_counter()
    print(json.dumps({
        "rows": len(df), "read_s": t_predict - t_read, "predict_s": t_write - t_predict,
        "write_s": t_end - t_write, "seconds": t_end - t_read, "total_s": t_end - T0,
    }))


if __name__ == "__main__":
    main()
