#version 450
// Kernel attention, non-causal outputs: the rows of Φ(q)·S' (from the matrix product)
// divided by their last column, the normaliser, with eps on the stabilised scale:
// O_i = N_i[:Dv] / (N_i[Dv] + eps·e^(−s_q − M)). A query row with no key outputs 0.

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint DV4 = 16;
layout(constant_id = 2) const uint DV14 = 17;
layout(constant_id = 3) const uint FP4 = 17;   // vec4 per feature row (s in the last)
layout(constant_id = 4) const uint KV_VEC4 = 1;

VKA_TENSOR_IN(0, scratch) // states, then numerators
VKA_TENSOR_IN(1, phi)
VKA_TENSOR_OUT(2, o)
layout(std140, set = 0, binding = 3) uniform KvLen { ivec4 kv_len[KV_VEC4]; };

layout(push_constant) uniform kattn_normalize_push {
    VKA_PUSH_HEADER
    uint nq;
    uint heads;
    uint dv;
    float eps;
    uint stats_at;       // vec4 from the start of a scratch slice to the total's statistics
    uint numerators_at;  // and to the numerators
} pc;

// The planner's checks (tools/kernel_interface.py): loop iterations per invocation.
#pragma vka_loops(1)

void main()
{
    const uint row = gl_GlobalInvocationID.x;
    if (row >= pc.nq)
        return;
    const uint slice = gl_WorkGroupID.z;
    const bool any_keys = VKA_KV_LEN(kv_len, (pc.slice_base + slice) / pc.heads) > 0;
    const uint n_base = slice * pc.slice_stride[0] + pc.numerators_at + row * DV14;
    const float s_q = phi(slice * pc.slice_stride[1] + row * FP4 + FP4 - 1).x;
    const float m = scratch(slice * pc.slice_stride[0] + pc.stats_at).y;
    const float den = scratch(n_base + pc.dv / 4)[pc.dv % 4] + pc.eps * exp(min(-s_q - m, 80.0));
    const float inv = any_keys && den != 0.0 ? 1.0 / den : 0.0;
    [[unroll]] for (uint c = 0; c < DV4; c++) {
        vec4 value = scratch(n_base + c) * inv;
        [[unroll]] for (uint e = 0; e < 4; e++)
            if (c * 4 + e >= pc.dv)
                value[e] = 0.0;
        o_store(slice * pc.slice_stride[2] + row * DV4 + c, value);
    }
}
