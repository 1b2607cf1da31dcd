"""Context, Graph, Tensor, Plan and Error: the core of vkattn.h as Python objects.

Each object owns one C handle and frees it in close() (or when collected). A Graph or
Plan keeps its Context alive; a Context closed first makes their later calls fail with
vkattn.Error (the library's documented behaviour), never a crash: no NULL handle is ever
passed to the library.
"""

import ctypes
import threading
import weakref
from collections import OrderedDict

import numpy as np

from . import _lib
from ._lib import fn, text

# ------------------------------------------------------------------ errors


class Error(RuntimeError):
    """A vkattn call failed. `result` is the vka_result (int), `result_name` its C name
    ("VKA_ERROR_SHAPE_MISMATCH"), `message` what vka_last_error() said, `call` the C
    function (or the Python step) that failed. str(e) is "call: result: message"."""

    def __init__(self, result, message, call=""):
        self.result = int(result)
        self.result_name = (_lib.RESULT_NAMES[self.result] if 0 <= self.result < len(_lib.RESULT_NAMES)
                            else f"vka_result {self.result}")
        self.result_string = text(fn.result_string(self.result))
        self.message = message
        self.call = call
        head = f"{call}: " if call else ""
        super().__init__(f"{head}{self.result_string}: {message}" if message else f"{head}{self.result_string}")


INVALID_ARGUMENT, SHAPE_MISMATCH, NOT_FOUND = 1, 2, 3


def _check(result, ctx_handle, call):
    """Raises Error for a failed vka_result with the context's last error (or the
    thread's, vka_last_error(NULL), which is where failures without a live context go)."""
    if result == _lib.VKA_SUCCESS:
        return
    # With a live context its own message; without one (a closed context, a call that
    # takes none) the thread's. Never the other when one is empty: it may be stale.
    message = text(fn.last_error(ctx_handle if ctx_handle else None))
    raise Error(result, message or "(the library gave no message)", call)


# ------------------------------------------------------------------ dtypes and arrays

_DTYPE_TO_VKA = {np.dtype(np.float32): _lib.VKA_DTYPE_F32, np.dtype(np.float16): _lib.VKA_DTYPE_F16,
                 np.dtype(np.int32): _lib.VKA_DTYPE_I32}
_VKA_TO_DTYPE = {v: k for k, v in _DTYPE_TO_VKA.items()}
_DTYPE_NAMES = {"f32": np.float32, "float32": np.float32, "f16": np.float16, "float16": np.float16,
                "half": np.float16, "i32": np.int32, "int32": np.int32}


def as_dtype(dtype):
    """A numpy dtype the engine holds (float32, float16, int32) from a dtype, a type or a
    name ("f16", "float32"...); Error for anything else."""
    if isinstance(dtype, str) and dtype.lower() in _DTYPE_NAMES:
        dtype = _DTYPE_NAMES[dtype.lower()]
    try:
        d = np.dtype(dtype)
    except TypeError:
        raise Error(INVALID_ARGUMENT, f"dtype {dtype!r}: want float32, float16 or int32", "vkattn") from None
    if d.newbyteorder("=") not in _DTYPE_TO_VKA:
        raise Error(INVALID_ARGUMENT, f"dtype {d}: the engine holds float32, float16 and int32 only", "vkattn")
    return d.newbyteorder("=")


def vka_dtype(dtype):
    return _DTYPE_TO_VKA[as_dtype(dtype)]


def host_array(value, dtype, what):
    """value as a dense, native-order array of dtype (float arrays convert between float
    types, integer arrays to int32 when every value fits); Error naming `what` otherwise."""
    a = np.asarray(value)
    if a.dtype == dtype or (dtype.kind == "f" and a.dtype.kind in "fiu"):
        return np.ascontiguousarray(a, dtype=dtype)
    if dtype.kind == "i" and a.dtype.kind in "iu":
        if a.size and (a.min() < np.iinfo(np.int32).min or a.max() > np.iinfo(np.int32).max):
            raise Error(INVALID_ARGUMENT, f"{what}: values outside int32", "vkattn")
        return np.ascontiguousarray(a, dtype=np.int32)
    raise Error(INVALID_ARGUMENT, f"{what}: a {a.dtype} array where {dtype} is wanted", "vkattn")


def _struct_dict(s, enums=None):
    """A ctypes struct as a dict: char arrays as str, arrays as lists, nested structs as dicts."""
    out = {}
    for name, ctype in s._fields_:
        v = getattr(s, name)
        if enums and name in enums:
            v = enums[name].get(v, v)
        elif isinstance(v, bytes):
            v = text(v)
        elif isinstance(v, ctypes.Structure):
            v = _struct_dict(v)
        elif isinstance(v, ctypes.Array):
            v = list(v)
        out[name] = v
    return out


def _tensor_desc(name, shape, dtype):
    shape = tuple(int(d) for d in shape)
    if not 1 <= len(shape) <= _lib.VKA_MAX_RANK:
        raise Error(SHAPE_MISMATCH, f"'{name}': rank {len(shape)}; the engine takes ranks 1..4", "vkattn")
    if any(d <= 0 or d >= 2**32 for d in shape):
        raise Error(SHAPE_MISMATCH, f"'{name}': shape {shape} has a size outside 1..2^32-1", "vkattn")
    desc = _lib.vka_tensor_desc(name=name.encode(), dtype=vka_dtype(dtype), rank=len(shape))
    for i, d in enumerate(shape):
        desc.dims[i] = d
    return desc


# ------------------------------------------------------------------ context


class _Closable:
    """Closed by close(), by `with`, or when collected (close() may run twice)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Context(_Closable):
    """A device and what runs on it (vka_context). `device`: None (the library's choice:
    $VKATTN_DEVICE, else the best device by type), an index, or a case-insensitive
    substring of the device name. Keyword options mirror vka_context_desc: validation,
    limits ("android-2021", ...), kernel_class ("auto", "gpu", "cpu"), sync ("auto",
    "planned", "full"), force_staging, disable_f16, disable_subgroups,
    pipeline_cache_dir, ignore_environment; `log(level, message)` receives the validation
    layer's messages. `plan_cache_size` bounds the plans attention() keeps (LRU).

    A context manager: `with vkattn.Context(validation=True) as ctx: ...` closes it."""

    def __init__(self, device=None, *, validation=False, limits=None, kernel_class="auto", sync="auto",
                 force_staging=False, disable_f16=False, disable_subgroups=False, pipeline_cache_dir=None,
                 ignore_environment=False, log=None, plan_cache_size=32):
        self._handle = None
        self._plan_cache = OrderedDict()  # attention()'s plans: key -> _CachedPlan
        self._plan_cache_lock = threading.Lock()
        self.plan_cache_size = int(plan_cache_size)
        self.plan_cache_hits = 0
        self.plan_cache_misses = 0
        if kernel_class not in _lib.KERNEL_CLASSES:
            raise Error(INVALID_ARGUMENT, f"kernel_class={kernel_class!r}: want one of {list(_lib.KERNEL_CLASSES)}",
                        "Context")
        if sync not in _lib.SYNC_MODES:
            raise Error(INVALID_ARGUMENT, f"sync={sync!r}: want one of {list(_lib.SYNC_MODES)}", "Context")
        desc = _lib.vka_context_desc(
            device=None if device is None else str(device).encode(),
            limits=None if limits is None else str(limits).encode(), validation=bool(validation),
            kernel_class=_lib.KERNEL_CLASSES[kernel_class], sync=_lib.SYNC_MODES[sync],
            force_staging=bool(force_staging), disable_f16=bool(disable_f16),
            disable_subgroups=bool(disable_subgroups),
            pipeline_cache_dir=None if pipeline_cache_dir is None else str(pipeline_cache_dir).encode(),
            ignore_environment=bool(ignore_environment))
        self._log_fn = None
        if log is not None:
            # Kept on self: the library calls it for as long as the context lives.
            def on_message(_user, level, message, _log=log):
                try:
                    _log(_lib.LOG_LEVELS.get(level, level), text(message))
                except Exception:  # an exception cannot cross the C frames; the count still has it
                    pass
            self._log_fn = _lib.vka_log_fn(on_message)
            desc.log = self._log_fn
        handle = ctypes.c_void_p()
        _check(fn.context_create(ctypes.byref(desc), ctypes.byref(handle)), None, "vka_context_create")
        if not handle:
            raise Error(INVALID_ARGUMENT, "vka_context_create succeeded without a context", "vka_context_create")
        self._handle = handle

    # -- lifetime
    def close(self):
        """Frees the cached plans, then the context. Graphs and plans made by the caller
        stay Python objects whose calls now raise Error; close them too."""
        self.clear_plan_cache()
        if self._handle:
            fn.context_destroy(self._handle)
            self._handle = None

    @property
    def closed(self):
        return not self._handle


    def _live(self, what):
        if not self._handle:
            raise Error(INVALID_ARGUMENT, f"{what}: the context is closed", what)
        return self._handle

    # -- what the device is
    @property
    def device_info(self):
        """vka_device_info as a dict (type, kernel_class as names; subgroup_operations a
        list of names; limits and device_limits dicts; api_version "1.3.230")."""
        info = _lib.vka_device_info()
        h = self._live("vka_context_device_info")
        _check(fn.context_device_info(h, ctypes.byref(info)), h, "vka_context_device_info")
        d = _struct_dict(info, {"type": _lib.DEVICE_TYPES,
                                "kernel_class": {v: k for k, v in _lib.KERNEL_CLASSES.items()}})
        v = info.api_version
        d["api_version"] = f"{(v >> 22) & 0x7F}.{(v >> 12) & 0x3FF}.{v & 0xFFF}"
        d["pipeline_cache_uuid"] = bytes(info.pipeline_cache_uuid).hex()
        d["subgroup_operations"] = [n for i, n in enumerate(_lib.SUBGROUP_BITS) if info.subgroup_operations >> i & 1]
        return d

    @property
    def candidates(self):
        """Every physical device considered: dicts of index, name, type, chosen, reason."""
        h = self._live("vka_context_candidate_at")
        out = []
        for i in range(fn.context_candidate_count(h)):
            c = _lib.vka_device_candidate()
            _check(fn.context_candidate_at(h, i, ctypes.byref(c)), h, "vka_context_candidate_at")
            out.append(_struct_dict(c, {"type": _lib.DEVICE_TYPES}))
        return out

    @property
    def resolved_desc(self):
        """The context desc after defaults and environment: what each option became."""
        d = _lib.vka_context_desc()
        h = self._live("vka_context_resolved_desc")
        _check(fn.context_resolved_desc(h, ctypes.byref(d)), h, "vka_context_resolved_desc")
        return {"device": text(d.device), "limits": text(d.limits), "validation": d.validation,
                "kernel_class": {v: k for k, v in _lib.KERNEL_CLASSES.items()}.get(d.kernel_class),
                "sync": {v: k for k, v in _lib.SYNC_MODES.items()}.get(d.sync), "force_staging": d.force_staging,
                "disable_f16": d.disable_f16, "disable_subgroups": d.disable_subgroups,
                "pipeline_cache_dir": text(d.pipeline_cache_dir), "ignore_environment": d.ignore_environment}

    @property
    def validation_message_count(self):
        """Validation-layer messages since the context was made (0 without validation)."""
        return fn.context_validation_message_count(self._live("vka_context_validation_message_count"))

    @property
    def first_validation_message(self):
        return text(fn.context_first_validation_message(self._live("vka_context_first_validation_message")))

    @property
    def last_error(self):
        return text(fn.last_error(self._handle)) if self._handle else text(fn.last_error(None))

    # -- attention()'s plan cache
    def plan_cache_info(self):
        """hits, misses, size and maxsize of the plans attention() keeps on this context."""
        return {"hits": self.plan_cache_hits, "misses": self.plan_cache_misses, "size": len(self._plan_cache),
                "maxsize": self.plan_cache_size}

    def clear_plan_cache(self):
        with self._plan_cache_lock:
            entries = list(self._plan_cache.values())
            self._plan_cache.clear()
        for e in entries:
            e.plan.close()

    def __repr__(self):
        if not self._handle:
            return "<vkattn.Context closed>"
        return f"<vkattn.Context {self.device_info['name']!r}>"


# ------------------------------------------------------------------ graph


class Tensor:
    """A tensor of a Graph: an input, a constant or an operation's result."""

    def __init__(self, graph, handle):
        self._graph = weakref.ref(graph)  # no cycle: the graph keeps its tensors in dicts
        self._t = handle  # vka_tensor
        desc = _lib.vka_tensor_desc()
        r = fn.graph_tensor_desc(graph._live("vka_graph_tensor_desc"), handle, ctypes.byref(desc))
        if r != _lib.VKA_SUCCESS:  # this call sets no message of its own
            raise Error(r, f"tensor {handle.id} is not a tensor of this graph", "vka_graph_tensor_desc")
        self.name = text(desc.name)
        self.output_name = None  # set by Graph.output
        self.shape = tuple(desc.dims[:desc.rank])
        self.dtype = _VKA_TO_DTYPE[desc.dtype]

    @property
    def graph(self):
        return self._graph()

    @property
    def id(self):
        return self._t.id

    def __repr__(self):
        return f"<vkattn.Tensor {self.name!r} {self.shape} {self.dtype}>"


def _param_text(key, value):
    """A parameter as the library's text: bools "1"/"0", numbers exactly (repr round-trips
    a double), sequences comma-separated (retention's gamma), strings as they are."""
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        return ",".join(_param_text(key, x) for x in np.asarray(value).ravel().tolist())
    raise TypeError(f"parameter {key}={value!r}: want a bool, number, string or list of numbers")


def param_texts(params):
    """{key: value} -> sorted ((key, text), ...): what a plan is keyed on and the op gets."""
    return tuple(sorted((str(k), _param_text(k, v)) for k, v in params.items() if v is not None))


class _Owned(_Closable):
    """A library object this module owns (a graph or a plan): closed once, by close(), by
    `with`, or when collected. Subclasses name their kind and destroy function."""

    _kind, _destroy = "object", None

    def _live(self, what):
        if not self._handle:
            raise Error(INVALID_ARGUMENT, f"{what}: the {self._kind} is closed", what)
        return self._handle

    def _check(self, result, call):
        _check(result, self.context._handle, call)

    def close(self):
        if getattr(self, "_handle", None):
            self._destroy(self._handle)
            self._handle = None



class Graph(_Owned):
    """Named inputs, operations and named outputs (vka_graph), planned with .plan().

        g = vkattn.Graph(ctx)
        q = g.input("q", (1, 8, 128, 64))            # float32 unless dtype= says
        k = g.input("k", (1, 8, 128, 64)); v = g.input("v", (1, 8, 128, 64))
        o = g.op("softmax", {"q": q, "k": k, "v": v}, causal=True)
        g.output("o", o)
        with g.plan() as plan:
            plan.write("q", q_host); ...; plan.run(); out = plan.read("o")
    """

    def __init__(self, context=None):
        from . import _attention  # the default context lives there
        self.context = context if context is not None else _attention.default_context()
        self._handle = None
        self.inputs = OrderedDict()   # name -> Tensor (inputs the host writes)
        self.constants = OrderedDict()
        self.outputs = OrderedDict()  # name -> Tensor
        h = ctypes.c_void_p()
        ctx = self.context._live("vka_graph_create")
        _check(fn.graph_create(ctx, ctypes.byref(h)), ctx, "vka_graph_create")
        self._handle = h

    _kind, _destroy = "graph", staticmethod(lambda h: fn.graph_destroy(h))

    def input(self, name, shape, dtype=np.float32):
        """A tensor the host writes before each run (Plan.write(name, array))."""
        desc = _tensor_desc(name, shape, dtype)
        t = _lib.vka_tensor()
        self._check(fn.graph_input(self._live("vka_graph_input"), ctypes.byref(desc), ctypes.byref(t)),
                    "vka_graph_input")
        self.inputs[name] = Tensor(self, t)
        return self.inputs[name]

    def constant(self, name, array, dtype=None):
        """A tensor whose values are copied now and uploaded once when a plan is made (the
        blocksparse layout and te_attention's MLP must be constants)."""
        a = np.asarray(array)
        if dtype is None:
            dtype = np.float32 if a.dtype == np.float64 else a.dtype
        a = host_array(a, as_dtype(dtype), name)
        desc = _tensor_desc(name, a.shape, a.dtype)
        t = _lib.vka_tensor()
        self._check(fn.graph_constant(self._live("vka_graph_constant"), ctypes.byref(desc), a.ctypes.data,
                                      a.nbytes, ctypes.byref(t)), "vka_graph_constant")
        self.constants[name] = Tensor(self, t)
        return self.constants[name]

    def op(self, scheme, inputs, out_dtype=None, params=None, **kwparams):
        """Adds operation `scheme` (vkattn.schemes() lists them) on `inputs` {role: Tensor}
        with parameters from `params` and keywords (bool -> "1"/"0", numbers exactly,
        lists comma-separated); `out_dtype` float32/float16 (default: the first input's).
        Returns the result Tensor."""
        allp = dict(params or {}, **kwparams)
        desc = _lib.vka_op_desc(op=scheme.encode())
        if len(inputs) > _lib.VKA_MAX_OP_INPUTS:
            raise Error(INVALID_ARGUMENT, f"{scheme}: {len(inputs)} inputs; at most {_lib.VKA_MAX_OP_INPUTS}",
                        "vka_graph_op")
        for i, (role, tensor) in enumerate(inputs.items()):
            if not isinstance(tensor, Tensor) or tensor.graph is not self:
                raise Error(INVALID_ARGUMENT, f"{scheme}: input {role!r} is not a Tensor of this graph", "vka_graph_op")
            desc.inputs[i].role = role.encode()
            desc.inputs[i].tensor = tensor._t
        texts = param_texts(allp)
        if len(texts) > 2 * _lib.VKA_MAX_OP_PARAMS:
            raise Error(INVALID_ARGUMENT, f"{scheme}: {len(texts)} parameters; at most {2 * _lib.VKA_MAX_OP_PARAMS}",
                        "vka_graph_op")
        for i, (key, value) in enumerate(texts):
            if i < _lib.VKA_MAX_OP_PARAMS:
                desc.params[i].key, desc.params[i].value = key.encode(), value.encode()
            else:  # the second table holds numbers: past 16 texts, numbers go there
                try:
                    number = float(value)
                except ValueError:
                    raise Error(INVALID_ARGUMENT, f"{scheme}: more than {_lib.VKA_MAX_OP_PARAMS} parameters, "
                                f"and {key}={value} is not a number", "vka_graph_op") from None
                desc.numbers[i - _lib.VKA_MAX_OP_PARAMS].key = key.encode()
                desc.numbers[i - _lib.VKA_MAX_OP_PARAMS].value = number
        if out_dtype is not None:
            desc.dtype = vka_dtype(out_dtype)
        t = _lib.vka_tensor()
        self._check(fn.graph_op(self._live("vka_graph_op"), ctypes.byref(desc), ctypes.byref(t)), "vka_graph_op")
        return Tensor(self, t)

    def output(self, name, tensor):
        """Names `tensor` an output the host reads after a run (Plan.read(name))."""
        self._check(fn.graph_output(self._live("vka_graph_output"), name.encode(), tensor._t), "vka_graph_output")
        self.outputs[name] = tensor
        tensor.output_name = name
        return tensor

    def find(self, name):
        """The input, constant or output named `name`; Error NOT_FOUND if none."""
        t = _lib.vka_tensor()
        r = fn.graph_find(self._live("vka_graph_find"), name.encode(), ctypes.byref(t))
        if r != _lib.VKA_SUCCESS:  # this call sets no message of its own
            raise Error(r, f"the graph has no input, constant or output named {name!r}", "vka_graph_find")
        return Tensor(self, t)

    @property
    def flops(self):
        """Floating-point operations of one evaluation (for GFLOP/s figures)."""
        return fn.graph_flops(self._live("vka_graph_flops"))

    def params(self, tensor):
        """What the operation whose result is `tensor` resolved its parameters to, defaults
        and derived values included: {key: value} (bool, int, float or str)."""
        h = self._live("vka_graph_op_param_at")
        out = {}
        for i in range(fn.graph_op_param_count(h, tensor._t)):
            p = _lib.vka_param_value()
            self._check(fn.graph_op_param_at(h, tensor._t, i, ctypes.byref(p)), "vka_graph_op_param_at")
            kind = _lib.PARAM_TYPES.get(p.type)
            out[text(p.key)] = (bool(p.number) if kind == "bool" else int(p.number) if kind == "int"
                                else p.number if kind == "float" else text(p.text))
        return out

    def plan(self, memory_only=False, no_timestamps=False, no_fusion=False):
        """Plans the graph (vka_plan_create): pipelines, memory, one command buffer."""
        desc = _lib.vka_plan_desc(memory_only=memory_only, no_timestamps=no_timestamps, no_fusion=no_fusion)
        h = ctypes.c_void_p()
        self._check(fn.plan_create(self._live("vka_plan_create"), ctypes.byref(desc), ctypes.byref(h)),
                    "vka_plan_create")
        return Plan(self, h)

    def reference(self, inputs, outputs=None):
        """Evaluates the graph with the engine's double-precision CPU reference
        (vka_graph_reference, the tests' oracle): `inputs` {name: array} for every input,
        returns {name: array} for `outputs` (default all), each in its output's dtype (a
        double result rounded once)."""
        names = list(self.outputs) if outputs is None else list(outputs)
        host_in = (_lib.vka_host_tensor * max(1, len(self.inputs)))()
        keep = []
        for i, (name, t) in enumerate(self.inputs.items()):
            if name not in inputs:
                raise Error(NOT_FOUND, f"reference: no data for input '{name}'", "vka_graph_reference")
            a = host_array(inputs[name], t.dtype, name)
            if a.shape != t.shape:
                raise Error(SHAPE_MISMATCH, f"reference: '{name}' has shape {a.shape}; the graph's is {t.shape}",
                            "vka_graph_reference")
            keep.append(a)
            host_in[i] = _lib.vka_host_tensor(name.encode(), a.ctypes.data, a.nbytes)
        result = {}
        host_out = (_lib.vka_host_tensor * max(1, len(names)))()
        for i, name in enumerate(names):
            if name not in self.outputs:
                raise Error(NOT_FOUND, f"reference: the graph has no output '{name}'", "vka_graph_reference")
            t = self.outputs[name]
            result[name] = np.empty(t.shape, t.dtype)
            host_out[i] = _lib.vka_host_tensor(name.encode(), result[name].ctypes.data, result[name].nbytes)
        self._check(fn.graph_reference(self._live("vka_graph_reference"), host_in, len(self.inputs), host_out,
                                       len(names)), "vka_graph_reference")
        return result


# ------------------------------------------------------------------ plan


class Plan(_Owned):
    """A planned graph (vka_plan): write inputs, run, read outputs, any number of times.
    It needs nothing of its Graph once made (the graph may be closed). Calls on one plan
    from several threads take turns (a lock here, and the library's own)."""

    def __init__(self, graph, handle):
        self.context = graph.context
        self._handle = handle
        # The shapes Python checks host arrays against (the library checks bytes only).
        self.inputs = {n: (t.shape, t.dtype) for n, t in graph.inputs.items()}
        self.outputs = {n: (t.shape, t.dtype) for n, t in graph.outputs.items()}
        self.lock = threading.RLock()

    _kind, _destroy = "plan", staticmethod(lambda h: fn.plan_destroy(h))

    def write(self, name, array):
        """Copies `array` into input `name` (float arrays convert to the input's float type;
        the shape must be the input's). A name the graph did not declare (a decoding
        state, "NAME.k") takes the array's bytes as they are."""
        if name in self.inputs:
            shape, dtype = self.inputs[name]
            a = host_array(array, dtype, name)
            if a.shape != shape:
                raise Error(SHAPE_MISMATCH, f"input '{name}': an array of shape {a.shape}; the input is {shape}",
                            "vka_plan_write")
        else:
            a = np.ascontiguousarray(array)
        with self.lock:
            self._check(fn.plan_write(self._live("vka_plan_write"), name.encode(), a.ctypes.data, a.nbytes),
                        "vka_plan_write")

    def read(self, name, shape=None, dtype=None):
        """Output `name` as a new array; a state ("NAME.k") needs shape and dtype."""
        if name in self.outputs and shape is None:
            shape, dtype = self.outputs[name]
        if shape is None:
            raise Error(NOT_FOUND, f"'{name}' is not an output of the plan (outputs: {', '.join(self.outputs)}); "
                        "a state needs shape= and dtype=", "vka_plan_read")
        out = np.empty(shape, as_dtype(dtype if dtype is not None else np.float32))
        with self.lock:
            self._check(fn.plan_read(self._live("vka_plan_read"), name.encode(), out.ctypes.data, out.nbytes),
                        "vka_plan_read")
        return out

    def run(self):
        """Submits the recorded work and waits for it."""
        with self.lock:
            self._check(fn.plan_run(self._live("vka_plan_run")), "vka_plan_run")

    def __call__(self, **inputs):
        """write(name, array) for each keyword, run(), and every output: {name: array}
        (one output: the array itself). One turn of the plan's lock for all of it."""
        with self.lock:
            for name, a in inputs.items():
                self.write(name, a)
            self.run()
            out = {n: self.read(n) for n in self.outputs}
        return next(iter(out.values())) if len(out) == 1 else out

    def reset_states(self):
        """Puts every persistent (decoding) state back to its start."""
        with self.lock:
            self._check(fn.plan_reset_states(self._live("vka_plan_reset_states")), "vka_plan_reset_states")

    def redraw(self, seed):
        """Draws every seeded random projection again from seed (+ i for the i-th)."""
        with self.lock:
            self._check(fn.plan_redraw(self._live("vka_plan_redraw"), int(seed)), "vka_plan_redraw")

    @property
    def stats(self):
        """vka_plan_stats as a dict (peak_device_bytes, dispatch_count, last_run_gpu_ms...)."""
        s = _lib.vka_plan_stats()
        self._check(fn.plan_stats_get(self._live("vka_plan_stats_get"), ctypes.byref(s)), "vka_plan_stats_get")
        return _struct_dict(s)

    @property
    def dispatches(self):
        """Each dispatch: kernel, variant, op, workgroups, workgroup_size, barrier_before,
        gpu_ms (of the last run; -1 without timestamps)."""
        h = self._live("vka_plan_dispatch_at")
        out = []
        for i in range(self.stats["dispatch_count"]):
            d = _lib.vka_dispatch_info()
            self._check(fn.plan_dispatch_at(h, i, ctypes.byref(d)), "vka_plan_dispatch_at")
            out.append(_struct_dict(d))
        return out

    @property
    def op_stats(self):
        """What operations report of their own work: [{op, key, value}] (sparse blocks)."""
        h = self._live("vka_plan_op_stat_at")
        out = []
        for i in range(self.stats["op_stat_count"]):
            s = _lib.vka_op_stat()
            self._check(fn.plan_op_stat_at(h, i, ctypes.byref(s)), "vka_plan_op_stat_at")
            out.append(_struct_dict(s))
        return out
