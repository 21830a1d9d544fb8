#!/usr/bin/env python3
"""SciPy peers for `mixlab design`: the same inverse-design problem, solved with SLSQP (multi-start)
and differential evolution on a NumPy copy of the model.

Input: the problem Mixlab resolved and its model, as written by
`mixlab design ... --export-problem PROBLEM.json` (format: crates/core/src/design/export.rs), and
Mixlab's candidates CSV. Mixlab's best recipe is re-scored here first: if the NumPy model does not
reproduce its desirability to 1e-5 the run stops, since then the peers would solve another problem.

SciPy cannot express three of the rules (semi-continuous amounts: 0 or within [lo, hi]; at most
`max_ingredients` materials; only pairs of materials seen together in training). Both peers handle
them the way a user of SciPy would: solve a relaxation (or decode DE's genes into a recipe), prune it
to a support that meets the rules (required materials, then the largest amounts, up to the
ingredient limit, each seen with those kept before; amounts below their minimum dropped, or, as a
second try, kept), then re-solve with SLSQP on that support with bounds [lo, hi]. Only recipes that
pass a checker of every rule count.

The budget is checked between SLSQP's major iterations and DE's generations (SciPy's callbacks),
so a method can overrun it by one of those; SLSQP's QP is dense (about O(n³) per major iteration),
and with thousands of materials one iteration takes minutes (reported as longest_iteration_s).

Usage: design_peers.py PROBLEM.json --mixlab-csv CANDS.csv [--budget-s 300] [--seed 1]
Prints a summary per method and, last, one line `RESULT {json}` for bench/design-peers.sh.
"""

import argparse
import csv
import json
import math
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy
from scipy import optimize, special
from scipy.stats import qmc

# Mixlab counts a recipe as feasible when its total violation is at most 1e-9 (design/problem.rs).
TOL = 1e-9
# Mixlab's search score: the geometric mean is flat at 0, the arithmetic mean still points the way.
SOFT = 1e-3
# SLSQP's ftol is absolute: while D is 0 the objective is only the SOFT term (~1e-4), and the
# default 1e-6 stops it after a step or two.
FTOL = 1e-10


class Budget:
    """Wall-clock budget of one method: no new start/generation once it is spent."""

    def __init__(self, seconds):
        self.t0 = time.monotonic()
        self.seconds = seconds
        self.hit = False

    def elapsed(self):
        return time.monotonic() - self.t0

    def expired(self):
        if self.elapsed() > self.seconds:
            self.hit = True
        return self.hit

    def callback(self, *_):
        # SciPy's SLSQP (per major iteration) and DE (per generation) stop on StopIteration.
        if self.expired():
            raise StopIteration


# --- activations ------------------------------------------------------------------------------------

def act(name, v):
    if name == "relu":
        return np.maximum(v, 0.0)
    if name == "tanh":
        return np.tanh(v)
    if name == "silu":
        return v * special.expit(v)
    if name == "gelu":  # exact (erf) form, as host_model.rs
        return 0.5 * v * (1.0 + special.erf(v / math.sqrt(2.0)))
    raise ValueError(f"unknown activation {name}")


def act_grad(name, v):
    if name == "relu":
        return (v > 0.0).astype(v.dtype)
    if name == "tanh":
        return 1.0 - np.tanh(v) ** 2
    if name == "silu":
        s = special.expit(v)
        return s * (1.0 + v * (1.0 - s))
    if name == "gelu":
        return 0.5 * (1.0 + special.erf(v / math.sqrt(2.0))) + v * np.exp(-0.5 * v * v) / math.sqrt(2 * math.pi)
    raise ValueError(f"unknown activation {name}")


# --- the problem and its model -----------------------------------------------------------------------

class Problem:
    def __init__(self, p):
        self.names = p["materials"]
        n = self.n = len(self.names)
        self.lo = np.array(p["lo"], float)
        self.hi = np.array(p["hi"], float)
        self.required = np.array(p["required"], bool)
        self.max_ing = p["max_ingredients"] if p["max_ingredients"] is not None else n
        self.pareto = p["pareto"]
        # Linear rows (group sums and general limits) as a dense matrix; open ends are ±inf.
        rows = p["rows"]
        self.row_names = [r["name"] for r in rows]
        self.A = np.zeros((len(rows), n))
        for i, r in enumerate(rows):
            for k, c in r["terms"]:
                self.A[i, k] += c
        self.rmin = np.array([-np.inf if r["min"] is None else r["min"] for r in rows])
        self.rmax = np.array([np.inf if r["max"] is None else r["max"] for r in rows])
        self.price = None if p["price"] is None else np.array(p["price"], float)
        self.cost_max = p["cost_max"]
        self.kappa = p["kappa"]
        if self.kappa < 0:  # design specs are cautious (κ ≥ 0); optimistic κ is not modelled here
            raise SystemExit(f"ERROR: kappa {self.kappa} < 0 is not supported")
        self.goals = p["goals"]
        self.cost_goal = p["cost_goal"] if self.price is not None else None
        gw = [g["weight"] for g in self.goals] + ([self.cost_goal["weight"]] if self.cost_goal else [])
        self.weights = np.array(gw, float)
        self.conds = p["conditions"]
        self.free = [j for j, c in enumerate(self.conds) if c["min"] < c["max"]]
        self.targets = p["targets"]
        # Pair rule: a boolean matrix; skipped when absent or when every pair was seen.
        self.pairs = None
        sp = p["seen_pairs"]
        if sp:
            P = np.zeros((n, n), bool)
            ij = np.array(sp, int)
            P[ij[:, 0], ij[:, 1]] = True
            P |= P.T
            np.fill_diagonal(P, True)
            if not P.all():
                self.pairs = P
        m = p["model"]
        self.act = m["hidden_activation"]
        self.residual = m["residual"]
        mem = m["members"]
        self.reps = np.array([mm["reps"] for mm in mem], float)  # (M, n, d)
        nl = len(mem[0]["layers"])
        self.W = [np.array([mm["layers"][l][0] for mm in mem], float) for l in range(nl)]
        self.b = [np.array([mm["layers"][l][1] for mm in mem], float)[:, None, :] for l in range(nl)]
        self.rows_scored = 0  # recipes passed through the model
        self.grads = 0  # gradient evaluations (one recipe each)

    # Conditions: the raw values (B, ncond) from the fixed ones and the free variables.
    def cond_values(self, free_vals, B):
        C = np.empty((B, len(self.conds)))
        for j, c in enumerate(self.conds):
            C[:, j] = c["min"]
        if self.free:
            C[:, self.free] = free_vals
        return C

    def _std_conds(self, C):
        Z = np.empty_like(C)
        dZ = np.empty_like(C)  # d standardised / d raw
        for j, c in enumerate(self.conds):
            v = C[:, j]
            if c["log10"]:
                Z[:, j] = (np.log10(v) - c["mean"]) / c["std"]
                dZ[:, j] = 1.0 / (c["std"] * v * math.log(10.0))
            else:
                Z[:, j] = (v - c["mean"]) / c["std"]
                dZ[:, j] = 1.0 / c["std"]
        return Z, dZ

    @staticmethod
    def _shape(g, y):
        if g["shape"] == "rising":
            return np.clip((y - g["a"]) / (g["b"] - g["a"]), 0.0, 1.0)
        out = np.maximum(np.maximum(g["a"] - y, y - g["b"]), 0.0)
        return np.clip(1.0 - out / g["margin"], 0.0, 1.0)

    @staticmethod
    def _shape_grad(g, y):
        val = Problem._shape(g, y)
        inside = (val > 0.0) & (val < 1.0)
        if g["shape"] == "rising":
            return np.where(inside, 1.0 / (g["b"] - g["a"]), 0.0)
        slope = np.where(g["a"] - y > y - g["b"], 1.0, -1.0) / g["margin"]
        return np.where(inside, slope, 0.0)

    def desirability(self, mean, sd, cost):
        """Goal d's (the worse end of mean ± κ·spread; plateaus also at the mean), D (weighted
        geometric mean) and the search score, from predictions (B, T) and cost (B) or None."""
        B = mean.shape[0]
        k = self.kappa
        ds, picks = [], []
        for g in self.goals:
            t = g["target"]
            cands = [(mean[:, t] - k * sd[:, t], -1.0), (mean[:, t] + k * sd[:, t], 1.0)]
            if g["shape"] == "plateau":
                cands.append((mean[:, t], 0.0))
            vals = np.stack([self._shape(g, y) for y, _ in cands], 1)
            which = vals.argmin(1)
            ds.append(vals[np.arange(B), which])
            picks.append((cands, which))
        if self.cost_goal:
            ds.append(self._shape(self.cost_goal, cost))
        d = np.stack(ds, 1)
        w = self.weights
        total = w.sum()
        pos = (d > 0.0).all(1)
        D = np.where(pos, np.exp((np.log(np.where(pos[:, None], d, 1.0)) * w).sum(1) / total), 0.0)
        score = D + SOFT * (d * w).sum(1) / total
        return {"D": D, "score": score, "d": d, "mean": mean, "sd": sd, "cost": cost, "picks": picks}

    def evaluate(self, X, C, grad=False):
        """Desirability D, search score (D + SOFT·arith mean), goal d's and predictions for a batch of
        recipes X (B, n) with raw conditions C (B, ncond); with grad, d score / d X and / d C."""
        B = X.shape[0]
        M = self.reps.shape[0]
        self.rows_scored += B
        self.grads += B if grad else 0
        Zc, dZc = self._std_conds(C)
        h0 = np.concatenate([X[None] @ self.reps, np.broadcast_to(Zc, (M, B, Zc.shape[1]))], axis=2)
        h, cache = h0, []
        last = len(self.W) - 1
        for l, (W, b) in enumerate(zip(self.W, self.b)):
            pre = h @ W + b
            if l < last:
                y = act(self.act, pre)
                res = self.residual and y.shape[2] == h.shape[2]
                if res:
                    y = y + h
                cache.append((pre, res))
                h = y
            else:
                cache.append((pre, False))
                h = pre
        Zout = h  # (M, B, T)
        Y = np.empty_like(Zout)
        dY = np.empty_like(Zout)
        for t, tg in enumerate(self.targets):
            z = Zout[:, :, t]
            if tg["binary"]:
                Y[:, :, t] = special.expit(z)
                dY[:, :, t] = Y[:, :, t] * (1.0 - Y[:, :, t])
            elif tg["log10"]:
                Y[:, :, t] = 10.0 ** (z * tg["std"] + tg["mean"])
                dY[:, :, t] = Y[:, :, t] * math.log(10.0) * tg["std"]
            else:
                Y[:, :, t] = z * tg["std"] + tg["mean"]
                dY[:, :, t] = tg["std"]
        mean = Y.mean(0)
        sd = Y.std(0, ddof=1) if M > 1 else np.zeros_like(mean)
        cost = None if self.price is None else X @ self.price
        out = self.desirability(mean, sd, cost)
        if not grad:
            return out
        d, D, picks = out["d"], out["D"], out.pop("picks")
        k = self.kappa
        w = self.weights
        total = w.sum()
        pos = (d > 0.0).all(1)
        # Backward pass: score → goal d's → ensemble mean/spread → members → mixture vector → X.
        gd = SOFT * w / total + np.where(pos[:, None], D[:, None] * w / (total * np.where(d > 0, d, 1.0)), 0.0)
        gmean = np.zeros_like(mean)
        gsd = np.zeros_like(sd)
        for i, g in enumerate(self.goals):
            t = g["target"]
            cands, which = picks[i]
            for c, (y, sign) in enumerate(cands):
                sel = which == c
                gs = np.where(sel, gd[:, i] * self._shape_grad(g, y), 0.0)
                gmean[:, t] += gs
                gsd[:, t] += gs * sign * k
        gX = np.zeros_like(X)
        if self.cost_goal:
            gX += (gd[:, -1] * self._shape_grad(self.cost_goal, cost))[:, None] * self.price[None]
        gY = gmean[None] / M
        if M > 1:
            gY = gY + gsd[None] * np.where(sd > 0, (Y - mean[None]) / ((M - 1) * np.where(sd > 0, sd, 1.0)), 0.0)
        g = gY * dY
        for l in range(last, -1, -1):
            pre, res = cache[l]
            gpre = g if l == last else g * act_grad(self.act, pre)
            gin = gpre @ self.W[l].transpose(0, 2, 1)
            if res:
                gin = gin + g
            g = gin
        dcode = self.reps.shape[2]
        gX += (g[:, :, :dcode] @ self.reps.transpose(0, 2, 1)).sum(0)
        gC = g[:, :, dcode:].sum(0) * dZc
        out["gX"] = gX
        out["gC"] = gC
        return out

    # --- constraints ---------------------------------------------------------------------------

    def violation(self, X):
        """Mixlab's violation of the linear rows and the cost limit, per recipe (0 inside)."""
        v = np.zeros(X.shape[0])
        if len(self.A):
            s = X @ self.A.T
            v += (np.maximum(self.rmin - s, 0.0) + np.maximum(s - self.rmax, 0.0)).sum(1)
        if self.price is not None and self.cost_max is not None:
            v += np.maximum(X @ self.price - self.cost_max, 0.0) / max(abs(self.cost_max), 1e-9)
        return v

    def check(self, x, c):
        """Every rule Mixlab enforces, for one recipe x (n) with raw conditions c; [] when feasible."""
        bad = []
        if abs(x.sum() - 1.0) > TOL:
            bad.append(f"sum {x.sum():.12f} != 1")
        if (x < 0).any():
            bad.append("negative amount")
        present = x > 0.0
        for k in np.flatnonzero(present & ((x < self.lo - TOL) | (x > self.hi + TOL))):
            bad.append(f"{self.names[k]} = {x[k]:.6g} outside [{self.lo[k]:.6g}, {self.hi[k]:.6g}]")
        for k in np.flatnonzero(self.required & (self.lo > 0) & (x < self.lo - TOL)):
            bad.append(f"required {self.names[k]} below its minimum or absent")
        if present.sum() > self.max_ing:
            bad.append(f"{present.sum()} ingredients > {self.max_ing}")
        if len(self.A):
            s = self.A @ x
            for i in np.flatnonzero((s < self.rmin - TOL) | (s > self.rmax + TOL)):
                bad.append(f"{self.row_names[i]} = {s[i]:.6g} outside [{self.rmin[i]}, {self.rmax[i]}]")
        if self.price is not None and self.cost_max is not None:
            cost = self.price @ x
            if (cost - self.cost_max) / max(abs(self.cost_max), 1e-9) > TOL:
                bad.append(f"cost {cost:.6g} > {self.cost_max}")
        if self.pairs is not None:
            idx = np.flatnonzero(present)
            sub = self.pairs[np.ix_(idx, idx)]
            for a, b in zip(*np.nonzero(np.triu(~sub, 1))):
                bad.append(f"unseen pair {self.names[idx[a]]} + {self.names[idx[b]]}")
        for j, cd in enumerate(self.conds):
            if not (cd["min"] - TOL * max(1.0, abs(cd["min"])) <= c[j] <= cd["max"] + TOL * max(1.0, abs(cd["max"]))):
                bad.append(f"condition {j} = {c[j]} outside [{cd['min']}, {cd['max']}]")
        return bad

    # --- pruning to the rules SciPy cannot express ---------------------------------------------

    def support(self, x, floor):
        """Per recipe (rows of x): the materials kept — required ones, then the largest amounts
        at or above `floor` (per material), up to the ingredient limit, each seen with all kept
        before. Returns (idx (B, K), on (B, K)) with K = the ingredient limit (or n)."""
        B, n = x.shape
        keep = self.required[None] | ((x >= floor[None]) & (x > 0.0))
        key = np.where(self.required[None], np.inf, np.where(keep, x, -np.inf))
        K = min(self.max_ing, n)
        if self.pairs is None:
            idx = np.argpartition(-key, K - 1, axis=1)[:, :K] if K < n else np.tile(np.arange(n), (B, 1))
            on = np.take_along_axis(key, idx, 1) > -np.inf
            return idx, on
        order = np.argsort(-key, axis=1, kind="stable")
        idx = np.zeros((B, K), int)
        on = np.zeros((B, K), bool)
        for r in range(B):
            chosen = []
            for k in order[r]:
                if key[r, k] == -np.inf or len(chosen) == K:
                    break
                if self.required[k] or self.pairs[k, chosen].all():
                    chosen.append(k)
            idx[r, : len(chosen)] = chosen
            on[r, : len(chosen)] = True
        return idx, on

    def prune_fit(self, x, floor=None):
        """Rows of x → recipes on their support with lo ≤ x ≤ hi and sum 1 (the nearest end when
        the support's bounds cannot reach 1; the shortfall is returned as a violation). By default
        amounts below their minimum are dropped."""
        idx, on = self.support(x, self.lo if floor is None else floor)
        want = np.where(on, np.take_along_axis(x, idx, 1), 0.0)
        lo = np.where(on, self.lo[idx], 0.0)
        hi = np.where(on, self.hi[idx], 0.0)
        v = fit_simplex(want, lo, hi, on)
        X = np.zeros_like(x)
        np.put_along_axis(X, idx, v, 1)
        return X, np.abs(X.sum(1) - 1.0)


def fit_simplex(want, lo, hi, on):
    """Row-wise: x = clip(want + λ, lo, hi) with λ bisected so that x sums to 1 (Mixlab's
    fit_simplex), the last rounding put on a member with room."""
    B = want.shape[0]
    a = np.full(B, -2.0)
    b = np.full(B, 2.0)
    for _ in range(100):
        m = 0.5 * (a + b)
        low = np.clip(want + m[:, None], lo, hi).sum(1) < 1.0
        a = np.where(low, m, a)
        b = np.where(low, b, m)
    x = np.clip(want + (0.5 * (a + b))[:, None], lo, hi)
    err = 1.0 - x.sum(1)
    room = on & (x + err[:, None] >= lo) & (x + err[:, None] <= hi)
    k = room.argmax(1)
    has = room.any(1)
    x[has, k[has]] += err[has]
    return x


# --- shared pieces of the peers ------------------------------------------------------------------

class Best:
    """The best feasible recipe a method found."""

    def __init__(self):
        self.D = -1.0
        self.x = None
        self.c = None
        self.tried = 0
        self.feasible = 0

    def offer(self, pr, x, cfree):
        self.tried += 1
        C = pr.cond_values(cfree[None], 1)
        if pr.check(x, C[0]):
            return
        self.feasible += 1
        D = pr.evaluate(x[None], C)["D"][0]
        if D > self.D:
            self.D, self.x, self.c = D, x.copy(), C[0].copy()


def slsqp(pr, x0, cf0, sup=None, relaxed=None, maxiter=200, callback=None, ftol=FTOL):
    """SLSQP on the recipe variables `sup` (all when None) and the free conditions, with the sum,
    rows and cost as constraints. `relaxed` (default: when sup is None) relaxes the
    semi-continuous bounds to [0, hi]; otherwise every variable is held within [lo, hi]."""
    n = pr.n
    S = np.arange(n) if sup is None else np.asarray(sup)
    nS, nf = len(S), len(pr.free)

    def full(z):
        x = np.zeros(n)
        x[S] = z[:nS]
        return x

    def fun(z):
        x = full(z)
        C = pr.cond_values(z[nS:][None], 1)
        o = pr.evaluate(x[None], C, grad=True)
        g = np.concatenate([o["gX"][0, S], o["gC"][0, pr.free]])
        return -o["score"][0], -g

    # Linear inequalities G z - h ≥ 0 (both ends of each row, and the cost limit).
    G, h = [], []
    for i in range(len(pr.A)):
        a = np.concatenate([pr.A[i, S], np.zeros(nf)])
        if np.isfinite(pr.rmin[i]):
            G.append(a)
            h.append(pr.rmin[i])
        if np.isfinite(pr.rmax[i]):
            G.append(-a)
            h.append(-pr.rmax[i])
    if pr.price is not None and pr.cost_max is not None:
        G.append(-np.concatenate([pr.price[S], np.zeros(nf)]))
        h.append(-pr.cost_max)
    ones = np.concatenate([np.ones(nS), np.zeros(nf)])
    cons = [{"type": "eq", "fun": lambda z: np.array([ones @ z - 1.0]), "jac": lambda z: ones[None]}]
    if G:
        G, h = np.array(G), np.array(h)
        cons.append({"type": "ineq", "fun": lambda z: G @ z - h, "jac": lambda z: G})
    if relaxed is None:
        relaxed = sup is None
    lo = (np.where(pr.required, pr.lo, 0.0) if relaxed else pr.lo)[S]
    bounds = list(zip(lo, pr.hi[S])) + [(pr.conds[j]["min"], pr.conds[j]["max"]) for j in pr.free]
    z0 = np.concatenate([x0[S], cf0])
    res = optimize.minimize(fun, z0, jac=True, method="SLSQP", bounds=bounds, constraints=cons,
                            callback=callback, options={"maxiter": maxiter, "ftol": ftol})
    z = res.x
    return full(z), z[nS:].copy()


def clean(pr, x, cf):
    """Clip a solver's recipe into the bounds of its support and fix the sum exactly."""
    on = x > 0.0
    lo = np.where(on, pr.lo, 0.0)
    hi = np.where(on, pr.hi, 0.0)
    x = fit_simplex(np.where(on, x, 0.0)[None], lo[None], hi[None], on[None])[0]
    lo_c = np.array([pr.conds[j]["min"] for j in pr.free])
    hi_c = np.array([pr.conds[j]["max"] for j in pr.free])
    return x, np.clip(cf, lo_c, hi_c)


def prune_and_resolve(pr, x, cf, best):
    """The rules SciPy cannot express: prune to a valid support, then SLSQP on that support. Two
    prunings: amounts below their minimum dropped, or every amount above noise kept (then
    raised to its minimum by the re-solve); dropping all small amounts can empty a group."""
    seen = set()
    for floor in (pr.lo, np.full(pr.n, 1e-6)):
        X, _ = pr.prune_fit(x[None], floor)
        xp = X[0]
        sup = np.flatnonzero(xp > 0.0)
        if len(sup) == 0 or tuple(sup) in seen:
            continue
        seen.add(tuple(sup))
        best.offer(pr, xp, cf)
        xs, cs = slsqp(pr, xp, cf, sup=sup)
        best.offer(pr, *clean(pr, xs, cs))


def random_start(pr, rng):
    """A recipe with a random support (required materials plus a random number of others) and
    Dirichlet amounts fitted into the bounds: meets the sum and the bounds, not always the rows."""
    n = pr.n
    others = np.flatnonzero(~pr.required)
    room = max(0, min(pr.max_ing, n) - int(pr.required.sum()))
    k = rng.integers(1, room + 1) if room > 0 and len(others) else 0
    pick = rng.choice(others, size=min(k, len(others)), replace=False)
    on = pr.required.copy()
    on[pick] = True
    want = np.where(on, rng.dirichlet(np.ones(n)), 0.0)
    x = fit_simplex(want[None], np.where(on, pr.lo, 0.0)[None], np.where(on, pr.hi, 0.0)[None], on[None])[0]
    cf = np.array([rng.uniform(pr.conds[j]["min"], pr.conds[j]["max"]) for j in pr.free])
    return x, cf


# --- the peers ---------------------------------------------------------------------------------

def run_slsqp(pr, budget_s, seed, starts, screen=0):
    budget = Budget(budget_s)
    rng = np.random.default_rng(seed)
    best = Best()
    pr.rows_scored = pr.grads = 0
    done = 0
    longest = 0.0  # the longest SLSQP major iteration: how far a start can overrun the budget
    for _ in range(starts):
        if budget.expired():
            break
        x0, cf0 = random_start(pr, rng)
        last = time.monotonic()

        def callback(intermediate_result):
            nonlocal longest, last
            now = time.monotonic()
            longest, last = max(longest, now - last), now
            budget.callback()

        pool = None
        if screen:
            # Optional (not the default peer): SLSQP's QP is dense, so solve on the start's support
            # plus the `screen` materials whose gradient at the start is steepest.
            C = pr.cond_values(cf0[None], 1)
            g = pr.evaluate(x0[None], C, grad=True)["gX"][0]
            pool = np.union1d(np.flatnonzero((x0 > 0) | pr.required), np.argsort(-g)[:screen])
        x, cf = slsqp(pr, x0, cf0, sup=pool, relaxed=True, callback=callback)
        # Pruning and the re-solve on at most the ingredient limit's variables are cheap, so they
        # run even when the budget stopped the full-pool solve.
        prune_and_resolve(pr, x, cf, best)
        done += 1
    budget.expired()
    info = {"starts": done, "starts_planned": starts, "longest_iteration_s": round(longest, 2)}
    if screen:
        info["screen"] = screen
    return best, budget, info


def run_de(pr, budget_s, seed, pop_cap):
    budget = Budget(budget_s)
    best = Best()
    pr.rows_scored = pr.grads = 0
    n, nf = pr.n, len(pr.free)
    # Genes: a weight per material (recipe = weights normalised, then pruned and fitted to the
    # bounds) and each free condition's value.
    bounds = [(0.0, 1.0)] * n + [(pr.conds[j]["min"], pr.conds[j]["max"]) for j in pr.free]
    N = n + nf

    def decode(G):
        W = G[:, :n]
        s = W.sum(1, keepdims=True)
        x = np.where(s > 0, W / np.where(s > 0, s, 1.0), 1.0 / n)
        X, short = pr.prune_fit(x)
        return X, G[:, n:], short

    def f(Gt):  # vectorised: Gt is (N, S)
        X, CF, short = decode(Gt.T)
        C = pr.cond_values(CF, X.shape[0])
        score = pr.evaluate(X, C)["score"]
        v = pr.violation(X) + short
        # Feasible recipes always beat infeasible ones (Deb's rule as a penalty).
        return np.where(v <= TOL, -score, 1.0 + v)

    # SciPy's default population is 15·N; at thousands of variables that is tens of thousands of
    # recipes per generation, so larger problems get a Latin-hypercube population of pop_cap.
    if 15 * N <= pop_cap:
        init, pop = "latinhypercube", 15 * N
    else:
        lb = np.array([b[0] for b in bounds])
        ub = np.array([b[1] for b in bounds])
        init = qmc.scale(qmc.LatinHypercube(d=N, rng=np.random.default_rng(seed)).random(pop_cap), lb, ub)
        pop = pop_cap
    res = optimize.differential_evolution(
        f, bounds, rng=seed, init=init, polish=False, vectorized=True, updating="deferred",
        callback=budget.callback, maxiter=1000)
    X, CF, _ = decode(res.x[None])
    # DE's own polish would run L-BFGS-B on the penalised genes; SLSQP on the recipe's support
    # with the real constraints is the stronger polish.
    prune_and_resolve(pr, X[0], CF[0], best)
    return best, budget, {"generations": int(res.nit), "population": pop, "message": res.message}


# --- Mixlab's side --------------------------------------------------------------------------------

def read_mixlab(pr, path):
    """Row 1 of Mixlab's candidates CSV: its desirability, recipe (fractions) and conditions."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    head, first = rows[0], rows[1]
    col = {h: i for i, h in enumerate(head)}
    pos = {name: k for k, name in enumerate(pr.names)}
    x = np.zeros(pr.n)
    for i in range(col["active_limits"] + 1, len(head)):
        name = head[i]
        if name not in pos and name.startswith("'"):
            name = name[1:]  # spreadsheet neutralising of =, +, -, @
        x[pos[name]] = float(first[i]) / 100.0
    nc = len(pr.conds)
    c = np.array([float(v) for v in first[col["domain"] - nc: col["domain"]]])
    return float(first[col["desirability"]]), x, c


def mixlab_rescore(pr, mixlab, bundle, x, c):
    """A check independent of this file: `mixlab score` on the recipe gives Mixlab's own mean and
    spread (D recomputed from them) and its training-domain verdict (bounds, pairs, conditions)."""
    with open(f"{bundle}/manifest.json", encoding="utf-8") as f:
        man = json.load(f)
    cnames = [cd["name"] for cd in man["conditions"]]
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/recipe.csv"
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["formulation_id", "material", "amount"] + cnames)
            for k in np.flatnonzero(x > 0):
                w.writerow(["best", pr.names[k], repr(float(x[k]))] + [repr(float(v)) for v in c])
        out = subprocess.run([mixlab, "score", "--bundle", bundle, "--data", path],
                             check=True, capture_output=True, text=True).stdout
    row = next(csv.DictReader(out.splitlines()))
    names = [t["name"] for t in man["targets"]]
    mean = np.array([[float(row[f"{t}_predicted"]) for t in names]])
    sd = np.array([[float(row[f"{t}_spread"]) for t in names]])
    cost = None if pr.price is None else np.array([pr.price @ x])
    D = pr.desirability(mean, sd, cost)["D"][0]
    return float(D), row["in_domain"] == "yes", row["domain_note"]


def describe(pr, x):
    k = np.flatnonzero(x > 0)
    k = k[np.argsort(-x[k])]
    return ", ".join(f"{pr.names[i]} {100 * x[i]:.3f} %" for i in k)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("problem")
    ap.add_argument("--mixlab-csv", required=True)
    ap.add_argument("--budget-s", type=float, default=300.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--starts", type=int, default=20, help="SLSQP starts (fewer when the budget runs out)")
    ap.add_argument("--de-pop-cap", type=int, default=1000, help="largest DE population")
    ap.add_argument("--slsqp-screen", type=int, default=0, metavar="K",
                    help="variant: each SLSQP start on its support plus the K steepest-gradient materials only")
    ap.add_argument("--methods", default="slsqp,de")
    ap.add_argument("--mixlab", help="mixlab binary: re-score each best recipe with `mixlab score`")
    ap.add_argument("--bundle", help="the bundle, for --mixlab")
    a = ap.parse_args()

    with open(a.problem, encoding="utf-8") as f:
        pr = Problem(json.load(f))
    print(f"design peers: numpy {np.__version__}, scipy {scipy.__version__}; {pr.n} materials, "
          f"{len(pr.free)} free conditions, ingredient limit {pr.max_ing}, {len(pr.A)} rows, "
          f"pair rule {'on' if pr.pairs is not None else 'off'}, budget {a.budget_s:g} s per method")
    if pr.pareto:
        print("  note: Mixlab ranks a Pareto front here; row 1 is compared by desirability only")

    D_csv, x, c = read_mixlab(pr, a.mixlab_csv)
    D_np = pr.evaluate(x[None], c[None])["D"][0]
    bad = pr.check(x, c)
    print(f"mixlab best: D {D_csv:.6f} (CSV), {D_np:.6f} (NumPy model); "
          f"{len(np.flatnonzero(x))} materials; feasible: {'yes' if not bad else 'NO: ' + '; '.join(bad)}")
    if abs(D_np - D_csv) > 1e-5:
        sys.exit(f"ERROR: the NumPy model scores Mixlab's best {D_np:.6f}, the CSV says {D_csv:.6f}: "
                 "not the same model or problem")
    result = {"mixlab": {"D": D_csv, "D_numpy": float(D_np), "feasible": not bad}}
    if a.mixlab:
        D_ml, inside, note = mixlab_rescore(pr, a.mixlab, a.bundle, x, c)
        result["mixlab"]["D_mixlab_score"], result["mixlab"]["in_domain"] = D_ml, inside
        print(f"  `mixlab score` of it: D {D_ml:.6f}, in training domain: {'yes' if inside else 'NO (' + note + ')'}")

    for method in a.methods.split(","):
        if method == "slsqp":
            best, budget, info = run_slsqp(pr, a.budget_s, a.seed, a.starts, a.slsqp_screen)
        elif method == "de":
            best, budget, info = run_de(pr, a.budget_s, a.seed, a.de_pop_cap)
        else:
            sys.exit(f"unknown method {method}")
        wall = budget.elapsed()
        feasible = best.x is not None
        r = {"D": float(best.D) if feasible else None, "wall_s": round(wall, 3),
             "evals": pr.rows_scored, "grads": pr.grads, "budget_hit": budget.hit,
             "feasible": feasible, "candidates_feasible": f"{best.feasible}/{best.tried}", **info}
        if feasible:
            r["materials"] = int((best.x > 0).sum())
        result[method] = r
        print(f"{method}: best feasible D {r['D'] if feasible else 'none'}; {wall:.2f} s; "
              f"{pr.rows_scored} recipes scored + {pr.grads} gradients; "
              f"budget {'HIT' if budget.hit else 'not hit'}; feasible candidates {r['candidates_feasible']}; "
              + ", ".join(f"{k} {v}" for k, v in info.items()))
        if feasible:
            o = pr.evaluate(best.x[None], best.c[None])
            print(f"  recipe: {describe(pr, best.x)}")
            print(f"  predicted mean {np.round(o['mean'][0], 6).tolist()}, spread {np.round(o['sd'][0], 6).tolist()}, "
                  f"goal d's {np.round(o['d'][0], 6).tolist()}")
            if a.mixlab:
                D_ml, inside, note = mixlab_rescore(pr, a.mixlab, a.bundle, best.x, best.c)
                r["D_mixlab_score"], r["in_domain"] = D_ml, inside
                print(f"  `mixlab score` of it: D {D_ml:.6f}, in training domain: {'yes' if inside else 'NO (' + note + ')'}")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
