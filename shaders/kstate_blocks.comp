#version 450
// Kernel attention, phase 1: the state of each block of keys, on its own scale.
// Block 0 holds keys [0, PHASE), block b ≥ 1 keys [PHASE + (b − 1)·T, PHASE + b·T)
// (PHASE in [1, T] lines the blocks up with the query blocks of the causal form).
// For block b: L_b = max s_j, S'_b = Σ_j e^(s_j − L_b) φ(k_j) [v_j, 1]ᵀ over the keys
// j of the block that exist (j < kv_len[batch]). Invocations tile S'_b by FT rows ×
// CT vec4 columns and stream the block's keys; each key's features and value are
// loaded once per tile. Loops: 2·T iterations (llvmpipe's loop budget).

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "kernel_state.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint FT4 = 4;      // feature rows per tile / 4
layout(constant_id = 2) const uint CT = 4;       // vec4 columns per tile
layout(constant_id = 3) const uint KV_VEC4 = 1;
layout(constant_id = 4) const uint T = 64;       // keys per block
layout(constant_id = 5) const uint F4 = 16;      // feature vec4 per feature row (then s)
layout(constant_id = 6) const uint DV4 = 16;     // vec4 per v row
layout(constant_id = 7) const uint DV14 = 17;    // vec4 per state row

VKA_TENSOR_IN(0, phi)
VKA_TENSOR_IN(1, v)
VKA_TENSOR_OUT(2, blocks)
layout(std140, set = 0, binding = 3) uniform KvLen { ivec4 kv_len[KV_VEC4]; };

layout(push_constant) uniform kstate_blocks_push {
    VKA_PUSH_HEADER
    uint nq;
    uint nk;
    uint heads;
    uint f;
    uint dv;
    uint nblocks;
    uint phase;
    uint kv_group; // query heads per v head (grouped heads): v bound with that slice divisor
} pc;

// Loop budget (tools/kernel_interface.py): two passes over a block's T keys.
#pragma vka_loops(2 * T + 2)

const uint FP4 = F4 + 1;
const uint FT = 4 * FT4;

void main()
{
    const uint slice = gl_WorkGroupID.z;
    const uint f_tiles = (pc.f + FT - 1) / FT, c_tiles = (DV14 + CT - 1) / CT;
    const uint index = gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (index >= pc.nblocks * f_tiles * c_tiles)
        return;
    const uint block = index / (f_tiles * c_tiles);
    const uint f_tile = (index / c_tiles) % f_tiles, c_tile = index % c_tiles;
    const uint f0 = f_tile * FT, c0 = c_tile * CT;
    const uint kvl = min(uint(max(VKA_KV_LEN(kv_len, (pc.slice_base + slice) / pc.heads), 0)), pc.nk);
    const uint j0 = block == 0 ? 0 : pc.phase + (block - 1) * T;
    const uint j1 = min(block == 0 ? pc.phase : pc.phase + block * T, kvl);
    const uint phi_base = slice * pc.slice_stride[0] + pc.nq * FP4; // key rows follow the queries
    const uint v_base = VKA_GROUP_SLICE(slice, pc.kv_group) * pc.slice_stride[1];
    const uint state_rows = pc.f + 1;
    const uint out_base = slice * pc.slice_stride[2] + block * state_rows * DV14;

    float top = VKA_NEG_BIG;
    for (uint j = j0; j < j1; j++)
        top = max(top, phi(phi_base + j * FP4 + F4).x);

    vec4 acc[FT][CT];
    [[unroll]] for (uint r = 0; r < FT; r++)
        [[unroll]] for (uint c = 0; c < CT; c++)
            acc[r][c] = vec4(0.0);
    for (uint j = j0; j < j1; j++) {
        const float weight = exp(phi(phi_base + j * FP4 + F4).x - top);
        vec4 value[CT];
        [[unroll]] for (uint c = 0; c < CT; c++) {
            const uint col = min(c0 + c, DV14 - 1);
            value[c] = vka_value_with_one(col < DV4 ? v(v_base + j * DV4 + col) : vec4(0.0), col, pc.dv) * weight;
        }
        [[unroll]] for (uint r4 = 0; r4 < FT4; r4++) {
            const vec4 features = phi(phi_base + j * FP4 + min(f0 / 4 + r4, F4 - 1));
            [[unroll]] for (uint e = 0; e < 4; e++)
                [[unroll]] for (uint c = 0; c < CT; c++)
                    acc[r4 * 4 + e][c] += features[e] * value[c];
        }
    }

    [[unroll]] for (uint r = 0; r < FT; r++) {
        if (f0 + r >= pc.f)
            break;
        [[unroll]] for (uint c = 0; c < CT; c++)
            if (c0 + c < DV14)
                blocks_store(out_base + (f0 + r) * DV14 + c0 + c, acc[r][c]);
    }
    if (f_tile == 0)
        [[unroll]] for (uint c = 0; c < CT; c++)
            if (c0 + c < DV14)
                blocks_store(out_base + pc.f * DV14 + c0 + c, c0 + c == 0 ? vec4(top, 0.0, 0.0, 0.0) : vec4(0.0));
}
