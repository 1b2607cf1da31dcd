#version 450
// Reformer's chunked attention (SCHEMES.md §9). Each invocation takes ROWS consecutive
// sorted places of a round (gl_WorkGroupID.y: the round): the token at a place attends to
// the tokens of its chunk and of the chunk before (the first chunk has none before it)
// that exist (position < kv_len[b]) and, when causal, are not after it; not to itself
// unless it sees nothing else. Each row's output / sum, then vec4(lse), is written at the
// token's own position, so the rounds come back unsorted.
//
// Keys are the unit queries: lsh_keys.comp's rows hold q and vec4(|q|, 1/|q|, 0, 0), so
// a logit is (q_i·q_j)/|q_j|·scale. Written like flash_attn_cpu.glsl (what llvmpipe
// rewards: registers, vec4 loads, no branches per key): the invocations of a workgroup
// walk one range of sorted places together — the union of their windows, from the
// workgroup's id alone — in blocks of KB places, every row masking the places outside its
// own window; one load of a key or value row feeds ROWS rows (ROWS 4 on CPU-class
// devices, 1 on GPUs, where lanes share loads through the caches). The running max is
// lazy (moves by more than LAZY_MARGIN log2 units only): one exp2 per row and key.

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D4 = 16;     // vec4 per query (a key row: D4 + 1)
layout(constant_id = 2) const uint DV4 = 16;    // vec4 per value row
layout(constant_id = 3) const uint KV_VEC4 = 1; // ivec4 entries of the kv_len table
layout(constant_id = 4) const uint ROWS = 4;    // sorted places per invocation
const uint KB = 4u;                             // places per block

VKA_TENSOR_IN(0, keys)
VKA_TENSOR_IN(1, v)
layout(std430, set = 0, binding = 2) readonly buffer Order { int order[]; }; // [rounds, N] per slice
VKA_TENSOR_OUT(3, rounds_out) // [rounds · N] rows of DV4 + 1 vec4 per slice
layout(std140, set = 0, binding = 4) uniform KvLen { ivec4 kv_len[KV_VEC4]; };

layout(push_constant) uniform lsh_attn_push {
    VKA_PUSH_HEADER
    uint n;
    uint chunk;
    uint heads;
    uint causal;
    float scale;
    uint kv_group; // query heads per v head (grouped heads: v bound with that slice divisor)
} pc;

// The walk in blocks: at most two chunks before the workgroup's places, and its places.
#pragma vka_loops(div_up(2 * pc.chunk + 128 * ROWS, 4) + 2)

const float LAZY_MARGIN = 8.0;

void main()
{
    const uint round = gl_WorkGroupID.y, slice = gl_WorkGroupID.z, global = pc.slice_base + slice;
    const uint place0 = gl_GlobalInvocationID.x * ROWS;
    // The workgroup's walk: from the chunk before its first place's to the end of its last's.
    const uint group_first = gl_WorkGroupID.x * gl_WorkGroupSize.x * ROWS;
    const uint group_last = min(group_first + gl_WorkGroupSize.x * ROWS, pc.n) - 1u;
    const uint walk_first = group_first / pc.chunk > 0u ? (group_first / pc.chunk - 1u) * pc.chunk : 0u;
    const uint walk_end = min((group_last / pc.chunk + 1u) * pc.chunk, pc.n);
    if (place0 >= pc.n)
        return;
    const uint limit = min(uint(max(VKA_KV_LEN(kv_len, global / pc.heads), 0)), pc.n);
    const uint order_base = slice * pc.slice_stride[2] * 4u + round * pc.n;
    const uint key_base = slice * pc.slice_stride[0];
    const uint v_base = VKA_GROUP_SLICE(slice, pc.kv_group) * pc.slice_stride[1];
    const float qscale = pc.scale * VKA_LOG2E; // logits in log2 units

    vec4 qr[ROWS][D4], acc[ROWS][DV4];
    uint token[ROWS], first[ROWS], end[ROWS];
    float m[ROWS], l[ROWS];
    [[unroll]] for (uint r = 0; r < ROWS; r++) {
        const uint place = min(place0 + r, pc.n - 1u), chunk = place / pc.chunk;
        token[r] = uint(order[order_base + place]);
        first[r] = chunk > 0u ? (chunk - 1u) * pc.chunk : 0u;
        end[r] = place0 + r < pc.n && token[r] < limit ? min((chunk + 1u) * pc.chunk, pc.n) : 0u;
        [[unroll]] for (uint c = 0; c < D4; c++)
            qr[r][c] = keys(key_base + token[r] * (D4 + 1u) + c) * qscale;
        [[unroll]] for (uint c = 0; c < DV4; c++)
            acc[r][c] = vec4(0.0);
        m[r] = VKA_NEG_BIG;
        l[r] = 0.0;
    }

    for (uint s0 = walk_first; s0 < walk_end; s0 += KB) {
        uint j[KB];
        float s[KB][ROWS];
        [[unroll]] for (uint b = 0; b < KB; b++) {
            j[b] = uint(order[order_base + min(s0 + b, walk_end - 1u)]);
            const uint kb = key_base + j[b] * (D4 + 1u);
            const float inv_norm = keys(kb + D4).y;
            [[unroll]] for (uint r = 0; r < ROWS; r++)
                s[b][r] = 0.0;
            [[unroll]] for (uint c = 0; c < D4; c++) {
                const vec4 kc = keys(kb + c);
                [[unroll]] for (uint r = 0; r < ROWS; r++)
                    s[b][r] += dot(qr[r][c], kc);
            }
            [[unroll]] for (uint r = 0; r < ROWS; r++)
                s[b][r] *= inv_norm;
        }
        float alpha[ROWS];
        [[unroll]] for (uint r = 0; r < ROWS; r++) {
            bool seen[KB];
            float block_max = VKA_NEG_BIG;
            [[unroll]] for (uint b = 0; b < KB; b++) {
                const uint place = s0 + b;
                seen[b] = place >= first[r] && place < end[r] && j[b] < limit && j[b] != token[r] &&
                          (pc.causal == 0u || j[b] <= token[r]);
                block_max = seen[b] ? max(block_max, s[b][r]) : block_max;
            }
            alpha[r] = 1.0;
            if (block_max > m[r] + LAZY_MARGIN) {
                alpha[r] = exp2(m[r] - block_max);
                m[r] = block_max;
            }
            float sum = 0.0;
            [[unroll]] for (uint b = 0; b < KB; b++) {
                s[b][r] = seen[b] ? exp2(s[b][r] - m[r]) : 0.0;
                sum += s[b][r];
            }
            l[r] = l[r] * alpha[r] + sum;
        }
        [[unroll]] for (uint c = 0; c < DV4; c++) {
            vec4 vc[KB];
            [[unroll]] for (uint b = 0; b < KB; b++)
                vc[b] = v(v_base + j[b] * DV4 + c);
            [[unroll]] for (uint r = 0; r < ROWS; r++) {
                vec4 a = acc[r][c] * alpha[r];
                [[unroll]] for (uint b = 0; b < KB; b++)
                    a += s[b][r] * vc[b];
                acc[r][c] = a;
            }
        }
    }

    [[unroll]] for (uint r = 0; r < ROWS; r++) {
        if (place0 + r >= pc.n)
            continue;
        if (end[r] > 0u && l[r] == 0.0) { // it sees only itself: its own value and logit |q_i|
            m[r] = keys(key_base + token[r] * (D4 + 1u) + D4).x * qscale;
            l[r] = 1.0;
            [[unroll]] for (uint c = 0; c < DV4; c++)
                acc[r][c] = v(v_base + token[r] * DV4 + c);
        }
        const uint out_row = slice * pc.slice_stride[3] + (round * pc.n + token[r]) * (DV4 + 1u);
        const float inv = l[r] > 0.0 ? 1.0 / l[r] : 0.0;
        [[unroll]] for (uint c = 0; c < DV4; c++)
            rounds_out_store(out_row + c, acc[r][c] * inv);
        // The natural log-sum-exp: (m + log2 l) · ln 2.
        const float lse = l[r] > 0.0 ? (m[r] + log2(l[r])) / VKA_LOG2E : VKA_NEG_BIG;
        rounds_out_store(out_row + DV4, vec4(lse, 0.0, 0.0, 0.0));
    }
}
