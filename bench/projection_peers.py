#!/usr/bin/env python3
"""Projection peers: Python PCA / t-SNE / UMAP / Isomap / LLE on one matrix, timed and scored.

The explorer projects learned material codes (e.g. 5,400 x 100) to 2-D/3-D in Rust
(crates/core/src/projection). This script is the Python side of that benchmark: it runs the
reference implementations on the same matrix, in one process, with explicit thread counts, times
each one, and judges every result -- and, with --score, the Rust outputs -- by the same function,
sklearn.manifold.trustworthiness at k = 10. Not a test; the figures go to docs/benchmarks.md.

Python and the libraries come from the venv that bench/projection-peers-venv.sh makes:

  PY="$(bench/projection-peers-venv.sh)"
  "$PY" bench/projection_peers.py --make-blobs /tmp/blobs.npy   # 5400 x 100, 30 clusters, seed 1
  nice -n 5 "$PY" bench/projection_peers.py /tmp/blobs.npy --json /tmp/peers.json
  "$PY" bench/projection_peers.py codes.csv --methods pca,umap_seeded --repeats 5
  "$PY" bench/projection_peers.py codes.csv --methods none --score tsne.csv umap.csv --json s.json

Input matrix: .npy (2-D), or CSV with one row per point. CSV files (the matrix and the --score
files alike) may have a header row and a first column of names: a row is a header when one of its
fields (names column aside) is not a number, and the first column holds names when it is not
numeric below the first row. When both the matrix and a scored file have names, the scored rows are
matched to the matrix rows by name; otherwise rows are taken in the same order. Values are read as
float64 and every method gets the same float64 array (UMAP converts to float32 internally).

Methods (--methods, comma-separated keys; default all; "none" to only --score):
  pca            scikit-learn PCA(n_components=D, svd_solver="auto", random_state=SEED)
  sklearn_tsne   scikit-learn TSNE(method="barnes_hut", perplexity=30, init="pca",
                 learning_rate="auto", max_iter=1000 [n_iter before 1.5], angle 0.5, n_jobs=T,
                 random_state=SEED). max_iter counts the 250 early-exaggeration iterations.
  opentsne_bh    openTSNE TSNE(negative_gradient_method="bh", perplexity=30, n_jobs=T,
                 initialization="pca", learning_rate="auto", random_state=SEED,
                 early_exaggeration_iter=250, n_iter=750): openTSNE's n_iter excludes the
                 early-exaggeration phase, so 250 + 750 = the same 1000 iterations as sklearn
                 (openTSNE's own default is 250 + 500). Neighbours: "auto" (Annoy for n >= 1000).
  opentsne_fft   the same with negative_gradient_method="fft" (openTSNE's default above 10,000
                 points; 1-D/2-D only, skipped for --dims 3). The PyPI wheel does its FFTs with
                 numpy (no FFTW); the grid follows the embedding's extent, not n, so it can be
                 slower than BH on small inputs.
  umap_seeded    umap-learn UMAP(n_neighbors=15, min_dist=0.1, random_state=SEED, n_jobs=1):
                 a random_state makes umap-learn single-threaded and deterministic (its serial
                 layout optimiser).
  umap_unseeded  umap-learn UMAP(n_neighbors=15, min_dist=0.1, random_state=None, n_jobs=T): the
                 parallel (Hogwild) code path, here restricted to T numba threads; not
                 reproducible run to run.
                 Both UMAP variants get one untimed warm-up run first (numba JIT compilation of
                 umap-learn and pynndescent happens on the first call); its time is reported apart.
  isomap         scikit-learn Isomap(n_neighbors=10, n_components=D, n_jobs=T)
  lle            scikit-learn LocallyLinearEmbedding(n_neighbors=10, method="standard",
                 n_components=D, random_state=SEED, n_jobs=T)
Everything not listed is the library's default.

Threads: --threads T (default 1) sets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS,
NUMBA_NUM_THREADS (and VECLIB/NUMEXPR) to T before numpy is imported, and is passed as n_jobs; the
thread pools actually loaded (threadpoolctl) and numba's thread count are printed and recorded.

Timing: wall clock (time.perf_counter) of the fit_transform / fit call alone, --repeats times
(default 3) per method, median reported with all runs; the process CPU time of the same calls
(time.process_time, all threads) beside it, which a busy machine disturbs less than wall time.
Trustworthiness@k (--trust-k, default 10) is computed once per method, on the embedding of its
last timed run, against the input matrix.

Output: a table on stderr; with --json FILE, a JSON report (per method: params, seconds_median,
seconds_runs, cpu_seconds_median, cpu_seconds_runs, warmup_seconds, trustworthiness, warnings,
error; per scored file: trustworthiness; plus library versions, Python, CPU, thread settings and
load averages). --save-coords DIR writes
each method's embedding as DIR/<method>.csv (header x,y[,z]).
"""
import argparse
import os
import sys

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
ALL_METHODS = ("pca", "sklearn_tsne", "opentsne_bh", "opentsne_fft", "umap_seeded",
               "umap_unseeded", "isomap", "lle")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                epilog="See the top of this file for details.")
    p.add_argument("matrix", nargs="?", help="input matrix: .npy, or CSV one row per point")
    p.add_argument("--threads", type=int, default=1,
                   help="threads for BLAS/OpenMP/numba and n_jobs (default 1)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per method (default 3)")
    p.add_argument("--methods", default="all",
                   help="comma-separated subset of: %s; 'all' (default) or 'none'"
                   % ",".join(ALL_METHODS))
    p.add_argument("--dims", type=int, choices=(2, 3), default=2, help="output dimensions (2)")
    p.add_argument("--seed", type=int, default=1, help="random_state where one is taken (1)")
    p.add_argument("--trust-k", type=int, default=10, help="trustworthiness n_neighbors (10)")
    p.add_argument("--score", nargs="+", metavar="FILE", default=[],
                   help="coordinate files (CSV/.npy) to score by trustworthiness against MATRIX")
    p.add_argument("--json", metavar="FILE", help="write the JSON report here")
    p.add_argument("--save-coords", metavar="DIR", help="write each method's embedding here")
    p.add_argument("--make-blobs", metavar="PATH",
                   help="write a synthetic test matrix (.npy or .csv) and exit; see --blobs")
    p.add_argument("--blobs", default="5400,100,30", metavar="N,D,K",
                   help="points, dimensions, clusters for --make-blobs (5400,100,30); the centres "
                   "are N(0, 2^2 I), points = centre + N(0, I), equal cluster sizes, rows "
                   "shuffled, seed --seed")
    a = p.parse_args()
    if a.make_blobs is None and a.matrix is None:
        p.error("MATRIX is required (or --make-blobs PATH)")
    if a.threads < 1 or a.repeats < 1:
        p.error("--threads and --repeats must be >= 1")
    if a.methods == "all":
        a.methods = list(ALL_METHODS)
    elif a.methods == "none":
        a.methods = []
    else:
        a.methods = [m.strip() for m in a.methods.split(",") if m.strip()]
        bad = [m for m in a.methods if m not in ALL_METHODS]
        if bad:
            p.error("unknown method(s) %s; choose from %s" % (bad, ", ".join(ALL_METHODS)))
    return a


ARGS = parse_args()
# Thread counts must be in the environment before numpy (and so BLAS, OpenMP, numba) is imported.
for _v in THREAD_VARS:
    os.environ[_v] = str(ARGS.threads)

import csv  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
import importlib.metadata as md  # noqa: E402

import numpy as np  # noqa: E402


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --- reading matrices and coordinate files -------------------------------------------------------

def _isnum(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def load_table(path):
    """Returns (float64 2-D array, names or None, list of notes about what was skipped)."""
    if path.endswith(".npy"):
        arr = np.asarray(np.load(path), dtype=np.float64)
        if arr.ndim != 2:
            raise SystemExit(f"{path}: expected a 2-D array, got shape {arr.shape}")
        return arr, None, []
    with open(path, newline="") as f:
        text = f.read()
    first = text.split("\n", 1)[0]
    delim = "\t" if ("\t" in first and "," not in first) else ","
    rows = [[c.strip() for c in r] for r in csv.reader(text.splitlines(), delimiter=delim)]
    rows = [r for r in rows if any(r)]
    if not rows:
        raise SystemExit(f"{path}: empty")
    notes = []
    body = rows[1:] if len(rows) > 1 else rows
    name_col = any(not _isnum(r[0]) for r in body if r)
    start = 1 if name_col else 0
    header = not all(_isnum(c) for c in rows[0][start:])
    data = rows[1:] if header else rows
    if header:
        notes.append("header row skipped")
    if name_col:
        notes.append("first column read as names")
    widths = {len(r) for r in data}
    if len(widths) != 1:
        raise SystemExit(f"{path}: rows have different numbers of fields {sorted(widths)}")
    try:
        arr = np.array([[float(c) for c in r[start:]] for r in data], dtype=np.float64)
    except ValueError as e:
        raise SystemExit(f"{path}: non-numeric value ({e})")
    names = [r[0] for r in data] if name_col else None
    return arr, names, notes


def make_blobs(path, spec, seed):
    n, d, k = (int(x) for x in spec.split(","))
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 2.0, size=(k, d))
    labels = np.arange(n) % k
    rng.shuffle(labels)
    x = centres[labels] + rng.normal(0.0, 1.0, size=(n, d))
    if path.endswith(".npy"):
        np.save(path, x)
    else:
        np.savetxt(path, x, delimiter=",", fmt="%.9g")
    log(f"wrote {path}: {n} x {d}, {k} Gaussian clusters (centres N(0,4I), unit noise), seed {seed}")


# --- the methods ----------------------------------------------------------------------------------

def method_table(dims, seed, threads):
    """key -> (library, params, factory(); factory returns a callable X -> embedding)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE, Isomap, LocallyLinearEmbedding
    import inspect

    m = {}
    pca = dict(n_components=dims, svd_solver="auto", random_state=seed)
    m["pca"] = ("scikit-learn", pca, lambda: PCA(**pca).fit_transform)

    iters = "max_iter" if "max_iter" in inspect.signature(TSNE).parameters else "n_iter"
    sk_tsne = dict(n_components=dims, method="barnes_hut", perplexity=30.0, init="pca",
                   learning_rate="auto", **{iters: 1000}, random_state=seed, n_jobs=threads)
    m["sklearn_tsne"] = ("scikit-learn", sk_tsne, lambda: TSNE(**sk_tsne).fit_transform)

    def otsne(method):
        params = dict(n_components=dims, perplexity=30, negative_gradient_method=method,
                      initialization="pca", learning_rate="auto", early_exaggeration_iter=250,
                      n_iter=750, neighbors="auto", n_jobs=threads, random_state=seed)

        def factory():
            import openTSNE
            est = openTSNE.TSNE(**params)
            return lambda x: np.asarray(est.fit(x))
        return ("openTSNE", params, factory)
    m["opentsne_bh"] = otsne("bh")
    if dims <= 2:
        m["opentsne_fft"] = otsne("fft")

    def umap_variant(random_state, n_jobs):
        params = dict(n_components=dims, n_neighbors=15, min_dist=0.1, random_state=random_state,
                      n_jobs=n_jobs)

        def factory():
            import umap
            return umap.UMAP(**params).fit_transform
        return ("umap-learn", params, factory)
    m["umap_seeded"] = umap_variant(seed, 1)
    m["umap_unseeded"] = umap_variant(None, threads)

    iso = dict(n_neighbors=10, n_components=dims, n_jobs=threads)
    m["isomap"] = ("scikit-learn", iso, lambda: Isomap(**iso).fit_transform)
    lle = dict(n_neighbors=10, n_components=dims, method="standard", random_state=seed,
               n_jobs=threads)
    m["lle"] = ("scikit-learn", lle, lambda: LocallyLinearEmbedding(**lle).fit_transform)
    return m


WARMUP = {"umap_seeded", "umap_unseeded"}


def run_once(factory, x):
    """One fresh estimator, one fit; returns (wall s, CPU s, embedding, warning messages)."""
    fit = factory()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c0, t0 = time.process_time(), time.perf_counter()
        emb = fit(x)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    return secs, cpu, np.asarray(emb, dtype=np.float64), [f"{w.category.__name__}: {w.message}"
                                                          for w in caught]


# --- environment report ---------------------------------------------------------------------------

def versions():
    out = {"python": platform.python_version()}
    for pkg in ("numpy", "scipy", "scikit-learn", "openTSNE", "umap-learn", "pynndescent", "numba",
                "llvmlite", "threadpoolctl", "joblib"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def thread_report():
    rep = {"requested": ARGS.threads, "env": {v: os.environ.get(v) for v in THREAD_VARS}}
    try:
        import numba
        rep["numba_threads"] = numba.get_num_threads()
        rep["numba_threading_layer_config"] = numba.config.THREADING_LAYER
    except Exception as e:  # numba missing: report, go on
        rep["numba_threads"] = f"unavailable ({e})"
    try:
        # Import what loads OpenMP / BLAS first so that their pools are visible.
        import sklearn.manifold  # noqa: F401
        import scipy.linalg  # noqa: F401
        from threadpoolctl import threadpool_info
        rep["threadpools"] = [{k: p.get(k) for k in ("user_api", "internal_api", "num_threads",
                                                     "version", "filepath")}
                              for p in threadpool_info()]
    except Exception as e:
        rep["threadpools"] = f"unavailable ({e})"
    return rep


# --- main -----------------------------------------------------------------------------------------

def main():
    a = ARGS
    if a.make_blobs:
        make_blobs(a.make_blobs, a.blobs, a.seed)
        return

    from sklearn.manifold import trustworthiness

    x, names, notes = load_table(a.matrix)
    log(f"matrix {a.matrix}: {x.shape[0]} x {x.shape[1]}" + (f" ({'; '.join(notes)})" if notes else ""))
    if not np.all(np.isfinite(x)):
        raise SystemExit(f"{a.matrix}: contains NaN or infinite values")

    vers = versions()
    threads = thread_report()
    log("versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()))
    log(f"threads: --threads {a.threads}; " + ", ".join(f"{k}={v}" for k, v in threads["env"].items()))
    log(f"  numba threads: {threads.get('numba_threads')}")
    if isinstance(threads["threadpools"], list):
        for p in threads["threadpools"]:
            log(f"  {p['user_api']}/{p['internal_api']}: {p['num_threads']} threads "
                f"({os.path.basename(p['filepath'] or '')})")
    load_before = os.getloadavg()
    log(f"cpu: {cpu_model()}, {os.cpu_count()} logical cores, load average {load_before[0]:.2f}, "
        f"nice {os.nice(0)}")

    def trust(emb):
        return float(trustworthiness(x, emb, n_neighbors=a.trust_k))

    table = method_table(a.dims, a.seed, a.threads)
    results = []
    for key in a.methods:
        if key not in table:
            log(f"-- {key}: skipped (not available for --dims {a.dims})")
            results.append({"method": key, "skipped": f"not available for --dims {a.dims}"})
            continue
        lib, params, factory = table[key]
        rec = {"method": key, "library": lib, "params": params, "repeats": a.repeats}
        log(f"-- {key} ({lib}) {params}")
        msgs = []
        try:
            if key in WARMUP:
                secs, cpu, _, w = run_once(factory, x)
                msgs += w
                rec["warmup_seconds"] = secs
                log(f"   warm-up run (untimed; numba JIT compilation): {secs:.2f} s (CPU {cpu:.2f} s)")
            runs, cpus, emb = [], [], None
            for i in range(a.repeats):
                secs, cpu, emb, w = run_once(factory, x)
                msgs += w
                runs.append(secs)
                cpus.append(cpu)
                log(f"   run {i + 1}/{a.repeats}: {secs:.2f} s (CPU {cpu:.2f} s)")
            rec["seconds_runs"] = runs
            rec["seconds_median"] = statistics.median(runs)
            rec["cpu_seconds_runs"] = cpus
            rec["cpu_seconds_median"] = statistics.median(cpus)
            t0 = time.perf_counter()
            rec["trustworthiness"] = trust(emb)
            log(f"   trustworthiness@{a.trust_k}: {rec['trustworthiness']:.4f} "
                f"(computed in {time.perf_counter() - t0:.1f} s)")
            if a.save_coords:
                os.makedirs(a.save_coords, exist_ok=True)
                out = os.path.join(a.save_coords, f"{key}.csv")
                np.savetxt(out, emb, delimiter=",", fmt="%.7g", comments="",
                           header=",".join("xyz"[:emb.shape[1]]))
                rec["coords_file"] = out
        except Exception as e:  # one failing method must not lose the others' figures
            rec["error"] = f"{type(e).__name__}: {e}"
            log(f"   ERROR {rec['error']}")
        uniq = list(dict.fromkeys(msgs))
        if uniq:
            rec["warnings"] = uniq
            for w in uniq:
                log(f"   warning: {w[:300]}")
        results.append(rec)

    scores = []
    for path in a.score:
        rec = {"file": path}
        try:
            y, ynames, ynotes = load_table(path)
            if ynotes:
                rec["read_notes"] = ynotes
            if names is not None and ynames is not None:
                pos = {n: i for i, n in enumerate(ynames)}
                missing = [n for n in names if n not in pos]
                if missing or len(ynames) != len(names):
                    raise ValueError(f"names do not match the matrix's ({len(missing)} missing, "
                                     f"{len(ynames)} rows vs {len(names)})")
                y = y[[pos[n] for n in names]]
                rec["rows_matched_by"] = "name"
            elif y.shape[0] != x.shape[0]:
                raise ValueError(f"{y.shape[0]} rows, the matrix has {x.shape[0]}")
            else:
                rec["rows_matched_by"] = "order"
                if ynames is not None:
                    log(f"   note: {path} has names but the matrix has none: rows taken in order")
            if y.shape[1] not in (2, 3):
                log(f"   note: {path} has {y.shape[1]} coordinate columns")
            rec["n_points"], rec["dims"] = int(y.shape[0]), int(y.shape[1])
            rec["trustworthiness"] = trust(y)
            log(f"-- scored {path}: {y.shape[0]} x {y.shape[1]} ({'; '.join(ynotes) or 'plain'}, "
                f"rows matched by {rec['rows_matched_by']}), trustworthiness@{a.trust_k}: "
                f"{rec['trustworthiness']:.4f}")
        except (Exception, SystemExit) as e:
            rec["error"] = str(e)
            log(f"-- scored {path}: ERROR {e}")
        scores.append(rec)

    load_after = os.getloadavg()
    # --- table ---
    log("")
    log(f"{a.matrix}: {x.shape[0]} x {x.shape[1]} -> {a.dims}-D; --threads {a.threads}, "
        f"median of {a.repeats}; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    log(f"{'method':<15} {'library':<13} {'median s':>9} {'runs s':<26} {'CPU s':>7} "
        f"{'trust@' + str(a.trust_k):>9}")
    for r in results:
        if "skipped" in r:
            log(f"{r['method']:<15} {'':<13} {'skipped':>9}")
        elif "error" in r:
            log(f"{r['method']:<15} {r['library']:<13} {'ERROR':>9} {r['error'][:60]}")
        else:
            runs = " ".join(f"{s:.2f}" for s in r["seconds_runs"])
            extra = f"  (warm-up {r['warmup_seconds']:.1f} s untimed)" if "warmup_seconds" in r else ""
            log(f"{r['method']:<15} {r['library']:<13} {r['seconds_median']:>9.2f} {runs:<26} "
                f"{r['cpu_seconds_median']:>7.2f} {r['trustworthiness']:>9.4f}{extra}")
    for s in scores:
        name = os.path.basename(s["file"])
        if "error" in s:
            log(f"{name:<29} {'':>9} {'(scored file)':<26} {'':>7} {'ERROR':>9}")
        else:
            log(f"{name:<29} {'':>9} {'(scored file)':<26} {'':>7} {s['trustworthiness']:>9.4f}")

    if a.json:
        report = {
            "input": {"path": a.matrix, "rows": int(x.shape[0]), "cols": int(x.shape[1]),
                      "read_notes": notes},
            "dims": a.dims, "seed": a.seed, "repeats": a.repeats, "trust_k": a.trust_k,
            "timing": "wall clock of fit_transform/fit only; median of repeats; umap-learn after "
                      "one untimed warm-up run (numba JIT)",
            "trustworthiness": f"sklearn.manifold.trustworthiness(X, Y, n_neighbors={a.trust_k}) "
                               "on the last timed run's embedding",
            "threads": threads, "versions": vers,
            "machine": {"cpu": cpu_model(), "logical_cores": os.cpu_count(),
                        "platform": platform.platform(), "nice": os.nice(0),
                        "loadavg_before": load_before, "loadavg_after": load_after},
            "results": results, "scores": scores,
        }
        with open(a.json, "w") as f:
            json.dump(report, f, indent=2)
        log(f"wrote {a.json}")


if __name__ == "__main__":
    main()
