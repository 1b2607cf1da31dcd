"""The operations' catalogue (vkattn/ops.h): what each takes, and an operation posed on
a problem size (vka_op_example_for), read into plain dataclasses once."""

import ctypes
import functools
import math
from dataclasses import dataclass

import numpy as np

from . import _lib
from ._core import NOT_FOUND, Error, _check
from ._lib import fn, text

_DTYPE_NAMES = {_lib.VKA_DTYPE_F32: "float32", _lib.VKA_DTYPE_F16: "float16", _lib.VKA_DTYPE_I32: "int32"}


@dataclass(frozen=True)
class ValueRange:
    """The values a float input may take (gla's gates <= 0, deltanet's beta in (0, 1))."""
    min: float
    max: float
    open_min: bool
    open_max: bool

    def __contains__(self, x):
        lo = x > self.min if self.open_min else x >= self.min
        hi = x < self.max if self.open_max else x <= self.max
        return lo and hi


@dataclass(frozen=True)
class InputInfo:
    role: str
    kind: str            # tokens, learned, positions, indices, mask
    dtypes: tuple        # ("float32", "float16") or ("int32",)
    shape: str           # axis names: "[B,H,Nq,D]"
    summary: str
    optional: bool
    in_logits: bool
    constant: bool       # must be a graph constant (Graph.constant)
    same_as: str         # "" or the role it must be the same tensor as (the Reformer's k is q)
    values: ValueRange   # None: any value

    @property
    def axes(self):
        """The shape's axis names: ["B", "H", "Nq", "D"]."""
        return [a.strip() for a in self.shape.strip("[]").split(",") if a.strip()]


@dataclass(frozen=True)
class ParamInfo:
    key: str
    type: str            # bool, int, float, enum, name, list
    summary: str
    default: str         # the default as text, else None
    derived: str         # how the default follows from the inputs, else None (with default None: required)
    min: float
    max: float
    choices: tuple       # enum choices

    @property
    def required(self):
        return self.default is None and self.derived is None


@dataclass(frozen=True)
class SchemeInfo:
    name: str
    summary: str
    inputs: tuple        # InputInfo, required first as the library lists them
    params: tuple        # ParamInfo
    output_shape: str
    rows_independent: bool
    required_input_count: int = 0

    def input(self, role):
        for i in self.inputs:
            if i.role == role:
                return i
        return None

    @property
    def roles(self):
        return [i.role for i in self.inputs]


def _value_range(v):
    return ValueRange(v.min, v.max, v.open_min, v.open_max) if v.bounded else None


def _dtypes(bits):
    return tuple(name for code, name in _DTYPE_NAMES.items() if bits >> code & 1)


def _scheme_info(info):
    inputs = tuple(InputInfo(text(i.role), _lib.INPUT_KINDS.get(i.kind, str(i.kind)), _dtypes(i.dtypes),
                             text(i.shape), text(i.summary), i.optional, i.in_logits, i.constant, text(i.same_as),
                             _value_range(i.values))
                   for i in (info.inputs[n] for n in range(info.input_count)))
    params = []
    for n in range(info.param_count):
        p = info.params[n]
        choices = []
        while p.choices and p.choices[len(choices)]:
            choices.append(text(p.choices[len(choices)]))
        params.append(ParamInfo(text(p.key), _lib.PARAM_TYPES.get(p.type, str(p.type)), text(p.summary),
                                p.fallback.decode() if p.fallback is not None else None,
                                p.derived.decode() if p.derived is not None else None, p.min, p.max, tuple(choices)))
    return SchemeInfo(text(info.name), text(info.summary), inputs, tuple(params), text(info.output_shape),
                      info.rows_independent, info.required_input_count)


@functools.lru_cache(maxsize=None)
def _all_schemes():
    out = {}
    for i in range(fn.op_count()):
        info = _lib.vka_op_info()
        _check(fn.op_info_at(i, ctypes.byref(info)), None, "vka_op_info_at")
        s = _scheme_info(info)
        out[s.name] = s
    return out


def schemes():
    """Every operation the engine knows (vka_op_count / vka_op_info_at), in the library's
    order, as SchemeInfo: name, summary, inputs (role, kind, dtypes, shape, optional,
    constant, value range...), params (key, type, default, range, choices...)."""
    return list(_all_schemes().values())


def scheme_info(name):
    """The SchemeInfo of operation `name`; Error NOT_FOUND naming the known ones."""
    s = _all_schemes().get(name)
    if s is None:
        raise Error(NOT_FOUND, f"unknown scheme {name!r} (known: {', '.join(_all_schemes())})", "vkattn")
    return s


# ------------------------------------------------------------------ examples


@dataclass
class ExampleInput:
    role: str
    shape: tuple
    dtype: str
    kind: str
    constant: bool
    in_logits: bool
    values: ValueRange
    query_axis: int      # the queries' axis, or -1


@dataclass
class Example:
    """An operation posed on a problem (vka_op_example_for): its required inputs' shapes
    and the parameters it cannot do without, at example values."""
    scheme: str
    inputs: list
    params: dict
    output_shape: tuple
    output_dtype: str
    output_query_axis: int = -1

    def random_inputs(self, seed=0, scale=1.0):
        """{role: array} of random values each input may take: normal tokens (times
        `scale` where they enter the logits), values inside each input's range."""
        rng = np.random.default_rng(seed)
        out = {}
        for i in self.inputs:
            if i.dtype == "int32":
                out[i.role] = np.full(i.shape, max(1, i.shape[-1] if i.shape else 1), np.int32)
                continue
            if i.values is not None:
                lo = max(i.values.min, -1.0) if math.isfinite(i.values.min) else -1.0
                hi = min(i.values.max, 1.0) if math.isfinite(i.values.max) else 1.0
                margin = 0.05 * (hi - lo)  # keep off open bounds
                a = rng.uniform(lo + margin, hi - margin, i.shape)
            else:
                a = rng.standard_normal(i.shape) * (scale if i.in_logits else 1.0)
            out[i.role] = a.astype(i.dtype)
        return out


def example(scheme, batch=1, heads=2, queries=64, keys=None, head_dim=16, value_dim=0, kv_heads=0):
    """Operation `scheme` posed on a problem size: Example with its inputs' shapes and
    dtypes (required inputs, and optional token inputs) and its indispensable params."""
    problem = _lib.vka_problem(batch=batch, heads=heads, queries=queries, keys=queries if keys is None else keys,
                               head_dim=head_dim, value_dim=value_dim, kv_heads=kv_heads)
    ex = _lib.vka_op_example()
    scheme_info(scheme)  # a clear message for an unknown name
    r = fn.op_example_for(scheme.encode(), ctypes.byref(problem), ctypes.byref(ex))
    if r != _lib.VKA_SUCCESS:  # this call has no context for a message: say what it returns
        why = {3: "no such operation", 1: "a size of 0", 4: "a required input whose shape the problem does not fix"}
        raise Error(r, f"{scheme}: {why.get(r, 'cannot be posed')}", "vka_op_example_for")
    inputs = []
    for n in range(ex.input_count):
        e = ex.inputs[n]
        inputs.append(ExampleInput(text(e.role), tuple(e.desc.dims[:e.desc.rank]),
                                   _DTYPE_NAMES.get(e.desc.dtype, "float32"), _lib.INPUT_KINDS.get(e.kind, ""),
                                   e.constant, e.in_logits, _value_range(e.values), e.query_axis))
    params = {}
    for p in ex.params:
        if not p.key:
            break
        params[text(p.key)] = int(p.value) if float(p.value).is_integer() else p.value
    return Example(scheme, inputs, params, tuple(ex.output.dims[:ex.output.rank]),
                   _DTYPE_NAMES.get(ex.output.dtype, "float32"), ex.output_query_axis)


def random_projection(seed, features, head_dim, orthogonal=True):
    """The Performer projection W [features, head_dim] the engine draws from `seed`
    (vka_random_projection): pass it back as performer's `projection` ([1, 1, m, D])."""
    out = np.empty((features, head_dim), np.float32)
    r = fn.random_projection(int(seed), int(features), int(head_dim), bool(orthogonal), out.ctypes.data)
    if r != _lib.VKA_SUCCESS:
        raise Error(r, f"vka_random_projection(seed={seed}, features={features}, head_dim={head_dim}) failed",
                    "vka_random_projection")
    return out
