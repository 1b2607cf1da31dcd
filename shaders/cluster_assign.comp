#version 450
// A Lloyd iteration's assignment (SCHEMES.md §9), one invocation per query: the cluster
// whose code is nearest by Hamming distance; a query stays in its cluster on a tie, and
// otherwise takes the lowest of the nearest.

#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) buffer Codes { ivec4 codes[]; };
layout(std430, set = 0, binding = 1) readonly buffer Centres { ivec4 centres[]; };

layout(push_constant) uniform cluster_assign_push {
    VKA_PUSH_HEADER
    uint nq;
    uint clusters;
} pc;

#pragma vka_loops(pc.clusters + 1)

uint distance(uvec2 a, ivec4 centre)
{
    const uvec2 x = a ^ uvec2(centre.xy);
    return uint(bitCount(x.x) + bitCount(x.y));
}

void main()
{
    const uint i = gl_GlobalInvocationID.x;
    if (i >= pc.nq)
        return;
    const uint slice = gl_WorkGroupID.z, at = slice * pc.slice_stride[0] + i;
    const uint centre_base = slice * pc.slice_stride[1];
    const ivec4 me = codes[at];
    uint best = uint(me.z), best_distance = distance(uvec2(me.xy), centres[centre_base + best]);
    for (uint c = 0; c < pc.clusters; c++) {
        const uint d = distance(uvec2(me.xy), centres[centre_base + c]);
        if (d < best_distance) {
            best = c;
            best_distance = d;
        }
    }
    codes[at].z = int(best);
}
