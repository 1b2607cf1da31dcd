#version 450
// Reformer's keys (SCHEMES.md §9), one invocation per token: the keys are the unit queries,
// kept as the query itself with vec4(|q|, 1/|q|, 0, 0) after it (1/|q| = 0 for a zero
// query, whose key is 0): the hash's matrix product reads the exact queries from these
// rows, and lsh_attn scales a logit by the key's 1/|q|.

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D4 = 16;

VKA_TENSOR_IN(0, q)
VKA_TENSOR_OUT(1, keys) // rows of D4 + 1 vec4

layout(push_constant) uniform lsh_keys_push {
    VKA_PUSH_HEADER
    uint n;
} pc;

#pragma vka_loops(1)

void main()
{
    const uint token = gl_GlobalInvocationID.x;
    if (token >= pc.n)
        return;
    const uint slice = gl_WorkGroupID.z, row = slice * pc.slice_stride[0] + token * D4;
    const uint key_row = slice * pc.slice_stride[1] + token * (D4 + 1u);
    float norm2 = 0.0;
    [[unroll]] for (uint c = 0; c < D4; c++) {
        const vec4 x = q(row + c);
        norm2 += dot(x, x);
        keys_store(key_row + c, x);
    }
    const float norm = sqrt(norm2);
    keys_store(key_row + D4, vec4(norm, norm > 0.0 ? 1.0 / norm : 0.0, 0.0, 0.0));
}
