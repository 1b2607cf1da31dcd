#version 450
// A Lloyd iteration's update (SCHEMES.md §9), one workgroup per cluster: the code of a
// cluster becomes its members' per-bit majority (a bit set by more than half of them); an
// empty cluster keeps its code. The members are the cluster's run of the queries sorted by
// cluster (bucket_sort: `order`, and `starts`, where each (cluster, block) run begins).

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer Codes { ivec4 codes[]; };
layout(std430, set = 0, binding = 1) readonly buffer Order { int order[]; };
layout(std430, set = 0, binding = 2) readonly buffer Starts { int starts[]; };
layout(std430, set = 0, binding = 3) buffer Centres { ivec4 centres[]; };

layout(push_constant) uniform cluster_update_push {
    VKA_PUSH_HEADER
    uint nq;
    uint clusters;
    uint blocks; // the sort's blocks: cluster c's run starts at starts[c · blocks]
    uint bits;
} pc;

#pragma vka_workgroup_size(64)
#pragma vka_loops(div_up(pc.nq, 64) + 4)
#pragma vka_shared_bytes(4 * 64 + 8)

shared uint bit_count[64];
shared uint words[2];

void main()
{
    const uint c = gl_WorkGroupID.x, lane = gl_LocalInvocationID.x, slice = gl_WorkGroupID.z;
    const uint start_base = slice * pc.slice_stride[2] * 4u, order_base = slice * pc.slice_stride[1] * 4u;
    const uint first = uint(starts[start_base + c * pc.blocks]);
    const uint end = c + 1u < pc.clusters ? uint(starts[start_base + (c + 1u) * pc.blocks]) : pc.nq;
    bit_count[lane] = 0u;
    if (lane < 2u)
        words[lane] = 0u;
    barrier();
    for (uint m = first + lane; m < end; m += 64u) {
        const uvec2 code = uvec2(codes[slice * pc.slice_stride[0] + uint(order[order_base + m])].xy);
        [[unroll]] for (uint b = 0; b < 64u; b++) // unrolled: no loop iterations spent per member
            if (((code[b / 32u] >> (b % 32u)) & 1u) != 0u)
                atomicAdd(bit_count[b], 1u);
    }
    barrier();
    const uint members = end - first;
    if (lane < pc.bits && 2u * bit_count[lane] > members)
        atomicOr(words[lane / 32u], 1u << (lane % 32u));
    barrier();
    if (lane == 0u && members > 0u)
        centres[slice * pc.slice_stride[3] + c] = ivec4(int(words[0]), int(words[1]), int(members), 0);
}
