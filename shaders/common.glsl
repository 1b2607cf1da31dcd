// Pieces every kernel shares. See engine/kernels/registry.h for the conventions.
//
// Tensors live in the arena as rows of vec4: the last dimension is padded to a
// multiple of 4 and the padding holds zeros (writers keep it so), so every row can be
// read with vec4 loads and dot products may run over the padding.


// The recorder's header at the start of every push-constant block: the global index
// of this dispatch's first slice ([batch, head] pair), and per binding the distance
// in vec4 from one slice to the next (0 for a binding shared by all slices).
#define VKA_PUSH_HEADER \
    uint slice_base;    \
    uint slice_stride[8];

// Grouped heads (GQA/MQA): a tensor bound with slice divisor `group` (one slice per
// `group` dispatch slices) is read at slice (slice_base + z) / group, counted from the
// binding's first, slice_base / group. group 0 or 1: the dispatch's own slice. (A macro:
// the push block `pc` is declared after this file.)
#define VKA_GROUP_SLICE(slice, group) \
    ((pc.slice_base + (slice)) / max((group), 1u) - pc.slice_base / max((group), 1u))

// Running-max seed: −FLT_MAX/2 rather than −∞, so that exp(m_old − m_new) never sees
// ∞ − ∞ when a whole tile is masked (llama.cpp#12776).
const float VKA_NEG_BIG = -1.7014117e38;

const float VKA_LOG2E = 1.4426950408889634;

// kv_len[b] for a batch index, from a std140 table of ivec4.
#define VKA_KV_LEN(table, b) (table[(b) >> 2][(b) & 3u])

// Causal masks (a push field `causal`; engine/lowering/flash.h names them): none, the
// bottom-right alignment j <= i + (nk − nq) (SCHEMES.md §1's default), the top-left one
// j <= i (PyTorch's is_causal), and — the flash kernels only — per-batch positions.
const uint VKA_CAUSAL_NONE = 0u, VKA_CAUSAL_BOTTOM_RIGHT = 1u, VKA_CAUSAL_TOP_LEFT = 2u, VKA_CAUSAL_POSITIONS = 3u;

// Keys key < limit are visible to query `row`: the kv_len bound and the causal mask.
uint vka_visible_keys(uint row, uint nq, uint nk, int kv_len, uint causal)
{
    uint limit = min(uint(max(kv_len, 0)), nk);
    if (causal == VKA_CAUSAL_BOTTOM_RIGHT || causal == VKA_CAUSAL_TOP_LEFT) {
        // the last visible key, may be < 0
        int last = int(row) + (causal == VKA_CAUSAL_BOTTOM_RIGHT ? int(nk) - int(nq) : 0);
        limit = min(limit, uint(max(last + 1, 0)));
    }
    return limit;
}

// tanh accurate near 0 as well: a driver's tanh may compute (e^2x − 1)/(e^2x + 1), which
// loses every digit for a tiny x (llvmpipe's gave 6% errors through a soft cap of 1e6 on
// logits of ~1). A short series below 1/8 (error < 3e-8 relative), the stable form above.
float vka_tanh(float x)
{
    const float a = abs(x);
    if (a < 0.125) {
        const float x2 = x * x;
        return x * (1.0 - x2 * (1.0 / 3.0 - x2 * (2.0 / 15.0)));
    }
    const float e = exp(-2.0 * a);
    return sign(x) * (1.0 - e) / (1.0 + e);
}

// ---------------------------------------------------------------- element types
// A tensor is held as f32 or as f16, chosen per tensor (SCHEMES.md §Conventions); the
// planner tells each dispatch which of its bindings hold f16 through this constant (bit b:
// binding b), so f16 is a variant of every kernel, not a copy: a pipeline is specialized
// per mix and the branches below fold away. An f16 vec4 is a uvec2 of packed halves
// (unpackHalf2x16 is core GLSL 4.20, Vulkan 1.0), so f16 tensors need neither the
// 16-bit storage feature nor shaderFloat16, and a vec4's index is the same in both types:
// slice strides and offsets stay counted in vec4. Arithmetic and accumulation stay f32.
layout(constant_id = 100) const uint vka_f16_bindings = 0u;

#define VKA_F16(BINDING) ((vka_f16_bindings & (1u << (BINDING))) != 0u)

vec4 vka_unpack4(uvec2 h)
{
    return vec4(unpackHalf2x16(h.x), unpackHalf2x16(h.y));
}

uvec2 vka_pack4(vec4 v)
{
    return uvec2(packHalf2x16(v.xy), packHalf2x16(v.zw));
}

// A tensor binding of vec4 rows, declared as two views of one buffer (tools/
// kernel_interface.py marks a binding with a NAME_f16 view as able to hold f16). The
// kernel reads vec4 i as NAME(i) and writes it with NAME_store(i, value); whole vec4 only,
// so that no two invocations share a 32-bit word of an f16 tensor.
#define VKA_TENSOR_VIEWS(BINDING, QUALIFIER, NAME)                                       \
    layout(std430, set = 0, binding = BINDING) QUALIFIER buffer NAME##_f32 { vec4 NAME##_v[]; }; \
    layout(std430, set = 0, binding = BINDING) QUALIFIER buffer NAME##_f16 { uvec2 NAME##_h[]; };
#define VKA_TENSOR_LOAD(BINDING, NAME) \
    vec4 NAME(uint i) { return VKA_F16(BINDING) ? vka_unpack4(NAME##_h[i]) : NAME##_v[i]; }
#define VKA_TENSOR_STORE(BINDING, NAME)              \
    void NAME##_store(uint i, vec4 value)            \
    {                                                \
        if (VKA_F16(BINDING))                        \
            NAME##_h[i] = vka_pack4(value);          \
        else                                         \
            NAME##_v[i] = value;                     \
    }

#define VKA_TENSOR_IN(BINDING, NAME) VKA_TENSOR_VIEWS(BINDING, readonly, NAME) VKA_TENSOR_LOAD(BINDING, NAME)
#define VKA_TENSOR_OUT(BINDING, NAME) VKA_TENSOR_VIEWS(BINDING, writeonly, NAME) VKA_TENSOR_STORE(BINDING, NAME)
#define VKA_TENSOR_INOUT(BINDING, NAME) \
    VKA_TENSOR_VIEWS(BINDING, , NAME) VKA_TENSOR_LOAD(BINDING, NAME) VKA_TENSOR_STORE(BINDING, NAME)
