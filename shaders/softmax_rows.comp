#version 450
// Row softmax of a materialised score matrix, in place, with the attention masks:
// keys past kv_len[b] and, when causal, past i + (nk − nq) (or i: top-left) get
// probability 0; a row with no visible key becomes all zeros. Padding columns are written
// as zeros. The soft cap c·tanh(s / c) and a head's sink logit (joining the normaliser
// with no value, SCHEMES.md §1) when the push block asks.
// One invocation per row, three passes over the row (max, sum, write), each reading
// STEP vec4 per loop iteration to stay well inside llvmpipe's loop budget
// (flash_attn_cpu.comp explains it): 3·ceil(nk / 16) iterations per row.

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint KV_VEC4 = 1;
layout(constant_id = 2) const uint SINK_VEC4 = 1;

VKA_TENSOR_INOUT(0, s)
layout(std140, set = 0, binding = 1) uniform KvLen { ivec4 kv_len[KV_VEC4]; };
layout(std140, set = 0, binding = 2) uniform Sinks { vec4 sink[SINK_VEC4]; }; // kv_len stands in when unused
// An additive mask [Nq, Nk] per slice (shared by mask_group slices), read when pc.mask != 0.
VKA_TENSOR_IN(3, mask)

layout(push_constant) uniform softmax_rows_push {
    VKA_PUSH_HEADER
    uint nq;
    uint nk;
    uint heads;
    uint causal;
    float softcap; // > 0: logits c·tanh(s / c)
    uint sinks;    // 1: one sink logit per head
    uint mask;     // 1: add the mask binding's values
    uint mask_group;
} pc;

float capped(float s)
{
    return pc.softcap > 0.0 ? pc.softcap * vka_tanh(s / pc.softcap) : s;
}

// Score of key j: capped, then masked (`base`: the row's first mask vec4).
float logit(float s, uint base, uint j)
{
    return capped(s) + (pc.mask != 0u ? mask(base + j / 4u)[j & 3u] : 0.0);
}

// Loop budget (tools/kernel_interface.py): three passes over the row, 16 scores per iteration.
#pragma vka_loops(3 * (div_up(pc.nk, 16) + 1))

void main()
{
    const uint row = gl_GlobalInvocationID.x;
    if (row >= pc.nq)
        return;
    const uint slice = gl_WorkGroupID.z;
    const uint batch = (pc.slice_base + slice) / pc.heads;
    const uint visible = vka_visible_keys(row, pc.nq, pc.nk, VKA_KV_LEN(kv_len, batch), pc.causal);
    const uint nk4 = (pc.nk + 3) / 4;
    const uint base = slice * pc.slice_stride[0] + row * nk4;
    const uint mask_base = VKA_GROUP_SLICE(slice, pc.mask_group) * pc.slice_stride[3] + row * nk4;
    const uint visible4 = (visible + 3) / 4;

    const uint STEP = 4;
    const uint head = (pc.slice_base + slice) % pc.heads;
    const float sink_logit = pc.sinks != 0u ? sink[head >> 2][head & 3u] : VKA_NEG_BIG;
    float m = sink_logit;
    for (uint c0 = 0; c0 < visible4; c0 += STEP) {
        [[unroll]] for (uint u = 0; u < STEP; u++) {
            const uint c = min(c0 + u, visible4 - 1);
            const vec4 x = s(base + c);
            [[unroll]] for (uint e = 0; e < 4; e++)
                if (c * 4 + e < visible)
                    m = max(m, logit(x[e], mask_base, c * 4 + e));
        }
    }
    float sum = pc.sinks != 0u ? exp(sink_logit - m) : 0.0;
    for (uint c0 = 0; c0 < visible4; c0 += STEP) {
        [[unroll]] for (uint u = 0; u < STEP; u++) {
            const uint c = c0 + u;
            const vec4 x = s(base + min(c, visible4 - 1));
            [[unroll]] for (uint e = 0; e < 4; e++)
                if (c < visible4 && c * 4 + e < visible)
                    sum += exp(logit(x[e], mask_base, c * 4 + e) - m);
        }
    }
    const float inv_sum = sum > 0.0 ? 1.0 / sum : 0.0;
    for (uint c0 = 0; c0 < nk4; c0 += STEP) {
        [[unroll]] for (uint u = 0; u < STEP; u++) {
            const uint c = c0 + u;
            if (c >= nk4)
                break;
            vec4 p = vec4(0.0);
            if (c < visible4) {
                const vec4 x = s(base + c);
                [[unroll]] for (uint e = 0; e < 4; e++)
                    p[e] = c * 4 + e < visible ? exp(logit(x[e], mask_base, c * 4 + e) - m) * inv_sum : 0.0;
            }
            s_store(base + c, p);
        }
    }
}
