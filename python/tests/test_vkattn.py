#!/usr/bin/env python3
"""Tests of the Python module vkattn (python/vkattn) against plain numpy implementations
written here, the engine's double-precision reference (vka_graph_reference) and, where
torch imports, torch's scaled_dot_product_attention.

    VKATTN_LIBRARY=build/libvkattn.so /usr/bin/python3 python/tests/test_vkattn.py

Every context runs with the Khronos validation layer (synchronization validation on); a
validation message fails the test that caused it, and the module at its end.

Tolerances (inputs are N(0, 1), D = 16, so outputs are O(1)):
  f32 against numpy in float64 or the engine's reference: max |o - r| <= 1e-4 (softmax,
      sparse, linear, performer, recurrent forms: each a few f32 roundings per output).
  f16 inputs (f16 result): the project's f16 gate against the reference of the same f16
      inputs widened exactly: NMSE sum((o - r)^2) / sum(r^2) <= 5e-4 and
      max |o - r| <= 4e-3 * max |r|.
  torch (f32, CPU): max |o - r| <= 1e-4.
"""

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# This checkout's module first: the test is of the source next to it.
sys.path.insert(0, os.path.dirname(HERE))
# Validation for every context the test makes, the default context included.
os.environ["VKATTN_VALIDATION"] = "1"

import vkattn  # noqa: E402
from vkattn import _lib  # noqa: E402

F32_TOL = 1e-4
CTX = None  # one validating context shared by the tests: pipelines compile once per process


def setUpModule():
    global CTX
    CTX = vkattn.Context(validation=True)


def tearDownModule():
    count, first = CTX.validation_message_count, CTX.first_validation_message
    CTX.close()
    if count:
        raise AssertionError(f"{count} validation message(s); the first: {first}")


def rand(shape, seed, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ------------------------------------------------------------------ numpy implementations

def np_softmax(q, k, v, scale=None, causal=False, kv_len=None, window=None):
    """softmax(q k^T scale) v in float64: bottom-right causal, grouped k/v heads, per-batch
    kv_len, |i - j| <= window (query i at position i + Nk - Nq); a row seeing nothing is 0."""
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    b, h, nq, d = q.shape
    nk = k.shape[2]
    group = h // k.shape[1]
    k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
    scale = 1 / np.sqrt(d) if scale is None else scale
    s = q @ k.transpose(0, 1, 3, 2) * scale
    pos = np.arange(nq)[:, None] + (nk - nq)
    j = np.arange(nk)[None, :]
    allowed = np.ones((b, 1, nq, nk), bool)
    if causal:
        allowed &= j <= pos
    if window is not None:
        allowed &= np.abs(pos - j) <= window
    if kv_len is not None:
        allowed &= (j < np.asarray(kv_len)[:, None, None, None])
    s = np.where(allowed, s, -np.inf)
    m = np.max(s, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    p = np.where(allowed, np.exp(s - m), 0)
    den = p.sum(-1, keepdims=True)
    return np.where(den > 0, (p @ v) / np.where(den > 0, den, 1), 0)


def np_kernel_attention(fq, fk, v, causal=False, eps=1e-6):
    """phi(q) (sum phi(k) v^T) / (phi(q) . sum phi(k) + eps), the sums over visible keys."""
    a = fq @ fk.transpose(0, 1, 3, 2)
    nq, nk = a.shape[-2:]
    if causal:
        a = a * (np.arange(nk)[None, :] <= np.arange(nq)[:, None] + (nk - nq))
    return (a @ v.astype(np.float64)) / (a.sum(-1, keepdims=True) + eps)


def elu1(x):
    x = x.astype(np.float64)
    return np.where(x > 0, x + 1, np.exp(x))


def favor_positive(x, w):
    """Performer's positive features: exp(W x' - |x'|^2 / 2) / sqrt(m), x' = x D^(-1/4)."""
    x = x.astype(np.float64) * x.shape[-1] ** -0.25
    u = x @ w.astype(np.float64).T
    return np.exp(u - (x * x).sum(-1, keepdims=True) / 2) / np.sqrt(w.shape[0])


def np_retention(q, k, v, gammas, scale=None):
    """S_t = gamma_h S_{t-1} + k_t v_t^T, o_t = scale S_t^T q_t."""
    b, h, n, d = q.shape
    scale = 1 / np.sqrt(d) if scale is None else scale
    out = np.zeros((b, h, n, v.shape[-1]))
    for bi in range(b):
        for hi in range(h):
            s = np.zeros((d, v.shape[-1]))
            for t in range(n):
                s = gammas[hi] * s + np.outer(k[bi, hi, t], v[bi, hi, t])
                out[bi, hi, t] = scale * s.T @ q[bi, hi, t]
    return out


def f16_gate(test, got, ref, what):
    got, ref = got.astype(np.float64), ref.astype(np.float64)
    nmse = ((got - ref) ** 2).sum() / (ref ** 2).sum()
    worst = np.abs(got - ref).max()
    test.assertTrue(np.isfinite(got).all(), what)
    test.assertLessEqual(nmse, 5e-4, f"{what}: NMSE {nmse:.3g}")
    test.assertLessEqual(worst, 4e-3 * np.abs(ref).max(), f"{what}: max error {worst:.3g}")


class Case(unittest.TestCase):
    def setUp(self):
        self.validation_before = CTX.validation_message_count

    def tearDown(self):
        n = CTX.validation_message_count
        self.assertEqual(n, self.validation_before, f"validation: {CTX.first_validation_message}")

    def close(self, got, want, tol=F32_TOL, what=""):
        self.assertEqual(got.shape, want.shape, what)
        err = float(np.abs(got.astype(np.float64) - want).max())
        self.assertLessEqual(err, tol, f"{what}: max error {err:.3g}")
        return err


# ------------------------------------------------------------------ layout


class TestLayout(Case):
    def test_self_check(self):
        """sizeof every mirrored struct as gcc says on LP64, and no byte written past any."""
        self.assertEqual(vkattn.self_check(CTX), [])

    def test_against_the_c_compiler(self):
        """sizeof and offsetof of every field, from a C program built against the headers."""
        include = os.path.join(HERE, "..", "..", "include")
        cc = shutil.which("cc") or shutil.which("gcc")
        if not cc or not os.path.exists(os.path.join(include, "vkattn.h")):
            self.skipTest("no C compiler or no headers next to this checkout")
        lines = ["#include <vkattn.h>", "#include <vkattn/ops.h>", "#include <stddef.h>", "#include <stdio.h>",
                 "int main(void) {"]
        for s in _lib.STRUCTS:
            name = s.__name__
            lines.append(f'printf("{name} %zu\\n", sizeof({name}));')
            for field, _ in s._fields_:
                lines.append(f'printf("{name}.{field} %zu\\n", offsetof({name}, {field}));')
        lines.append("return 0; }")
        with tempfile.TemporaryDirectory() as tmp:
            src, exe = os.path.join(tmp, "layout.c"), os.path.join(tmp, "layout")
            with open(src, "w") as f:
                f.write("\n".join(lines))
            subprocess.run([cc, "-std=c11", "-I", include, src, "-o", exe], check=True)
            c_view = dict(line.split() for line in subprocess.run([exe], check=True, capture_output=True,
                                                                  text=True).stdout.splitlines())
        for s in _lib.STRUCTS:
            self.assertEqual(int(c_view[s.__name__]), ctypes.sizeof(s), f"sizeof({s.__name__})")
            for field, _ in s._fields_:
                self.assertEqual(int(c_view[f"{s.__name__}.{field}"]), getattr(s, field).offset,
                                 f"offsetof({s.__name__}, {field})")

    def test_constants(self):
        self.assertEqual((_lib.VKA_MAX_RANK, _lib.VKA_MAX_OP_INPUTS, _lib.VKA_MAX_OP_PARAMS), (4, 12, 16))
        self.assertEqual(len(_lib.vka_op_desc().inputs), 12)
        self.assertEqual(len(_lib.vka_op_desc().params), 16)
        self.assertEqual(len(_lib.vka_op_desc().numbers), 16)


# ------------------------------------------------------------------ softmax


class TestSoftmax(Case):
    def run_both(self, q, k, v, what, **kw):
        """attention() against numpy and against the engine's reference."""
        np_kw = {key: kw[key] for key in ("causal", "kv_len", "scale") if key in kw}
        got = vkattn.attention(q, k, v, context=CTX, **kw)
        self.close(got, np_softmax(q, k, v, **np_kw), what=what + " vs numpy")
        self.close(got, vkattn.reference(q, k, v, context=CTX, **kw).astype(np.float64), what=what + " vs reference")
        return got

    def test_self_and_causal(self):
        q, k, v = rand((2, 2, 64, 16), 1), rand((2, 2, 64, 16), 2), rand((2, 2, 64, 16), 3)
        self.run_both(q, k, v, "softmax")
        self.run_both(q, k, v, "causal softmax", causal=True)
        self.run_both(q, k, v, "materialized", kernel="materialized", causal=True)
        self.run_both(q, k, v, "scale", scale=0.5)

    def test_cross_bottom_right(self):
        q, k, v = rand((1, 2, 24, 16), 4), rand((1, 2, 96, 16), 5), rand((1, 2, 96, 8), 6)
        out = self.run_both(q, k, v, "cross causal Dv=8", causal=True)
        self.assertEqual(out.shape, (1, 2, 24, 8))

    def test_gqa(self):
        q = rand((1, 4, 32, 16), 7)
        for hkv in (1, 2):
            k, v = rand((1, hkv, 32, 16), 8), rand((1, hkv, 32, 16), 9)
            self.run_both(q, k, v, f"GQA Hkv={hkv}", causal=True)

    def test_kv_len(self):
        q, k, v = rand((2, 2, 16, 16), 10), rand((2, 2, 64, 16), 11), rand((2, 2, 64, 16), 12)
        kv_len = np.array([40, 64], np.int32)
        self.run_both(q, k, v, "kv_len", kv_len=kv_len)
        # int64 counts are taken as int32 (they fit).
        self.run_both(q, k, v, "kv_len int64", kv_len=np.array([1, 63]))

    def test_f16(self):
        q, k, v = (rand((1, 2, 64, 16), s, np.float16) for s in (13, 14, 15))
        for causal in (False, True):
            got = vkattn.attention(q, k, v, causal=causal, context=CTX)
            self.assertEqual(got.dtype, np.float16)
            ref = vkattn.reference(q, k, v, causal=causal, context=CTX)
            self.assertEqual(ref.dtype, np.float32)  # reference(): f32 unless out_dtype says
            f16_gate(self, got, ref, f"f16 causal={causal}")
            f16_gate(self, got, np_softmax(q, k, v, causal=causal), f"f16 vs numpy causal={causal}")
        as32 = vkattn.attention(q, k, v, context=CTX, out_dtype="float32")
        self.assertEqual(as32.dtype, np.float32)
        f16_gate(self, as32, vkattn.reference(q, k, v, context=CTX), "f16 in, f32 out")

    def test_unbatched(self):
        q, k, v = rand((2, 32, 16), 16), rand((2, 32, 16), 17), rand((2, 32, 16), 18)
        got = vkattn.attention(q, k, v, causal=True, context=CTX, kv_len=20)
        self.assertEqual(got.shape, (2, 32, 16))
        self.close(got, np_softmax(q[None], k[None], v[None], causal=True, kv_len=[20])[0], what="[H,N,D]")

    def test_float64_becomes_float32(self):
        q = np.random.default_rng(19).standard_normal((1, 1, 8, 16))
        got = vkattn.attention(q, q, q, context=CTX)
        self.assertEqual(got.dtype, np.float32)
        self.close(got, np_softmax(q, q, q), what="float64 input")

    def test_torch_sdpa(self):
        try:
            import torch
        except ImportError:
            self.skipTest("torch is not installed")
        q, k, v = rand((1, 2, 48, 16), 20), rand((1, 2, 48, 16), 21), rand((1, 2, 48, 16), 22)
        for causal in (False, True):
            want = torch.nn.functional.scaled_dot_product_attention(
                torch.from_numpy(q), torch.from_numpy(k), torch.from_numpy(v), is_causal=causal).numpy()
            self.close(vkattn.attention(q, k, v, causal=causal, context=CTX), want.astype(np.float64),
                       what=f"torch causal={causal}")


# ------------------------------------------------------------------ other schemes


class TestSchemes(Case):
    def test_linear(self):
        q, k, v = rand((1, 2, 64, 16), 30), rand((1, 2, 64, 16), 31), rand((1, 2, 64, 16), 32)
        for causal in (False, True):
            got = vkattn.attention(q, k, v, scheme="linear", causal=causal, context=CTX)
            self.close(got, np_kernel_attention(elu1(q), elu1(k), v, causal), what=f"linear causal={causal}")
            ref = vkattn.reference(q, k, v, scheme="linear", causal=causal, context=CTX)
            self.close(got, ref.astype(np.float64), what=f"linear vs reference causal={causal}")

    def test_local(self):
        q, k, v = rand((1, 2, 96, 16), 33), rand((1, 2, 96, 16), 34), rand((1, 2, 96, 16), 35)
        for causal in (False, True):
            got = vkattn.attention(q, k, v, scheme="local", window=7, causal=causal, context=CTX)
            self.close(got, np_softmax(q, k, v, causal=causal, window=7), what=f"local causal={causal}")

    def test_performer(self):
        q, k, v = (0.5 * rand((1, 2, 64, 16), s) for s in (36, 37, 38))
        for causal in (False, True):
            got = vkattn.attention(q, k, v, scheme="performer", features=64, seed=3, causal=causal, context=CTX)
            ref = vkattn.reference(q, k, v, scheme="performer", features=64, seed=3, causal=causal, context=CTX)
            self.close(got, ref.astype(np.float64), what=f"performer vs reference causal={causal}")
        # The projection the engine draws from a seed, given back as an input: the same
        # result, and the features computed here from it agree.
        w = vkattn.random_projection(3, 64, 16)
        seeded = vkattn.attention(q, k, v, scheme="performer", features=64, seed=3, context=CTX)
        given = vkattn.attention(q, k, v, scheme="performer", projection=w[None, None], context=CTX)
        self.close(given, seeded.astype(np.float64), what="given = seeded")
        self.close(given, np_kernel_attention(favor_positive(q, w), favor_positive(k, w), v), what="performer numpy")

    def test_retention(self):
        q, k, v = rand((1, 2, 32, 16), 39), rand((1, 2, 32, 16), 40), rand((1, 2, 32, 16), 41)
        got = vkattn.attention(q, k, v, scheme="retention", context=CTX)
        self.close(got, np_retention(q, k, v, [1 - 2.0 ** (-5 - h) for h in range(2)]), what="retention")

    def test_reformer_shared_qk(self):
        """The Reformer's k must be q: given as the same array, or left out; one plan."""
        q, v = rand((1, 2, 32, 16), 42), rand((1, 2, 32, 16), 43)
        with vkattn.Context(validation=True) as ctx:
            got = vkattn.attention(q, q, v, scheme="reformer", buckets=8, chunk=16, context=ctx)
            self.close(vkattn.attention(q, v=v, scheme="reformer", buckets=8, chunk=16, context=ctx),
                       got.astype(np.float64), 0, "k left out")
            self.close(vkattn.attention(q, q.copy(), v, scheme="reformer", buckets=8, chunk=16, context=ctx),
                       got.astype(np.float64), 0, "k an equal copy")
            self.assertEqual(ctx.plan_cache_info()["misses"], 2)  # with k, and without
            ref = vkattn.reference(q, q, v, scheme="reformer", buckets=8, chunk=16, context=ctx)
            self.close(got, ref.astype(np.float64), what="reformer vs reference")
            self.assertEqual(ctx.validation_message_count, 0, ctx.first_validation_message)

    def test_schemes_catalogue(self):
        names = [s.name for s in vkattn.schemes()]
        for name in ("softmax", "linear", "performer", "local", "gla", "aaren", "reformer"):
            self.assertIn(name, names)
        sm = vkattn.scheme_info("softmax")
        self.assertEqual(sm.roles[:3], ["q", "k", "v"])
        self.assertEqual(sm.input("kv_len").dtypes, ("int32",))
        causal = next(p for p in sm.params if p.key == "causal")
        self.assertEqual((causal.type, causal.default), ("bool", "0"))
        kernel = next(p for p in sm.params if p.key == "kernel")
        self.assertEqual(kernel.choices, ("flash", "materialized"))
        self.assertTrue(next(p for p in vkattn.scheme_info("local").params if p.key == "window").required)
        self.assertEqual(vkattn.scheme_info("gla").input("gates").values.max, 0.0)
        ex = vkattn.example("local", heads=2, queries=32, head_dim=8)
        self.assertEqual([i.role for i in ex.inputs], ["q", "k", "v"])
        self.assertIn("window", ex.params)
        self.assertEqual(ex.output_shape, (1, 2, 32, 8))

    def test_example_posed_inputs(self):
        """An operation posed by vka_op_example_for runs on the inputs Example makes."""
        ex = vkattn.example("deltanet", heads=2, queries=32, head_dim=8)
        arrays = ex.random_inputs(seed=1)
        got = vkattn.attention(scheme="deltanet", context=CTX, **arrays, **ex.params)
        ref = vkattn.reference(scheme="deltanet", context=CTX, **arrays, **ex.params)
        self.close(got, ref.astype(np.float64), what="deltanet as posed")


# ------------------------------------------------------------------ plans


class TestPlans(Case):
    def test_cache_hit_and_new_shapes(self):
        with vkattn.Context(validation=True) as ctx:
            q = rand((1, 2, 32, 16), 50)
            vkattn.attention(q, q, q, context=ctx)
            self.assertEqual(ctx.plan_cache_info()["misses"], 1)
            vkattn.attention(q * 2, q, q, context=ctx)  # same shapes, other data: the plan is reused
            self.assertEqual((ctx.plan_cache_info()["hits"], ctx.plan_cache_info()["size"]), (1, 1))
            out = vkattn.attention(q * 2, q, q, context=ctx)
            self.close(out, np_softmax(q * 2, q, q), what="reused plan, new data")
            vkattn.attention(rand((1, 2, 48, 16), 51), q[:, :, :16], q[:, :, :16], context=ctx)  # new shapes
            vkattn.attention(q, q, q, causal=True, context=ctx)  # new parameters
            vkattn.attention(q.astype(np.float16), q, q, context=ctx)  # a new dtype
            info = ctx.plan_cache_info()
            self.assertEqual((info["hits"], info["misses"], info["size"]), (2, 4, 4))
            ctx.plan_cache_size = 2
            vkattn.attention(q, q, q, scheme="linear", context=ctx)  # evicts the oldest two
            self.assertEqual(ctx.plan_cache_info()["size"], 2)
            self.assertEqual(ctx.validation_message_count, 0, ctx.first_validation_message)

    def test_graph_and_plan(self):
        b, h, n, d = 1, 2, 32, 16
        g = vkattn.Graph(CTX)
        q = g.input("q", (b, h, n, d))
        k = g.input("k", (b, h, n, d))
        v = g.input("v", (b, h, n, d), "float16")
        a = g.op("softmax", {"q": q, "k": k, "v": v}, causal=True)
        o = g.op("gelu", {"x": a})
        g.output("attn", a)
        g.output("o", o)
        self.assertEqual(o.shape, (b, h, n, d))
        self.assertTrue(g.params(a)["causal"])
        self.assertAlmostEqual(g.params(a)["scale"], 0.25)
        self.assertGreater(g.flops, 0)
        plan = g.plan()
        for seed in (1, 2):  # the same plan, run twice on new data
            arrays = {"q": rand((b, h, n, d), seed), "k": rand((b, h, n, d), seed + 10),
                      "v": rand((b, h, n, d), seed + 20, np.float16)}
            for name, x in arrays.items():
                plan.write(name, x)
            plan.run()
            ref = g.reference(arrays)
            self.close(plan.read("attn"), ref["attn"].astype(np.float64), what="graph attn")
            self.close(plan.read("o"), ref["o"].astype(np.float64), what="graph gelu")
        outs = plan(**arrays)  # write, run, read in one call
        self.assertEqual(sorted(outs), ["attn", "o"])
        stats = plan.stats
        self.assertEqual(stats["run_count"], 3)
        self.assertGreater(stats["peak_device_bytes"], 0)
        self.assertGreaterEqual(stats["dispatch_count"], 1)
        self.assertTrue(plan.dispatches[0]["kernel"])
        g.close()  # the plan needs nothing of its graph
        plan.run()
        plan.close()

    def test_threads_share_a_cached_plan(self):
        q = rand((1, 2, 32, 16), 60)
        errors = []

        def work(i):
            try:
                x = q * (1 + i)
                out = vkattn.attention(x, q, q, context=CTX)
                if np.abs(out - np_softmax(x, q, q)).max() > F32_TOL:
                    errors.append(f"thread {i}: wrong result")
            except Exception as e:  # reported below
                errors.append(f"thread {i}: {e}")
        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])


# ------------------------------------------------------------------ errors


class TestErrors(Case):
    def assertError(self, result_name, words, call, *args, **kw):
        with self.assertRaises(vkattn.Error) as cm:
            call(*args, **kw)
        e = cm.exception
        self.assertIsInstance(e, RuntimeError)
        self.assertEqual(e.result_name, result_name, str(e))
        for w in words:
            self.assertIn(w, str(e))
        return e

    def test_wrong_shapes(self):
        q = rand((1, 2, 16, 16), 70)
        self.assertError("VKA_ERROR_SHAPE_MISMATCH", ["head dim"], vkattn.attention, q, rand((1, 2, 16, 8), 71),
                         q, context=CTX)
        self.assertError("VKA_ERROR_SHAPE_MISMATCH", ["shape (16, 16)"], vkattn.attention, q[0, 0], q, q,
                         context=CTX)
        self.assertError("VKA_ERROR_SHAPE_MISMATCH", ["heads"], vkattn.attention, q, rand((1, 3, 16, 16), 72),
                         rand((1, 3, 16, 16), 73), context=CTX)

    def test_unknown_scheme_and_parameter(self):
        q = rand((1, 1, 8, 16), 74)
        e = self.assertError("VKA_ERROR_NOT_FOUND", ["unknown scheme 'flashy'", "softmax"], vkattn.attention, q, q,
                             q, scheme="flashy", context=CTX)
        self.assertEqual(e.result, 3)
        self.assertError("VKA_ERROR_INVALID_ARGUMENT", ["unknown parameter 'windw'", "window"], vkattn.attention, q,
                         q, q, scheme="local", window=3, windw=3, context=CTX)
        self.assertError("VKA_ERROR_INVALID_ARGUMENT", ["window= is required"], vkattn.attention, q, q, q,
                         scheme="local", context=CTX)
        self.assertError("VKA_ERROR_INVALID_ARGUMENT", ["kernel", "flashy"], vkattn.attention, q, q, q,
                         kernel="flashy", context=CTX)
        self.assertError("VKA_ERROR_INVALID_ARGUMENT", ["'gates' is an array but not an input"], vkattn.attention,
                         q, q, q, gates=q, context=CTX)
        self.assertError("VKA_ERROR_INVALID_ARGUMENT", ["decode=1"], vkattn.attention, q, q, q, causal=True,
                         decode=True, context=CTX)

    def test_values_and_writes(self):
        q = rand((1, 2, 8, 16), 75)
        self.assertError("VKA_ERROR_INVALID_ARGUMENT", ["gates"], vkattn.attention, q, q, q, scheme="gla",
                         gates=np.abs(q) + 0.1, context=CTX)  # gates must be <= 0
        self.assertError("VKA_ERROR_INVALID_ARGUMENT", ["differs from q"], vkattn.attention, q, q * 2, q,
                         scheme="reformer", context=CTX)
        g = vkattn.Graph(CTX)
        x = g.input("x", (2, 3))
        g.output("y", g.op("relu", {"x": x}))
        with g.plan() as plan:
            self.assertError("VKA_ERROR_SHAPE_MISMATCH", ["(3, 2)"], plan.write, "x", np.zeros((3, 2)))
            self.assertError("VKA_ERROR_NOT_FOUND", [], plan.write, "nothing", np.zeros(6, np.float32))
            self.assertError("VKA_ERROR_NOT_FOUND", ["not an output"], plan.read, "x")
        self.assertError("VKA_ERROR_INVALID_ARGUMENT", ["closed"], plan.run)
        self.assertError("VKA_ERROR_INVALID_ARGUMENT", ["already output"], g.output, "y2", g.outputs["y"])
        self.assertError("VKA_ERROR_NOT_FOUND", ["no input"], g.find, "nothing")
        g.close()
        self.assertError("VKA_ERROR_INVALID_ARGUMENT", ["closed"], g.input, "w", (1,))

    def test_context_closed_first(self):
        """Plans and graphs outliving their context fail with a message, never crash."""
        ctx = vkattn.Context(validation=True)
        g = vkattn.Graph(ctx)
        x = g.input("x", (4,))
        g.output("y", g.op("relu", {"x": x}))
        plan = g.plan()
        plan.write("x", np.arange(4, dtype=np.float32) - 2)
        plan.run()
        np.testing.assert_array_equal(plan.read("y"), [0, 0, 0, 1])
        self.assertEqual(ctx.validation_message_count, 0)
        ctx.close()
        e = self.assertError("VKA_ERROR_INVALID_ARGUMENT", [], plan.run)
        self.assertTrue(e.message)
        self.assertError("VKA_ERROR_INVALID_ARGUMENT", [], g.input, "z", (4,))
        self.assertError("VKA_ERROR_INVALID_ARGUMENT", ["closed"], vkattn.Graph, ctx)
        plan.close()
        g.close()

    def test_device_by_index_and_name(self):
        name = CTX.device_info["name"]
        for device in (0, name.split()[0].upper()):  # an index, a case-insensitive substring
            with vkattn.Context(device, validation=True) as ctx:
                self.assertEqual(ctx.device_info["name"], name)
                self.assertTrue(ctx.resolved_desc["validation"])
                q = rand((1, 1, 8, 16), 77)
                self.close(vkattn.attention(q, q, q, context=ctx), np_softmax(q, q, q), what=f"device={device!r}")
                self.assertEqual(ctx.validation_message_count, 0, ctx.first_validation_message)

    def test_bad_context(self):
        self.assertError("VKA_ERROR_NOT_FOUND", ["no-such-gpu"], vkattn.Context, "no-such-gpu", validation=True)
        self.assertError("VKA_ERROR_INVALID_ARGUMENT", ["kernel_class"], vkattn.Context, kernel_class="tpu")

    def test_dtype(self):
        q = rand((1, 1, 8, 16), 76)
        self.assertError("VKA_ERROR_INVALID_ARGUMENT", ["float32, float16"], vkattn.attention, q, q, q,
                         out_dtype="int8", context=CTX)
        self.assertError("VKA_ERROR_INVALID_ARGUMENT", ["float32 or float16"], vkattn.attention, q, q, q,
                         out_dtype="int32", context=CTX)


# ------------------------------------------------------------------ packaging


class TestInstall(unittest.TestCase):
    def test_offline_install_into_a_venv(self):
        """pip install --no-build-isolation --no-index of a copy of python/ into a venv that
        sees the system's packages (Debian: python3-venv, python3-pip), then an import and
        a call from elsewhere: the install needs no network and no compiler."""
        import importlib.util
        if importlib.util.find_spec("venv") is None or importlib.util.find_spec("ensurepip") is None:
            self.skipTest("no venv/ensurepip for this interpreter (Debian: python3-venv)")
        with tempfile.TemporaryDirectory() as tmp:
            src, env_dir = os.path.join(tmp, "src"), os.path.join(tmp, "venv")
            # A copy: setuptools builds in the source folder, which the checkout should not get.
            shutil.copytree(os.path.dirname(HERE), src,
                            ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "tests", "examples"))
            subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", env_dir], check=True)
            py = os.path.join(env_dir, "bin", "python")
            pip = subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                                  "--no-build-isolation", "--no-index", src], capture_output=True, text=True)
            self.assertEqual(pip.returncode, 0, pip.stdout + pip.stderr)
            code = ("import numpy as np, vkattn; q = np.ones((2, 8, 4), np.float32); "
                    "print(vkattn.__file__, vkattn.attention(q, q, q).shape)")
            run = subprocess.run([py, "-c", code], capture_output=True, text=True, cwd=tmp,
                                 env=dict(os.environ, VKATTN_LIBRARY=vkattn.library_path))
            self.assertEqual(run.returncode, 0, run.stderr)
            self.assertIn(os.path.join(env_dir, "lib"), run.stdout)
            self.assertIn("(2, 8, 4)", run.stdout)


if __name__ == "__main__":
    start = time.time()
    result = unittest.main(exit=False, verbosity=int(os.environ.get("VKATTN_TEST_VERBOSITY", "1"))).result
    print(f"python_module: {result.testsRun} tests in {time.time() - start:.1f} s", file=sys.stderr)
    sys.exit(0 if result.wasSuccessful() else 1)
