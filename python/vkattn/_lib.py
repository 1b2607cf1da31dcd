"""The C side: finding libvkattn, its structs mirrored field by field, its prototypes.

Everything here follows include/vkattn.h and include/vkattn/ops.h exactly: the field
names are the C names (tests/test_vkattn.py compiles a C program that prints every
sizeof and offsetof and compares them with these classes), enums are C ints, `bool` is
ctypes.c_bool (one byte, as C11's _Bool on every ABI the library is built for).
"""

import ctypes
import ctypes.util
import glob
import os
import sys

from ctypes import (POINTER, Structure, c_bool, c_char, c_char_p, c_double, c_float, c_int, c_int32, c_size_t,
                    c_uint8, c_uint32, c_uint64, c_void_p)

# ------------------------------------------------------------------ constants (vkattn.h)

VKA_MAX_RANK = 4
VKA_MAX_OP_INPUTS = 12
VKA_MAX_OP_PARAMS = 16

# vka_result
RESULT_NAMES = ("VKA_SUCCESS", "VKA_ERROR_INVALID_ARGUMENT", "VKA_ERROR_SHAPE_MISMATCH", "VKA_ERROR_NOT_FOUND",
                "VKA_ERROR_UNSUPPORTED", "VKA_ERROR_LIMIT_EXCEEDED", "VKA_ERROR_NO_DEVICE",
                "VKA_ERROR_OUT_OF_HOST_MEMORY", "VKA_ERROR_OUT_OF_DEVICE_MEMORY", "VKA_ERROR_DEVICE_LOST",
                "VKA_ERROR_VULKAN", "VKA_ERROR_IO", "VKA_ERROR_FILE_FORMAT")
VKA_SUCCESS = 0

# vka_dtype
VKA_DTYPE_DEFAULT, VKA_DTYPE_F32, VKA_DTYPE_F16, VKA_DTYPE_I32 = 0, 1, 2, 3

# vka_kernel_class, vka_sync_mode, vka_device_type, vka_param_type, vka_input_kind, vka_log_level
KERNEL_CLASSES = {"auto": 0, "gpu": 1, "cpu": 2}
SYNC_MODES = {"auto": 0, "planned": 1, "full": 2}
DEVICE_TYPES = {0: "other", 1: "integrated_gpu", 2: "discrete_gpu", 3: "virtual_gpu", 4: "cpu"}
PARAM_TYPES = {1: "bool", 2: "int", 3: "float", 4: "enum", 5: "name", 6: "list"}
INPUT_KINDS = {1: "tokens", 2: "learned", 3: "positions", 4: "indices", 5: "mask"}
LOG_LEVELS = {0: "info", 1: "warning", 2: "error"}
SUBGROUP_BITS = ("basic", "vote", "arithmetic", "ballot", "shuffle", "shuffle_relative", "clustered", "quad")

c_enum = c_int  # C enums with small non-negative values: int-sized on the ABIs the library supports

# ------------------------------------------------------------------ structs (vkattn.h)

vka_log_fn = ctypes.CFUNCTYPE(None, c_void_p, c_enum, c_char_p)


class vka_context_desc(Structure):
    _fields_ = [("device", c_char_p), ("limits", c_char_p), ("validation", c_bool), ("kernel_class", c_enum),
                ("sync", c_enum), ("force_staging", c_bool), ("disable_f16", c_bool), ("disable_subgroups", c_bool),
                ("pipeline_cache_dir", c_char_p), ("ignore_environment", c_bool), ("log", vka_log_fn),
                ("log_user", c_void_p)]


class vka_pipeline_cache_info(Structure):
    _fields_ = [("path", c_char * 1024), ("status", c_char * 1200), ("loaded_bytes", c_uint64)]


class vka_device_limits(Structure):
    _fields_ = [("max_shared_memory_bytes", c_uint32), ("max_workgroup_invocations", c_uint32),
                ("max_workgroup_size", c_uint32 * 3), ("max_workgroup_count", c_uint32 * 3),
                ("max_storage_buffers_per_stage", c_uint32), ("max_uniform_buffers_per_stage", c_uint32),
                ("max_storage_buffer_range", c_uint32), ("max_uniform_buffer_range", c_uint32),
                ("min_storage_buffer_offset_alignment", c_uint32), ("min_uniform_buffer_offset_alignment", c_uint32),
                ("max_push_constants_bytes", c_uint32), ("max_allocation_bytes", c_uint64),
                ("max_buffer_bytes", c_uint64), ("device_local_heap_bytes", c_uint64)]


class vka_device_info(Structure):
    _fields_ = [("name", c_char * 256), ("driver", c_char * 256), ("vendor_id", c_uint32), ("device_id", c_uint32),
                ("type", c_enum), ("api_version", c_uint32), ("driver_version", c_uint32),
                ("pipeline_cache_uuid", c_uint8 * 16), ("subgroup_size", c_uint32),
                ("subgroup_operations", c_uint32), ("storage_buffer_16bit", c_bool), ("shader_float16", c_bool),
                ("timestamps", c_bool), ("timestamp_period_ns", c_float), ("host_visible_device_memory", c_bool),
                ("kernel_class", c_enum), ("loop_iteration_budget", c_uint32), ("quirks", c_char * 160),
                ("limits_profile", c_char * 32), ("device_limits", vka_device_limits),
                ("limits", vka_device_limits), ("summary", c_char * 512)]


class vka_device_candidate(Structure):
    _fields_ = [("index", c_uint32), ("name", c_char * 256), ("type", c_enum), ("chosen", c_bool),
                ("reason", c_char * 256)]


class vka_tensor(Structure):
    _fields_ = [("id", c_uint32)]


class vka_tensor_desc(Structure):
    _fields_ = [("name", c_char_p), ("dtype", c_enum), ("rank", c_uint32), ("dims", c_uint32 * VKA_MAX_RANK)]


class vka_op_input(Structure):
    _fields_ = [("role", c_char_p), ("tensor", vka_tensor)]


class vka_op_param(Structure):
    _fields_ = [("key", c_char_p), ("value", c_char_p)]


class vka_op_number(Structure):
    _fields_ = [("key", c_char_p), ("value", c_double)]


class vka_op_desc(Structure):
    _fields_ = [("op", c_char_p), ("inputs", vka_op_input * VKA_MAX_OP_INPUTS),
                ("params", vka_op_param * VKA_MAX_OP_PARAMS), ("numbers", vka_op_number * VKA_MAX_OP_PARAMS),
                ("dtype", c_enum)]


class vka_host_tensor(Structure):
    _fields_ = [("name", c_char_p), ("data", c_void_p), ("bytes", c_size_t)]


class vka_plan_desc(Structure):
    _fields_ = [("memory_only", c_bool), ("no_timestamps", c_bool), ("no_fusion", c_bool)]


class vka_plan_stats(Structure):
    _fields_ = [("peak_device_bytes", c_uint64), ("arena_bytes", c_uint64), ("tensor_bytes", c_uint64),
                ("state_bytes", c_uint64), ("tensor_count", c_uint32), ("dispatch_count", c_uint32),
                ("fused_ops", c_uint32), ("op_stat_count", c_uint32), ("barrier_count", c_uint32),
                ("pipeline_count", c_uint32), ("pipelines_created", c_uint32), ("plan_ms", c_double),
                ("pipeline_create_ms", c_double), ("last_run_gpu_ms", c_double), ("last_run_wall_ms", c_double),
                ("run_count", c_uint32), ("f16_tensors", c_uint32), ("f16_widened", c_uint32),
                ("host_transfers", c_uint32), ("host_transfer_bytes", c_uint64)]


class vka_dispatch_info(Structure):
    _fields_ = [("kernel", c_char_p), ("variant", c_char_p), ("op", c_char_p), ("workgroups", c_uint32 * 3),
                ("workgroup_size", c_uint32), ("f16_bindings", c_uint32), ("barrier_before", c_bool),
                ("gpu_ms", c_double)]


class vka_op_stat(Structure):
    _fields_ = [("op", c_char_p), ("key", c_char_p), ("value", c_uint64)]


# ------------------------------------------------------------------ structs (vkattn/ops.h)

class vka_param_info(Structure):
    _fields_ = [("key", c_char_p), ("type", c_enum), ("summary", c_char_p), ("fallback", c_char_p),
                ("derived", c_char_p), ("min", c_double), ("max", c_double), ("choices", POINTER(c_char_p))]


class vka_value_range(Structure):
    _fields_ = [("bounded", c_bool), ("open_min", c_bool), ("open_max", c_bool), ("min", c_float), ("max", c_float)]


class vka_input_info(Structure):
    _fields_ = [("role", c_char_p), ("kind", c_enum), ("dtypes", c_uint32), ("shape", c_char_p),
                ("summary", c_char_p), ("optional", c_bool), ("in_logits", c_bool), ("constant", c_bool),
                ("same_as", c_char_p), ("values", vka_value_range)]


class vka_op_info(Structure):
    _fields_ = [("name", c_char_p), ("summary", c_char_p), ("inputs", POINTER(vka_input_info)),
                ("input_count", c_uint32), ("required_input_count", c_uint32), ("output_shape", c_char_p),
                ("rows_independent", c_bool), ("params", POINTER(vka_param_info)), ("param_count", c_uint32)]


class vka_problem(Structure):
    _fields_ = [("batch", c_uint32), ("heads", c_uint32), ("queries", c_uint32), ("keys", c_uint32),
                ("head_dim", c_uint32), ("value_dim", c_uint32), ("kv_heads", c_uint32)]


class vka_example_input(Structure):
    _fields_ = [("role", c_char_p), ("kind", c_enum), ("in_logits", c_bool), ("constant", c_bool),
                ("values", vka_value_range), ("desc", vka_tensor_desc), ("query_axis", c_int32)]


class vka_op_example(Structure):
    _fields_ = [("inputs", vka_example_input * VKA_MAX_OP_INPUTS), ("input_count", c_uint32),
                ("params", vka_op_number * VKA_MAX_OP_PARAMS), ("output", vka_tensor_desc),
                ("output_query_axis", c_int32)]


class vka_param_value(Structure):
    _fields_ = [("key", c_char_p), ("type", c_enum), ("given", c_bool), ("number", c_double), ("text", c_char_p)]


# Every mirrored struct, for the layout checks (tests compare them with the C compiler's view).
STRUCTS = (vka_context_desc, vka_pipeline_cache_info, vka_device_limits, vka_device_info, vka_device_candidate,
           vka_tensor, vka_tensor_desc, vka_op_input, vka_op_param, vka_op_number, vka_op_desc, vka_host_tensor,
           vka_plan_desc, vka_plan_stats, vka_dispatch_info, vka_op_stat, vka_param_info, vka_value_range,
           vka_input_info, vka_op_info, vka_problem, vka_example_input, vka_op_example, vka_param_value)

# sizeof each struct on LP64 (x86-64, AArch64 Linux and macOS), as gcc reports it for the
# headers this module mirrors; checked by layout_problems() where pointers are 8 bytes.
LP64_SIZES = {
    "vka_context_desc": 64, "vka_pipeline_cache_info": 2232, "vka_device_limits": 88, "vka_device_info": 1456,
    "vka_device_candidate": 524, "vka_tensor": 4, "vka_tensor_desc": 32, "vka_op_input": 16, "vka_op_param": 16,
    "vka_op_number": 16, "vka_op_desc": 720, "vka_host_tensor": 24, "vka_plan_desc": 3, "vka_plan_stats": 120,
    "vka_dispatch_info": 56, "vka_op_stat": 24, "vka_param_info": 64, "vka_value_range": 12,
    "vka_input_info": 64, "vka_op_info": 64, "vka_problem": 28, "vka_example_input": 72, "vka_op_example": 1168,
    "vka_param_value": 32,
}

# ------------------------------------------------------------------ finding the library

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
if sys.platform == "darwin":
    _NAMES = ("libvkattn.dylib", "libvkattn.0.dylib")
elif sys.platform == "win32":
    _NAMES = ("vkattn.dll",)
else:
    _NAMES = ("libvkattn.so.0", "libvkattn.so")


class LibraryNotFound(ImportError):
    """libvkattn could not be loaded; the message lists every place that was tried."""


def _candidates():
    """(how it was found, what to pass to ctypes.CDLL) in the documented order."""
    env = os.environ.get("VKATTN_LIBRARY")
    if env:
        # An explicit path is the caller's choice: nothing else is tried behind its back.
        yield "$VKATTN_LIBRARY", env
        return
    for name in _NAMES:
        yield "the package folder", os.path.join(_PACKAGE_DIR, name)
    for path in sorted(glob.glob(os.path.join(_PACKAGE_DIR, "libvkattn.so.*"))):
        yield "the package folder", path
    found = ctypes.util.find_library("vkattn")
    yield "ctypes.util.find_library('vkattn')", found
    for name in _NAMES:
        yield "the system's library path", name


def load_library():
    tried = []
    for how, path in _candidates():
        if path is None:
            tried.append(f"{how} (found nothing)")
            continue
        if os.path.sep in path and not os.path.exists(path):
            tried.append(f"{path} ({how}: no such file)")
            continue
        try:
            # An absolute path where there was one: library_path stays right after a chdir.
            return ctypes.CDLL(path), os.path.abspath(path) if os.path.sep in path else path
        except OSError as e:
            tried.append(f"{path} ({how}: {e})")
    hint = ("set VKATTN_LIBRARY to the built library (e.g. build/libvkattn.so), copy it into the package folder, "
            "or install it where the dynamic loader finds it")
    raise LibraryNotFound("cannot load libvkattn; tried: " + "; ".join(tried) + ". " + hint)


lib, library_path = load_library()

# ------------------------------------------------------------------ prototypes

_ctx, _graph, _plan = c_void_p, c_void_p, c_void_p


def _proto(name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


_PROTOTYPES = [
    ("vka_result_string", c_char_p, c_enum),
    ("vka_context_create", c_enum, POINTER(vka_context_desc), POINTER(_ctx)),
    ("vka_context_destroy", None, _ctx),
    ("vka_last_error", c_char_p, _ctx),
    ("vka_context_resolved_desc", c_enum, _ctx, POINTER(vka_context_desc)),
    ("vka_context_pipeline_cache_info", c_enum, _ctx, POINTER(vka_pipeline_cache_info)),
    ("vka_context_save_pipeline_cache", c_enum, _ctx),
    ("vka_context_device_info", c_enum, _ctx, POINTER(vka_device_info)),
    ("vka_context_candidate_count", c_uint32, _ctx),
    ("vka_context_candidate_at", c_enum, _ctx, c_uint32, POINTER(vka_device_candidate)),
    ("vka_context_validation_message_count", c_uint32, _ctx),
    ("vka_context_first_validation_message", c_char_p, _ctx),
    ("vka_f16_from_f32", None, c_void_p, c_void_p, c_size_t),
    ("vka_f32_from_f16", None, c_void_p, c_void_p, c_size_t),
    ("vka_graph_create", c_enum, _ctx, POINTER(_graph)),
    ("vka_graph_destroy", None, _graph),
    ("vka_graph_input", c_enum, _graph, POINTER(vka_tensor_desc), POINTER(vka_tensor)),
    ("vka_graph_constant", c_enum, _graph, POINTER(vka_tensor_desc), c_void_p, c_size_t, POINTER(vka_tensor)),
    ("vka_graph_op", c_enum, _graph, POINTER(vka_op_desc), POINTER(vka_tensor)),
    ("vka_graph_output", c_enum, _graph, c_char_p, vka_tensor),
    ("vka_graph_tensor_desc", c_enum, _graph, vka_tensor, POINTER(vka_tensor_desc)),
    ("vka_graph_flops", c_double, _graph),
    ("vka_graph_find", c_enum, _graph, c_char_p, POINTER(vka_tensor)),
    ("vka_graph_context", _ctx, _graph),
    ("vka_graph_reference", c_enum, _graph, POINTER(vka_host_tensor), c_uint32, POINTER(vka_host_tensor),
     c_uint32),
    ("vka_plan_create", c_enum, _graph, POINTER(vka_plan_desc), POINTER(_plan)),
    ("vka_plan_destroy", None, _plan),
    ("vka_plan_write", c_enum, _plan, c_char_p, c_void_p, c_size_t),
    ("vka_plan_read", c_enum, _plan, c_char_p, c_void_p, c_size_t),
    ("vka_plan_run", c_enum, _plan),
    ("vka_plan_reset_states", c_enum, _plan),
    ("vka_plan_stats_get", c_enum, _plan, POINTER(vka_plan_stats)),
    ("vka_plan_dispatch_at", c_enum, _plan, c_uint32, POINTER(vka_dispatch_info)),
    ("vka_plan_op_stat_at", c_enum, _plan, c_uint32, POINTER(vka_op_stat)),
    ("vka_plan_op_stat_total", c_uint64, _plan, c_char_p),
    ("vka_op_count", c_uint32),
    ("vka_op_info_at", c_enum, c_uint32, POINTER(vka_op_info)),
    ("vka_op_info_named", c_enum, c_char_p, POINTER(vka_op_info)),
    ("vka_op_example_for", c_enum, c_char_p, POINTER(vka_problem), POINTER(vka_op_example)),
    ("vka_graph_op_param_count", c_uint32, _graph, vka_tensor),
    ("vka_graph_op_param_at", c_enum, _graph, vka_tensor, c_uint32, POINTER(vka_param_value)),
    ("vka_random_projection", c_enum, c_uint64, c_uint32, c_uint32, c_bool, c_void_p),
    ("vka_plan_redraw", c_enum, _plan, c_uint64),
]


class _Functions:
    pass


fn = _Functions()
_missing = []
for _name, _restype, *_argtypes in _PROTOTYPES:
    try:
        setattr(fn, _name[4:], _proto(_name, _restype, *_argtypes))  # fn.plan_run is vka_plan_run
    except AttributeError:
        _missing.append(_name)
if _missing:
    raise LibraryNotFound(f"{library_path} lacks {', '.join(_missing)}: an older libvkattn than this module")


def text(value):
    """A C string (bytes or None) as str; NULL becomes ""."""
    return value.decode("utf-8", "replace") if value else ""


# ------------------------------------------------------------------ layout self-check

def _guarded_call(struct_type, call):
    """Calls call(pointer) on a buffer with 64 guard bytes after sizeof(struct_type); returns
    (result, struct, whether the library wrote past the mirrored size)."""
    size = ctypes.sizeof(struct_type)
    guard = 64
    buf = (c_uint8 * (size + guard))(*([0xA5] * (size + guard)))
    result = call(ctypes.cast(buf, POINTER(struct_type)))
    overrun = any(b != 0xA5 for b in bytes(buf)[size:])
    return result, struct_type.from_buffer_copy(bytes(buf)[:size]), overrun


def layout_problems(context_handle=None):
    """What is wrong with the mirrored structs, as far as the running library shows it: a
    list of messages, empty when all is well. Checks the LP64 sizes (where pointers are 8
    bytes), that the library writes no byte past an output struct, and that what it wrote
    reads sensibly (names are strings, counts are small)."""
    problems = []
    if ctypes.sizeof(c_void_p) == 8:
        for s in STRUCTS:
            want = LP64_SIZES[s.__name__]
            if ctypes.sizeof(s) != want:
                problems.append(f"sizeof({s.__name__}) is {ctypes.sizeof(s)} here, {want} in C (LP64)")
    r, info, overrun = _guarded_call(vka_op_info, lambda p: fn.op_info_named(b"softmax", p))
    if overrun:
        problems.append("vka_op_info_named wrote past sizeof(vka_op_info)")
    elif r != VKA_SUCCESS or info.name != b"softmax" or not 3 <= info.input_count <= VKA_MAX_OP_INPUTS \
            or not 0 < info.param_count < 64 or info.inputs[0].role != b"q" or not info.params[0].key:
        problems.append("vka_op_info for softmax reads wrongly through the mirrored struct")
    problem = vka_problem(batch=1, heads=2, queries=8, keys=8, head_dim=4)
    r, ex, overrun = _guarded_call(vka_op_example, lambda p: fn.op_example_for(b"softmax", ctypes.byref(problem), p))
    if overrun:
        problems.append("vka_op_example_for wrote past sizeof(vka_op_example)")
    elif r != VKA_SUCCESS or ex.input_count != 3 or ex.inputs[0].desc.name != b"q" \
            or list(ex.inputs[0].desc.dims) != [1, 2, 8, 4] or list(ex.output.dims) != [1, 2, 8, 4]:
        problems.append("vka_op_example for softmax reads wrongly through the mirrored struct")
    if context_handle:
        r, dev, overrun = _guarded_call(vka_device_info, lambda p: fn.context_device_info(context_handle, p))
        if overrun:
            problems.append("vka_context_device_info wrote past sizeof(vka_device_info)")
        elif r != VKA_SUCCESS or not dev.name or dev.type not in DEVICE_TYPES or not dev.summary:
            problems.append("vka_device_info reads wrongly through the mirrored struct")
    return problems
