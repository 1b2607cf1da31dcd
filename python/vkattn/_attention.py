"""attention() and reference(): one operation on numpy arrays, its plan kept for reuse."""

import atexit
import hashlib
import threading
from dataclasses import dataclass

import numpy as np

from ._catalog import scheme_info
from ._core import INVALID_ARGUMENT, SHAPE_MISMATCH, Context, Error, Graph, as_dtype, host_array, param_texts

# ------------------------------------------------------------------ the default context

_default = None
_default_lock = threading.Lock()


def default_context():
    """The context attention() uses when given none: made on first use with the library's
    defaults (so $VKATTN_DEVICE, $VKATTN_VALIDATION... apply), closed at exit."""
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = Context()
        return _default


@atexit.register
def _close_default():
    global _default
    if _default is not None:
        _default.close()
        _default = None


# ------------------------------------------------------------------ posing an operation

@dataclass
class _Input:
    role: str
    array: np.ndarray
    constant: bool     # a graph constant: its content is part of the plan
    same_as: str       # "" or the role whose tensor it is (the Reformer's k)


@dataclass
class _Posed:
    scheme: str
    inputs: list       # _Input, in the order given
    params: tuple      # ((key, text), ...) sorted
    out_dtype: object  # numpy dtype or None (the library's default: the first input's)
    unbatched: bool    # [H, N, D] inputs: a batch axis of 1 was added, and is dropped from the result

    def key(self):
        """What decides the plan: scheme, every input's role, shape, dtype (and a constant's
        content), the parameters, the result's dtype."""
        parts = []
        for i in sorted(self.inputs, key=lambda i: i.role):  # keywords in any order: one plan
            if i.same_as:
                parts.append((i.role, i.same_as))
                continue
            digest = hashlib.sha1(i.array.tobytes()).hexdigest() if i.constant else ""
            parts.append((i.role, i.array.shape, i.array.dtype.str, digest))
        return (self.scheme, tuple(parts), self.params, None if self.out_dtype is None else self.out_dtype.str)


def _batch_leading(info, role):
    """Whether the input's first axis is the batch (q, k, v, gates, beta, kv_len, mask)."""
    axes = info.input(role).axes
    return bool(axes) and axes[0] == "B"


def _primary_role(info, given):
    """The input whose rank says batched or not: the first given input whose shape leads
    with the batch (q; aaren's k)."""
    for i in info.inputs:
        if i.role in given and _batch_leading(info, i.role):
            return i.role
    return None


def _pose(scheme, q, k, v, kwargs):
    info = scheme_info(scheme)
    roles = info.roles
    given = {}
    # q, k, v by position: q is the op's "q", else its "query" (aaren), else its first input.
    for name, value in (("q", q), ("k", k), ("v", v)):
        if value is None:
            continue
        role = name if name in roles else "query" if name == "q" and "query" in roles else \
            roles[0] if name == "q" else None
        if role is None:
            raise Error(INVALID_ARGUMENT, f"{scheme} takes no {name} (its inputs: {', '.join(roles)})", scheme)
        given[role] = value
    params = {}
    out_dtype = None
    for key, value in kwargs.items():
        if key == "out_dtype":
            out_dtype = None if value is None else as_dtype(value)
        elif key in roles:
            if key in given:
                raise Error(INVALID_ARGUMENT, f"{scheme}: input {key!r} given twice", scheme)
            given[key] = value
        elif isinstance(value, np.ndarray):
            raise Error(INVALID_ARGUMENT, f"{scheme}: {key!r} is an array but not an input of {scheme} "
                        f"(its inputs: {', '.join(roles)})", scheme)
        else:
            params[key] = value
    if str(params.get("decode", "0")) not in ("0", "False", "false"):
        raise Error(INVALID_ARGUMENT, f"{scheme}: decode=1 keeps state between runs, which attention() does not; "
                    "build a vkattn.Graph and use its Plan (Plan.reset_states())", scheme)

    # Unbatched ([H, N, D]) when the primary input has one axis fewer than its shape names.
    primary = _primary_role(info, given)
    unbatched = False
    if primary is not None:
        rank, ndim = len(info.input(primary).axes), np.ndim(given[primary])
        if ndim == rank - 1:
            unbatched = True
        elif ndim != rank:
            raise Error(SHAPE_MISMATCH, f"{scheme}: {primary} has shape {np.shape(given[primary])}; want "
                        f"{info.input(primary).shape} (or without the batch axis B)", scheme)

    inputs = []
    for role, value in given.items():
        inf = info.input(role)
        if inf.same_as and inf.same_as in given:
            other = given[inf.same_as]
            if value is not other and not (np.shape(value) == np.shape(other) and np.array_equal(value, other)):
                raise Error(INVALID_ARGUMENT, f"{scheme}: {role} differs from {inf.same_as}; {scheme} takes its "
                            f"{inf.same_as} as its {role} (give the same array, or leave {role} out)", scheme)
            inputs.append(_Input(role, None, False, inf.same_as))
            continue
        dtype = np.dtype(np.int32) if inf.dtypes == ("int32",) else None
        a = np.asarray(value)
        if dtype is None:  # float inputs keep f16 and f32; anything else becomes f32
            dtype = a.dtype if a.dtype in (np.float16, np.float32) else np.dtype(np.float32)
        a = host_array(a, dtype, f"{scheme}: {role}")
        if unbatched and _batch_leading(info, role) and a.ndim == len(inf.axes) - 1:
            a = a[np.newaxis]
        inputs.append(_Input(role, a, inf.constant, ""))
    return _Posed(scheme, inputs, param_texts(params), out_dtype, unbatched)


def _build_graph(context, posed):
    """The posed operation as a graph: inputs named by role, one output "out"."""
    g = Graph(context)
    try:
        tensors = {}
        for i in posed.inputs:
            if i.same_as:
                continue
            tensors[i.role] = (g.constant(i.role, i.array) if i.constant
                               else g.input(i.role, i.array.shape, i.array.dtype))
        bound = {i.role: tensors[i.same_as or i.role] for i in posed.inputs}
        out = g.op(posed.scheme, bound, out_dtype=posed.out_dtype, params=dict(posed.params))
        g.output("out", out)
    except BaseException:
        g.close()
        raise
    return g


class _CachedPlan:
    def __init__(self, plan, posed):
        self.plan = plan
        self.written = [i.role for i in posed.inputs if not i.constant and not i.same_as]
        # An op with a persistent state (continuous_update's memory) would carry it from
        # one call to the next through the shared plan: each call starts from a fresh one.
        self.has_state = plan.stats["state_bytes"] > 0


def _cached_plan(context, posed):
    key = posed.key()
    with context._plan_cache_lock:
        entry = context._plan_cache.get(key)
        if entry is not None:
            context._plan_cache.move_to_end(key)
            context.plan_cache_hits += 1
            return entry
        context.plan_cache_misses += 1
    # Planned outside the lock: pipeline creation is slow, and other shapes need not wait.
    g = _build_graph(context, posed)
    try:
        entry = _CachedPlan(g.plan(), posed)
    finally:
        g.close()  # a plan needs nothing of its graph
    evicted = []
    with context._plan_cache_lock:
        if key in context._plan_cache:  # another thread planned the same meanwhile
            evicted.append(entry)
            entry = context._plan_cache[key]
        else:
            context._plan_cache[key] = entry
            while len(context._plan_cache) > max(1, context.plan_cache_size):
                evicted.append(context._plan_cache.popitem(last=False)[1])
    for e in evicted:
        e.plan.close()
    return entry


def attention(q=None, k=None, v=None, scheme="softmax", causal=False, context=None, **kwargs):
    """Runs attention scheme `scheme` on numpy arrays and returns the result as a new array.

    q, k, v: float32 or float16 arrays [B, H, N, D] (k, v may have fewer heads where the
    scheme takes grouped heads), or [H, N, D] without the batch axis (the result then has
    none either). Other arrays the scheme takes are keywords named by role: kv_len (int32
    [B]), mask, sinks, gates, beta, latents, projection, proj_k, query (aaren's; q is taken
    as it)... Other keywords are the scheme's parameters (bool -> "1"/"0", numbers
    exactly, lists comma-separated): window=16, kernel="materialized", features=128...
    `out_dtype` (float32 or float16) sets the result's type; by default it is q's.
    float64 arrays are converted to float32 (and so is the result).

    The plan is cached on the context, keyed by the scheme, the inputs' shapes and dtypes,
    the parameters and the result's dtype (and a constant's content: the blocksparse
    layout): calling again with the same shapes reuses it (pipelines, memory, command
    buffer) and only writes, runs and reads. Context.plan_cache_info() counts hits and
    misses. An operation with a persistent state (continuous_update) starts from a fresh
    state on every call; decode=1 is refused (a Graph's Plan keeps states between runs).
    Inputs may all be given by keyword (x=... for the building blocks, query=... for
    aaren). `context`: default_context() when None. Errors raise vkattn.Error."""
    context = context if context is not None else default_context()
    posed = _pose(scheme, q, k, v, dict(kwargs, causal=causal) if causal else kwargs)
    entry = _cached_plan(context, posed)
    arrays = {i.role: i.array for i in posed.inputs}
    with entry.plan.lock:  # write, run, read as one turn: another thread may share the plan
        for role in entry.written:
            entry.plan.write(role, arrays[role])
        if entry.has_state:
            entry.plan.reset_states()
        entry.plan.run()
        out = entry.plan.read("out")
    return out[0] if posed.unbatched else out


def reference(q=None, k=None, v=None, scheme="softmax", causal=False, context=None, **kwargs):
    """The engine's double-precision reference (vka_graph_reference, engine/ref: an
    independent CPU twin of every scheme) for the same call as attention(): same
    arguments, the result rounded once to float32 (or to out_dtype when given). Builds a
    graph on `context` (default_context() when None) but plans and runs nothing."""
    context = context if context is not None else default_context()
    if kwargs.get("out_dtype") is None:
        kwargs = dict(kwargs, out_dtype=np.float32)
    posed = _pose(scheme, q, k, v, dict(kwargs, causal=causal) if causal else kwargs)
    with _build_graph(context, posed) as g:
        out = g.reference({i.role: i.array for i in posed.inputs if not i.constant and not i.same_as})["out"]
    return out[0] if posed.unbatched else out


def plan_cache_info(context=None):
    """hits, misses, size, maxsize of attention()'s plan cache on `context`."""
    return (context if context is not None else default_context()).plan_cache_info()
