#version 450
// Clustered attention's centroids (SCHEMES.md §9), one workgroup of 8 lanes per cluster: the
// mean of the members' queries (the cluster's run of the sorted queries). Each lane sums
// every 8th member's row in registers; the lanes' sums meet in shared memory. An empty
// cluster's mean is 0 (no query reads it).

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D4 = 16;

VKA_TENSOR_IN(0, q)
layout(std430, set = 0, binding = 1) readonly buffer Order { int order[]; };
layout(std430, set = 0, binding = 2) readonly buffer Starts { int starts[]; };
VKA_TENSOR_OUT(3, centroids)

layout(push_constant) uniform cluster_means_push {
    VKA_PUSH_HEADER
    uint nq;
    uint clusters;
    uint blocks;
} pc;

const uint LANES = 8u;
#pragma vka_workgroup_size(8)
#pragma vka_loops(div_up(pc.nq, 8) + div_up(D4, 8) * 8 + 1)
#pragma vka_shared_bytes(16 * 8 * D4)

shared vec4 partial[LANES * D4];

void main()
{
    const uint c = gl_WorkGroupID.x, lane = gl_LocalInvocationID.x, slice = gl_WorkGroupID.z;
    const uint start_base = slice * pc.slice_stride[2] * 4u, order_base = slice * pc.slice_stride[1] * 4u;
    const uint first = uint(starts[start_base + c * pc.blocks]);
    const uint end = c + 1u < pc.clusters ? uint(starts[start_base + (c + 1u) * pc.blocks]) : pc.nq;
    vec4 sum[D4];
    [[unroll]] for (uint i = 0; i < D4; i++)
        sum[i] = vec4(0.0);
    for (uint m = first + lane; m < end; m += LANES) {
        const uint row = slice * pc.slice_stride[0] + uint(order[order_base + m]) * D4;
        [[unroll]] for (uint i = 0; i < D4; i++)
            sum[i] += q(row + i);
    }
    [[unroll]] for (uint i = 0; i < D4; i++)
        partial[lane * D4 + i] = sum[i];
    barrier();
    const float inv = end > first ? 1.0 / float(end - first) : 0.0;
    for (uint col = lane; col < D4; col += LANES) {
        vec4 total = vec4(0.0);
        for (uint other = 0; other < LANES; other++)
            total += partial[other * D4 + col];
        centroids_store(slice * pc.slice_stride[3] + c * D4 + col, total * inv);
    }
}
