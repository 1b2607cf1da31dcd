// The flash kernels' interface, shared by both classes (flash_attn_cpu.glsl,
// flash_attn_gpu.glsl) and both forms (dense, and block-sparse when VKA_SPARSE: the
// layout binding, sparse_layout.glsl). Every variant's C side comes from here
// (tools/kernel_interface.py): engine/lowering/flash.c writes vka_flash_attn_push by name.

VKA_TENSOR_IN(0, q)
VKA_TENSOR_IN(1, k)
VKA_TENSOR_IN(2, v)
VKA_TENSOR_OUT(3, o)
layout(std140, set = 0, binding = 4) uniform KvLen { ivec4 kv_len[KV_VEC4]; };

layout(push_constant) uniform flash_attn_push {
    VKA_PUSH_HEADER
    uint nq;
    uint nk;
    uint heads;
    uint kv_group; // query heads per k/v head (grouped heads; 1: one each)
    uint causal;
    float scale;
    // The block-sparse pattern (sparse_layout.glsl); the dense kernels ignore these.
    uint pattern;
    uint pattern_params[3];
    uint layout_rows;
    uint sections;
    uint layout_blocks;
    uint max_ranges;
} pc;

// Grouped heads (GQA/MQA, SCHEMES.md §Conventions): k and v are bound with slice divisor
// kv_group, so query slice g = slice_base + z reads k/v slice g / kv_group, counted from
// the binding's first, slice_base / kv_group.
uint vka_kv_slice(uint slice)
{
    return VKA_GROUP_SLICE(slice, pc.kv_group);
}

#if VKA_SPARSE
#include "sparse_layout.glsl"
#endif
