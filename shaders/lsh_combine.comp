#version 450
// Reformer's rounds combined (SCHEMES.md §9), one invocation per token: each round's
// output weighted by exp(lse_r − logsumexp over the rounds). A token no round gave a key
// (padding) outputs 0.

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint DV4 = 16;

VKA_TENSOR_IN(0, rounds_in) // [rounds · N] rows of DV4 + 1 vec4 per slice (lsh_attn.comp)
VKA_TENSOR_OUT(1, o)

layout(push_constant) uniform lsh_combine_push {
    VKA_PUSH_HEADER
    uint n;
    uint rounds;
} pc;

#pragma vka_loops(2 * pc.rounds + 1)

vec4 sum[DV4];

void main()
{
    const uint token = gl_GlobalInvocationID.x;
    if (token >= pc.n)
        return;
    const uint slice = gl_WorkGroupID.z, base = slice * pc.slice_stride[0];
    float top = VKA_NEG_BIG;
    for (uint r = 0; r < pc.rounds; r++)
        top = max(top, rounds_in(base + (r * pc.n + token) * (DV4 + 1u) + DV4).x);
    [[unroll]] for (uint c = 0; c < DV4; c++)
        sum[c] = vec4(0.0);
    float total = 0.0;
    if (top > 0.5 * VKA_NEG_BIG)
        for (uint r = 0; r < pc.rounds; r++) {
            const uint row = base + (r * pc.n + token) * (DV4 + 1u);
            const float w = exp(rounds_in(row + DV4).x - top);
            [[unroll]] for (uint c = 0; c < DV4; c++)
                sum[c] += rounds_in(row + c) * w;
            total += w;
        }
    const float inv = total > 0.0 ? 1.0 / total : 0.0;
    [[unroll]] for (uint c = 0; c < DV4; c++)
        o_store(slice * pc.slice_stride[1] + token * DV4 + c, sum[c] * inv);
}
