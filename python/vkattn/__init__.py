"""vkattn: efficient-attention schemes as Vulkan compute shaders, from Python.

A ctypes binding over libvkattn (no compiler needed at install). The library is found
through $VKATTN_LIBRARY (a path), else in this package's folder, else where the system's
dynamic loader finds it (ctypes.util.find_library("vkattn"), libvkattn.so.0).

    import numpy as np, vkattn
    q = k = v = np.random.default_rng(0).standard_normal((1, 8, 128, 64), dtype=np.float32)
    o = vkattn.attention(q, k, v, causal=True)              # softmax; plan cached
    o = vkattn.attention(q, k, v, scheme="local", window=16)
    r = vkattn.reference(q, k, v, causal=True)              # the engine's double reference

Graph/Plan give reusable plans with several operations; Context picks the device;
schemes() lists every operation with its inputs and parameters. Failures raise
vkattn.Error (a RuntimeError) carrying the library's message and result name.
"""

from ._lib import LibraryNotFound, layout_problems as _layout_problems, library_path
from ._core import Context, Error, Graph, Plan, Tensor
from ._catalog import (Example, ExampleInput, InputInfo, ParamInfo, SchemeInfo, ValueRange, example,
                       random_projection, scheme_info, schemes)
from ._attention import attention, default_context, plan_cache_info, reference

__version__ = "0.1.0"

__all__ = ["Context", "Error", "Graph", "Plan", "Tensor", "attention", "reference", "schemes", "scheme_info",
           "example", "random_projection", "default_context", "plan_cache_info", "self_check", "library_path",
           "LibraryNotFound", "SchemeInfo", "InputInfo", "ParamInfo", "ValueRange", "Example", "ExampleInput"]


def self_check(context=None):
    """The mirrored C structs against the loaded library: a list of problems, empty when
    the sizes are the C compiler's (LP64) and the library writes no byte past any struct
    it fills (device info too when a context is given)."""
    return _layout_problems(context._live("self_check") if context is not None else None)


# A struct that disagrees with the library would corrupt memory on the first call that
# fills it: refuse to import instead (a check without a device; it costs microseconds).
_problems = _layout_problems()
if _problems:
    raise ImportError(f"vkattn: {library_path} does not match this module's structs: " + "; ".join(_problems))
del _problems
