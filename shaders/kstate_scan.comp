#version 450
// Kernel attention, phase 2: combine block states in order. Each invocation owns a tile
// of the state and walks the blocks, carrying a running state R on the running
// stabiliser M (the largest s so far, as an online softmax carries its max):
//   M' = max(M, L_b),  R ← R·e^(M − M') + S'_b·e^(L_b − M')
// CAUSAL: block b is overwritten with the state of all keys before it (its exclusive
// prefix; its M goes to column 1 of the statistics row, its L stays in column 0, which
// other tiles still read). Always: the total goes to the extra slot after the last
// block. INITIAL: the running state starts from a persistent state (decoding) instead
// of zero. Loops: one iteration per block.

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "kernel_state.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint FT4 = 4;
layout(constant_id = 2) const uint CT = 4;
layout(constant_id = 3) const uint DV14 = 17;
layout(constant_id = 4) const bool CAUSAL = false;
layout(constant_id = 5) const bool INITIAL = false;

layout(std430, set = 0, binding = 0) buffer Blocks { vec4 blocks[]; };
layout(std430, set = 0, binding = 1) readonly buffer State { vec4 state[]; };

layout(push_constant) uniform kstate_scan_push {
    VKA_PUSH_HEADER
    uint f;
    uint nblocks;
} pc;

// Loop budget (tools/kernel_interface.py): one iteration per block and the statistics row.
#pragma vka_loops(pc.nblocks + DV14 + 2)

const uint FT = 4 * FT4;

void main()
{
    const uint slice = gl_WorkGroupID.z;
    const uint f_tiles = (pc.f + FT - 1) / FT, c_tiles = (DV14 + CT - 1) / CT;
    const uint index = gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (index >= f_tiles * c_tiles)
        return;
    const uint f0 = (index / c_tiles) * FT, c0 = (index % c_tiles) * CT;
    const bool stats_owner = index == 0;
    const uint state_rows = pc.f + 1;
    const uint base = slice * pc.slice_stride[0];
    const uint state_base = slice * pc.slice_stride[1];

    vec4 run[FT][CT];
    float m = VKA_NEG_BIG;
    [[unroll]] for (uint r = 0; r < FT; r++)
        [[unroll]] for (uint c = 0; c < CT; c++) {
            const uint row = min(f0 + r, pc.f - 1), col = min(c0 + c, DV14 - 1);
            run[r][c] = INITIAL ? state[state_base + row * DV14 + col] : vec4(0.0);
        }
    if (INITIAL)
        m = state[state_base + pc.f * DV14].y;

    for (uint b = 0; b < pc.nblocks; b++) {
        const uint block_base = base + b * state_rows * DV14;
        const float l = blocks[block_base + pc.f * DV14].x;
        const float m_new = max(m, l);
        const float alpha = exp(m - m_new), beta = exp(l - m_new);
        [[unroll]] for (uint r = 0; r < FT; r++)
            [[unroll]] for (uint c = 0; c < CT; c++) {
                const bool inside = f0 + r < pc.f && c0 + c < DV14;
                const uint at = block_base + min(f0 + r, pc.f - 1) * DV14 + min(c0 + c, DV14 - 1);
                const vec4 own = blocks[at];
                if (CAUSAL && inside)
                    blocks[at] = run[r][c];
                run[r][c] = run[r][c] * alpha + own * beta;
            }
        if (CAUSAL && stats_owner)
            blocks[block_base + pc.f * DV14].y = m;
        m = m_new;
    }

    const uint total_base = base + pc.nblocks * state_rows * DV14;
    [[unroll]] for (uint r = 0; r < FT; r++)
        [[unroll]] for (uint c = 0; c < CT; c++)
            if (f0 + r < pc.f && c0 + c < DV14)
                blocks[total_base + (f0 + r) * DV14 + c0 + c] = run[r][c];
    if (stats_owner)
        for (uint c = 0; c < DV14; c++)
            blocks[total_base + pc.f * DV14 + c] = c == 0 ? vec4(0.0, m, 0.0, 0.0) : vec4(0.0);
}
