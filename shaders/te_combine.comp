#version 450
// Split-K merge for te_attn.comp: per query, the state rows' (m, l, Σ p·v) per head
// combine as one online softmax would have, o = Σ_r e^(m_r − M) acc_r / Σ_r e^(m_r − M) l_r.
// One query per invocation; the loop over rows is the only loop.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint H = 8;
layout(constant_id = 2) const uint DV = 16;

const uint V4 = (H * DV + 3) / 4;
const uint P4 = (2 * H + H * DV + 3) / 4;

VKA_TENSOR_IN(0, part)
VKA_TENSOR_OUT(1, o)

layout(push_constant) uniform te_combine_push {
    VKA_PUSH_HEADER
    uint nq;
    uint chunks;
} pc;

// The planner's checks (tools/kernel_interface.py): loop iterations per invocation.
#pragma vka_loops(pc.chunks + 1)

void main()
{
    const uint i = gl_GlobalInvocationID.x, slice = gl_WorkGroupID.z;
    if (i >= pc.nq)
        return;
    float m[H], l[H], acc[V4 * 4];
    [[unroll]] for (uint h = 0; h < H; h++) {
        m[h] = VKA_NEG_BIG;
        l[h] = 0.0;
    }
    [[unroll]] for (uint e = 0; e < V4 * 4; e++)
        acc[e] = 0.0;
    for (uint c = 0; c < pc.chunks; c++) {
        vec4 row[P4];
        const uint base = slice * pc.slice_stride[0] + (c * pc.nq + i) * P4;
        [[unroll]] for (uint t = 0; t < P4; t++)
            row[t] = part(base + t);
        [[unroll]] for (uint h = 0; h < H; h++) {
            const float mc = row[h / 4][h % 4], lc = row[(H + h) / 4][(H + h) % 4];
            const float m_new = max(m[h], mc);
            const float a = exp(m[h] - m_new), b = exp(mc - m_new);
            m[h] = m_new;
            l[h] = l[h] * a + lc * b;
            [[unroll]] for (uint d = 0; d < DV; d++) {
                const uint e = h * DV + d, f = 2 * H + e;
                acc[e] = acc[e] * a + row[f / 4][f % 4] * b;
            }
        }
    }
    const uint o_row = slice * pc.slice_stride[1] + i * V4;
    [[unroll]] for (uint c = 0; c < V4; c++) {
        vec4 r = vec4(0.0);
        [[unroll]] for (uint lane = 0; lane < 4; lane++) {
            const uint e = 4 * c + lane;
            if (e < H * DV)
                r[lane] = acc[e] / l[e / DV];
        }
        o_store(o_row + c, r);
    }
}
