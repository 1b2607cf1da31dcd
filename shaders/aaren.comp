#version 450
// Aaren — attention as an RNN (SCHEMES.md §10): every prefix's softmax attention of one
// learned query per head, o_t = Σ_{j≤t} e^{s_j} v_j / Σ_{j≤t} e^{s_j}, s_j = query_h·k_j·scale,
// by a two-pass blocked scan of (max, sum, weighted sum) triples.
//
// The tokens of a [batch, head] slice are cut into blocks of T. PASS 0: an invocation per
// block folds its tokens into the block's triple (blocks). PASS 1: an invocation per block
// folds the triples of the blocks before it (its exclusive prefix), then walks its own
// tokens, writing o_t after each. With T ≈ √N both passes are O(N) work per slice and the
// loops stay short. Keys j ≥ kv_len[b] do not exist: later outputs repeat the last one; a
// prefix with no key outputs 0. The learned query is a uniform block (android-2021 leaves
// four storage buffers: k, v, blocks, o).
// PASS 2 (decoding, SCHEMES.md §10): `blocks` is the persistent state of each slice — the
// triple of every token before this run — and one invocation per slice folds the run's
// tokens (the first kv_len[b] of them) into it one by one, writing each output: O(Dv) per
// token whatever came before.

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D4 = 16;         // vec4 per query / key row
layout(constant_id = 2) const uint DV4 = 16;        // vec4 per value / output row
layout(constant_id = 3) const uint T = 64;          // tokens per block
layout(constant_id = 4) const uint KV_VEC4 = 1;     // ivec4 entries of the kv_len table
layout(constant_id = 5) const uint QUERY_VEC4 = 16; // heads · D4
layout(constant_id = 6) const uint PASS = 0;        // 0: block triples, 1: outputs, 2: decoding

// [1, H, 1, D], whole; as f32 vec4, or as f16 (two packed vec4 per std140 uvec4).
layout(std140, set = 0, binding = 0) uniform Query_f32 { vec4 query_v[QUERY_VEC4]; };
layout(std140, set = 0, binding = 0) uniform Query_f16 { uvec4 query_h[(QUERY_VEC4 + 1) / 2]; };

vec4 query(uint i)
{
    if (!VKA_F16(0))
        return query_v[i];
    const uvec4 pair = query_h[i / 2];
    return vka_unpack4((i & 1u) == 0u ? pair.xy : pair.zw);
}
VKA_TENSOR_IN(1, k)
VKA_TENSOR_IN(2, v)
VKA_TENSOR_INOUT(3, blocks) // per block (PASS 2: the slice's state): DV4 accumulators, (max, sum)
VKA_TENSOR_OUT(4, o)
layout(std140, set = 0, binding = 5) uniform KvLen { ivec4 kv_len[KV_VEC4]; };

layout(push_constant) uniform aaren_push {
    VKA_PUSH_HEADER
    uint n;       // tokens
    uint heads;
    float scale;
    uint nblocks; // ceil(n / T)
} pc;

// Loop budget (tools/kernel_interface.py): a block's tokens, and in PASS 1 the blocks before;
// decoding, the run's tokens.
#pragma vka_loops(PASS > 1 ? pc.n + 1 : (PASS > 0 ? pc.nblocks + T + 1 : T + 1))

vec4 acc[DV4];
float run_max, run_sum;

// Folds a triple (max m, sum s, accumulators at `at` in blocks, or one value row) in.
void fold(float m, float s, uint row, bool from_blocks)
{
    const float top = max(run_max, m);
    const float a = exp(run_max - top), b = exp(m - top);
    [[unroll]] for (uint c = 0; c < DV4; c++)
        acc[c] = acc[c] * a + (from_blocks ? blocks(row + c) : v(row + c)) * b;
    run_sum = run_sum * a + s * b;
    run_max = top;
}

void main()
{
    const uint block = gl_GlobalInvocationID.x;
    if (block >= pc.nblocks)
        return;
    const uint slice = gl_WorkGroupID.z, global = pc.slice_base + slice, head = global % pc.heads;
    const uint limit = min(uint(max(VKA_KV_LEN(kv_len, global / pc.heads), 0)), pc.n);
    const uint k_base = slice * pc.slice_stride[1], v_base = slice * pc.slice_stride[2];
    const uint b_base = slice * pc.slice_stride[3], o_base = slice * pc.slice_stride[4];
    [[unroll]] for (uint c = 0; c < DV4; c++)
        acc[c] = vec4(0.0);
    run_max = VKA_NEG_BIG;
    run_sum = 0.0;
    if (PASS == 2) { // the state so far, every token of this run, the state again
        [[unroll]] for (uint c = 0; c < DV4; c++)
            acc[c] = blocks(b_base + c);
        const vec4 stats = blocks(b_base + DV4);
        run_max = stats.x;
        run_sum = stats.y;
        for (uint t = 0; t < pc.n; t++) {
            if (t < limit) { // the run's tokens past kv_len[b] do not exist: rows repeat the last
                float s = 0.0;
                [[unroll]] for (uint c = 0; c < D4; c++)
                    s += dot(query(head * D4 + c), k(k_base + t * D4 + c));
                fold(s * pc.scale, 1.0, v_base + t * DV4, false);
            }
            const float inv = run_sum > 0.0 ? 1.0 / run_sum : 0.0;
            [[unroll]] for (uint c = 0; c < DV4; c++)
                o_store(o_base + t * DV4 + c, acc[c] * inv);
        }
        [[unroll]] for (uint c = 0; c < DV4; c++)
            blocks_store(b_base + c, acc[c]);
        blocks_store(b_base + DV4, vec4(run_max, run_sum, 0.0, 0.0));
        return;
    }
    if (PASS == 1)
        for (uint p = 0; p < block; p++) {
            const vec4 stats = blocks(b_base + p * (DV4 + 1) + DV4);
            fold(stats.x, stats.y, b_base + p * (DV4 + 1), true);
        }
    const uint first = block * T, end = min(first + T, pc.n);
    for (uint t = first; t < end; t++) {
        if (t < limit) {
            float s = 0.0;
            [[unroll]] for (uint c = 0; c < D4; c++)
                s += dot(query(head * D4 + c), k(k_base + t * D4 + c));
            fold(s * pc.scale, 1.0, v_base + t * DV4, false);
        }
        if (PASS == 1) {
            const float inv = run_sum > 0.0 ? 1.0 / run_sum : 0.0;
            [[unroll]] for (uint c = 0; c < DV4; c++)
                o_store(o_base + t * DV4 + c, acc[c] * inv);
        }
    }
    if (PASS == 0) {
        const uint at = b_base + block * (DV4 + 1);
        [[unroll]] for (uint c = 0; c < DV4; c++)
            blocks_store(at + c, acc[c]);
        blocks_store(at + DV4, vec4(run_max, run_sum, 0.0, 0.0));
    }
}
