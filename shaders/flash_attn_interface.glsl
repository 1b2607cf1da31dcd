// The flash kernels' interface, shared by both classes (flash_attn_cpu.glsl,
// flash_attn_gpu.glsl) and both forms (dense, and block-sparse when VKA_SPARSE: the
// layout binding, sparse_layout.glsl). Every variant's C side comes from here
// (tools/kernel_interface.py): engine/lowering/flash.c writes vka_flash_attn_push by name.
//
// Split-K (key_split > 0): split s walks only keys [s·key_split, (s + 1)·key_split) —
// on the GPU class s is workgroup y; on the CPU class, whose invocations are SIMD lanes,
// s is y·(workgroup size) + lane, every lane of a workgroup on the same query rows (a
// one-query decoding step otherwise leaves 7 of 8 lanes idle) — and `o` is then the
// partial tensor: per slice, per split, per query row, DV4 vec4 of the
// accumulator (not normalised) and one vec4 (m, l, 0, 0) of its statistics (m in log2
// units, the reference the accumulator and l are relative to). flash_merge.comp combines
// them; no workgroup waits for another (Vulkan promises no forward progress between them).

VKA_TENSOR_IN(0, q)
VKA_TENSOR_IN(1, k)
VKA_TENSOR_IN(2, v)
VKA_TENSOR_OUT(3, o)
layout(std140, set = 0, binding = 4) uniform KvLen { ivec4 kv_len[KV_VEC4]; };
// causal == VKA_CAUSAL_POSITIONS (decoding with a KV cache): query row i of batch b stands at
// position q_pos[b] + i of the sequence and sees keys j <= q_pos[b] + i; a row at or past
// kv_len[b] is not a query of this run and outputs 0. Otherwise unread (bound to kv_len).
#ifndef VKA_MASK
#define VKA_MASK 0
#endif
#if VKA_SPARSE && VKA_MASK
// The block-sparse kernel with a mask: binding 7 holds the mask, so the layout takes
// binding 5 (the sparse patterns never place queries by position: no QPos table).
#define VKA_LAYOUT_BINDING 5
#define VKA_HAS_Q_POS 0
#else
layout(std140, set = 0, binding = 5) uniform QPos { ivec4 q_pos[KV_VEC4]; };
#define VKA_LAYOUT_BINDING 7
#define VKA_HAS_Q_POS 1
#endif
// Attention sinks (SCHEMES.md §1, gpt-oss), when pc.sinks != 0: head h's extra logit
// sink[h] joins every row's normaliser and carries no value. Otherwise unread (bound to
// kv_len, with SINK_VEC4 = 1).
layout(std140, set = 0, binding = 6) uniform Sinks { vec4 sink[SINK_VEC4]; };

#if VKA_MASK
// An additive mask in natural units (SCHEMES.md §1: −inf allowed), rows of Nk padded to
// vec4: per slice [Nq, Nk], shared by a batch's heads when bound with divisor mask_group
// (a [B, 1, Nq, Nk] mask), by every slice when bound whole ([1, 1, Nq, Nk]).
VKA_TENSOR_IN(7, mask)
#endif

layout(push_constant) uniform flash_attn_push {
    VKA_PUSH_HEADER
    uint nq;
    uint nk;
    uint heads;
    uint kv_group; // query heads per k/v head (grouped heads; 1: one each)
    uint causal;    // VKA_CAUSAL_* (common.glsl)
    float scale;
    uint key_split; // split-K: keys per workgroup along y (0: all keys, one workgroup)
    float softcap;  // > 0: logits c·tanh(l / c), here in log2 units: c·log2(e) (0: none)
    uint sinks;     // 1: the Sinks table holds one logit per head
    uint mask_group; // VKA_MASK: query slices per mask slice (heads for a [B, 1, Nq, Nk] mask; 1 otherwise)
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

// A score in log2 units (q·k·scale·log2 e) through the soft cap, when there is one.
float flash_logit(float s)
{
    return pc.softcap > 0.0 ? pc.softcap * vka_tanh(s / pc.softcap) : s;
}

// The row's starting statistics: no key yet, or head h's sink (log2 units) as one
// logit with weight e^(s − m) = 1 and no value — in split-K only range 0's.
void flash_start(uint slice, uint split, out float m, out float l)
{
    const uint head = (pc.slice_base + slice) % pc.heads;
    const bool has_sink = pc.sinks != 0u && split == 0u;
    m = has_sink ? sink[head >> 2][head & 3u] * VKA_LOG2E : VKA_NEG_BIG;
    l = has_sink ? 1.0 : 0.0;
}

#if VKA_MASK
// The first vec4 of this slice's mask.
uint flash_mask_base(uint slice)
{
    return VKA_GROUP_SLICE(slice, pc.mask_group) * pc.slice_stride[7];
}

// Mask vec4 c of query row `row` (in log2 units, as the scores).
vec4 flash_mask4(uint base, uint row, uint c)
{
    return mask(base + row * ((pc.nk + 3u) / 4u) + c) * VKA_LOG2E;
}
#endif

// Keys j < the result are visible to query `row` of `batch`.
uint flash_visible(uint row, uint batch, int kvl)
{
#if VKA_HAS_Q_POS
    if (pc.causal != VKA_CAUSAL_POSITIONS)
        return vka_visible_keys(row, pc.nq, pc.nk, kvl, pc.causal);
    const int position = VKA_KV_LEN(q_pos, batch) + int(row);
    return position < kvl ? min(uint(position + 1), pc.nk) : 0u;
#else
    return vka_visible_keys(row, pc.nq, pc.nk, kvl, pc.causal);
#endif
}

// The most keys any of rows [row0, row0 + rows) sees: the last row's, but for positions,
// whose rows past kv_len see none — the last row that is a query then.
uint flash_key_end(uint row0, uint rows, uint batch, int kvl)
{
    uint last = row0 + rows - 1u;
#if VKA_HAS_Q_POS
    if (pc.causal == VKA_CAUSAL_POSITIONS) {
        const int final_query = kvl - 1 - VKA_KV_LEN(q_pos, batch); // the row at position kvl − 1
        if (final_query < int(row0))
            return 0u;
        last = min(last, uint(final_query));
    }
#endif
    return flash_visible(last, batch, kvl);
}

// This split's share of the keys [start, end): all of them without split-K.
uvec2 flash_split(uvec2 keys, uint split)
{
    if (pc.key_split == 0u)
        return keys;
    const uint lo = max(keys.x, split * pc.key_split);
    return uvec2(lo, max(min(keys.y, split * pc.key_split + pc.key_split), lo));
}

// Where row `row`'s result goes: its output row, or its split's partial row (DV4 + 1 vec4).
uint flash_out_row(uint row, uint split)
{
    return pc.key_split == 0u ? row * DV4 : (split * pc.nq + row) * (DV4 + 1u);
}

#if VKA_SPARSE
#include "sparse_layout.glsl"
#endif
