#!/usr/bin/env python3
"""Runs every operation the engine can pose on a small problem and checks it against
the engine's double-precision reference (vka_graph_reference) and, where one is short to
write, a plain numpy implementation below; prints a table of max errors.

    VKATTN_LIBRARY=build/libvkattn.so /usr/bin/python3 python/examples/check_schemes.py [--validation]
        [--n 64] [--heads 2] [--d 16] [--f16]

Inputs come from vkattn.example() (vka_op_example_for: each operation's required inputs
at the problem size, inside each input's value range), with a few parameters set here so
the sparse patterns are sparse at this size. Exit status 1 if any error is above the
tolerance: max |o - r| <= 1e-3 * max(1, max |r|) for f32 (5e-2 with --f16).
"""

import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # this checkout's module
import vkattn  # noqa: E402

# ------------------------------------------------------------------ numpy implementations (float64)


def f64(*xs):
    return [np.asarray(x, np.float64) for x in xs]


def softmax_rows(s, allowed=None):
    if allowed is not None:
        s = np.where(allowed, s, -np.inf)
    m = np.max(s, axis=-1, keepdims=True)
    p = np.exp(s - np.where(np.isfinite(m), m, 0))
    den = p.sum(-1, keepdims=True)
    return np.where(den > 0, p / np.where(den > 0, den, 1), 0)


def np_softmax(q, k, v, causal=False, window=None, allowed=None, scale=None):
    q, k, v = f64(q, k, v)
    nq, nk, d = q.shape[-2], k.shape[-2], q.shape[-1]
    s = q @ np.swapaxes(k, -1, -2) * (scale or 1 / math.sqrt(d))
    i = np.arange(nq)[:, None] + (nk - nq)
    j = np.arange(nk)[None, :]
    mask = np.ones((nq, nk), bool) if allowed is None else allowed
    if causal:
        mask = mask & (j <= i)
    if window is not None:
        mask = mask & (np.abs(i - j) <= window)
    return softmax_rows(s, mask) @ v


def np_strided(q, k, v, stride):
    i, j = np.arange(q.shape[-2])[:, None], np.arange(k.shape[-2])[None, :]
    return np_softmax(q, k, v, allowed=(j <= i) & (((i - j) < stride) | ((i - j) % stride == 0)))


def np_kernel(fq, fk, v, causal=False, eps=1e-6):
    a = fq @ np.swapaxes(fk, -1, -2)
    if causal:
        a = a * np.tril(np.ones(a.shape[-2:]))
    return (a @ np.asarray(v, np.float64)) / (a.sum(-1, keepdims=True) + eps)


def elu1(x):
    x = np.asarray(x, np.float64)
    return np.where(x > 0, x + 1, np.exp(x))


def favor(x, w):
    x = np.asarray(x, np.float64) * x.shape[-1] ** -0.25
    return np.exp(x @ np.asarray(w, np.float64).T - (x * x).sum(-1, keepdims=True) / 2) / math.sqrt(w.shape[0])


def np_inducing(q, k, v, latents):
    q, k, v, lat = f64(q, k, v, latents)
    scale = 1 / math.sqrt(q.shape[-1])
    hc = softmax_rows(lat @ np.swapaxes(k, -1, -2) * scale) @ v
    return softmax_rows(q @ np.swapaxes(hc, -1, -2) * scale) @ hc


def np_linformer(q, k, v, e, f):
    q, k, v, e, f = f64(q, k, v, e, f)
    return softmax_rows(q @ np.swapaxes(e @ k, -1, -2) / math.sqrt(q.shape[-1])) @ (f @ v)


def np_aaren(query, k, v):
    query, k, v = f64(query, k, v)
    s = (k @ np.swapaxes(query, -1, -2))[..., 0] / math.sqrt(k.shape[-1])  # [B, H, N]
    out = np.zeros(v.shape)
    for t in range(k.shape[2]):  # every prefix's softmax
        w = np.exp(s[:, :, :t + 1] - s[:, :, :t + 1].max(-1, keepdims=True))
        out[:, :, t] = (w[..., None] * v[:, :, :t + 1]).sum(2) / w.sum(-1)[..., None]
    return out


def np_recurrent(q, k, v, step):
    """o_t = scale S_t^T q_t with S_t = step(S_{t-1}, b, h, t), per batch and head."""
    q, k, v = f64(q, k, v)
    b, h, n, d = q.shape
    out = np.zeros((b, h, n, v.shape[-1]))
    for bi in range(b):
        for hi in range(h):
            s = np.zeros((d, v.shape[-1]))
            for t in range(n):
                s = step(s, bi, hi, t)
                out[bi, hi, t] = s.T @ q[bi, hi, t] / math.sqrt(d)
    return out


def np_gla(q, k, v, gates):
    g = np.exp(np.asarray(gates, np.float64))
    k64, v64 = f64(k, v)
    return np_recurrent(q, k, v, lambda s, b, h, t: g[b, h, t][:, None] * s + np.outer(k64[b, h, t], v64[b, h, t]))


def np_retention(q, k, v):
    k64, v64 = f64(k, v)
    return np_recurrent(q, k, v, lambda s, b, h, t: (1 - 2.0 ** (-5 - h)) * s + np.outer(k64[b, h, t], v64[b, h, t]))


def np_deltanet(q, k, v, beta):
    q, k = (x / np.linalg.norm(x, axis=-1, keepdims=True) for x in f64(q, k))  # qk_l2norm=1
    v64, beta = f64(v, beta)

    def step(s, b, h, t):
        kt = k[b, h, t]
        return (np.eye(len(kt)) - beta[b, h, t] * np.outer(kt, kt)) @ s + beta[b, h, t] * np.outer(kt, v64[b, h, t])
    return np_recurrent(q, k, v, step)


ERF = np.vectorize(math.erf)

NUMPY = {  # (scheme, config) -> numpy result from the inputs and parameters
    ("softmax", ""): lambda a, p: np_softmax(a["q"], a["k"], a["v"]),
    ("softmax", "causal"): lambda a, p: np_softmax(a["q"], a["k"], a["v"], causal=True),
    ("linear", ""): lambda a, p: np_kernel(elu1(a["q"]), elu1(a["k"]), a["v"]),
    ("linear", "causal"): lambda a, p: np_kernel(elu1(a["q"]), elu1(a["k"]), a["v"], causal=True),
    ("performer", "given W"): lambda a, p: np_kernel(favor(a["q"], a["projection"][0, 0]),
                                                     favor(a["k"], a["projection"][0, 0]), a["v"]),
    ("local", "window=8"): lambda a, p: np_softmax(a["q"], a["k"], a["v"], window=8),
    ("local", "window=8 causal"): lambda a, p: np_softmax(a["q"], a["k"], a["v"], window=8, causal=True),
    ("strided", "stride=8"): lambda a, p: np_strided(a["q"], a["k"], a["v"], 8),
    ("inducing", ""): lambda a, p: np_inducing(a["q"], a["k"], a["v"], a["latents"]),
    ("linformer", "given E, F"): lambda a, p: np_linformer(a["q"], a["k"], a["v"], a["proj_k"], a["proj_v"]),
    ("nystrom", "landmarks=N (exact)"): lambda a, p: np_softmax(a["q"], a["k"], a["v"]),
    ("clustered", "clusters=N (exact)"): lambda a, p: np_softmax(a["q"], a["k"], a["v"]),
    ("aaren", ""): lambda a, p: np_aaren(a["query"], a["k"], a["v"]),
    ("gla", ""): lambda a, p: np_gla(a["q"], a["k"], a["v"], a["gates"]),
    ("retention", ""): lambda a, p: np_retention(a["q"], a["k"], a["v"]),
    ("deltanet", ""): lambda a, p: np_deltanet(a["q"], a["k"], a["v"], a["beta"]),
    ("relu", ""): lambda a, p: np.maximum(np.asarray(a["x"], np.float64), 0),
    ("gelu", ""): lambda a, p: (lambda x: x * 0.5 * (1 + ERF(x / math.sqrt(2))))(np.asarray(a["x"], np.float64)),
    ("softplus", ""): lambda a, p: np.logaddexp(0, np.asarray(a["x"], np.float64)),
    ("add", ""): lambda a, p: np.asarray(a["a"], np.float64) + a["b"],
}


def configurations(name, n):
    """(config, extra params, extra inputs from (rng, example)) for each run of a scheme."""
    if name in ("softmax", "linear"):
        return [("", {}, None), ("causal", {"causal": True}, None)]
    if name == "performer":
        return [("seed=1", {"features": 64, "seed": 1}, None),
                ("given W", {}, lambda rng, ex: {"projection": vkattn.random_projection(1, 64, ex["q"].shape[-1])[
                    None, None]})]
    if name == "local":
        return [("window=8", {"window": 8}, None), ("window=8 causal", {"window": 8, "causal": True}, None)]
    if name == "longformer":
        return [("window=8 global=4", {"window": 8, "global": 4}, None)]
    if name == "bigbird":
        return [("block=8 random=1", {"block": 8, "random": 1}, None)]
    if name == "strided":
        return [("stride=8", {"stride": 8}, None)]
    if name == "fixed":
        return [("stride=8", {"stride": 8}, None)]
    if name == "blockwise":
        return [("blocks=4", {"blocks": 4}, None)]
    if name == "blocksparse":  # a banded block layout of 16-token blocks
        nb = -(-n // 16)
        layout = (np.abs(np.subtract.outer(np.arange(nb), np.arange(nb))) <= 1).astype(np.int32)[None]
        return [("block=16 band", {"block": 16}, lambda rng, ex: {"layout": layout})]
    if name == "linformer":
        return [("seed=1 kproj=16", {"kproj": 16, "seed": 1}, None),
                ("given E, F", {}, lambda rng, ex: {"proj_k": rng.standard_normal((16, n)) / 4,
                                                    "proj_v": rng.standard_normal((16, n)) / 4})]
    if name == "nystrom":
        return [("landmarks=8", {"landmarks": 8}, None), ("landmarks=N (exact)", {"landmarks": n}, None)]
    if name == "clustered":
        return [("clusters=8", {"clusters": 8}, None), ("clusters=N (exact)", {"clusters": n}, None)]
    if name == "reformer":
        return [("buckets=8 chunk=16", {"buckets": 8, "chunk": 16}, None)]
    if name == "inducing":
        return [("", {}, lambda rng, ex: {"latents": rng.standard_normal(ex["latents"].shape)})]
    return [("", {}, None)]


def run_one(ctx, name, config, params, extra, args, rng):
    ex = vkattn.example(name, batch=1, heads=args.heads, queries=args.n, head_dim=args.d)
    arrays = ex.random_inputs(seed=int(rng.integers(1 << 30)))
    if extra:
        arrays.update(extra(rng, arrays))
    if args.f16:
        arrays = {r: a.astype(np.float16) if a.dtype.kind == "f" and r not in ("layout",) else a
                  for r, a in arrays.items()}
    params = dict(ex.params, **params)
    start = time.perf_counter()
    out = vkattn.attention(scheme=name, context=ctx, **arrays, **params)
    ms = (time.perf_counter() - start) * 1e3  # the first call: planning and the JIT included
    ref = vkattn.reference(scheme=name, context=ctx, **arrays, **params).astype(np.float64)
    err_ref = float(np.abs(out - ref).max())
    numpy_fn = NUMPY.get((name, config))
    err_np = float(np.abs(out - numpy_fn(arrays, params)).max()) if numpy_fn else None
    return out.shape, float(np.abs(ref).max()), err_ref, err_np, ms


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=64, help="tokens (queries = keys)")
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--d", type=int, default=16, help="head dim")
    ap.add_argument("--f16", action="store_true", help="float16 inputs and results")
    ap.add_argument("--validation", action="store_true", help="run with the Khronos validation layer")
    args = ap.parse_args()
    rel_tol = 5e-2 if args.f16 else 1e-3
    rng = np.random.default_rng(0)
    bad = 0
    with vkattn.Context(validation=args.validation) as ctx:
        print(f"device: {ctx.device_info['summary']}")
        print(f"{'scheme':<18} {'config':<22} {'output':<16} {'max|ref|':>9} {'err vs ref':>11} "
              f"{'err vs numpy':>12} {'1st ms':>8}")
        start = time.time()
        for s in vkattn.schemes():
            for config, params, extra in configurations(s.name, args.n):
                try:
                    shape, ref_max, err_ref, err_np, ms = run_one(ctx, s.name, config, params, extra, args, rng)
                except vkattn.Error as e:
                    print(f"{s.name:<18} {config:<22} cannot run: {e}")
                    continue
                tol = rel_tol * max(1.0, ref_max)
                ok = err_ref <= tol and (err_np is None or err_np <= tol)
                bad += not ok
                np_text = f"{err_np:12.2e}" if err_np is not None else f"{'-':>12}"
                print(f"{s.name:<18} {config:<22} {str(shape):<16} {ref_max:9.3f} {err_ref:11.2e} {np_text} "
                      f"{ms:8.1f}{'' if ok else '  <-- above ' + format(tol, '.1e')}")
        print(f"{time.time() - start:.1f} s; {bad} above tolerance; plan cache {ctx.plan_cache_info()}; "
              f"validation messages {ctx.validation_message_count}")
        if ctx.validation_message_count:
            print(f"first validation message: {ctx.first_validation_message}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
