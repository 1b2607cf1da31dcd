#version 450
// Clustered attention's rows per query (SCHEMES.md §9), one invocation per query: a
// query's row is SRC4 vec4 of its own from `src` (none when SRC4 is 0), then the TABLE4
// vec4 of its cluster's row of `table`. With SRC4 = 0 it is the members taking their
// centroid's output; with the query itself first, improved clustered attention's row per
// query (its query, its cluster's top keys) for cluster_members.comp.

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint SRC4 = 0;
layout(constant_id = 2) const uint TABLE4 = 16;

layout(std430, set = 0, binding = 0) readonly buffer Codes { ivec4 codes[]; };
VKA_TENSOR_IN(1, table)
VKA_TENSOR_OUT(2, dst)
VKA_TENSOR_IN(3, src)

layout(push_constant) uniform cluster_scatter_push {
    VKA_PUSH_HEADER
    uint nq;
} pc;

#pragma vka_loops(1)

void main()
{
    const uint query = gl_GlobalInvocationID.x, width = SRC4 + TABLE4;
    if (query >= pc.nq)
        return;
    const uint slice = gl_WorkGroupID.z, row = slice * pc.slice_stride[2] + query * width;
    const uint cluster = uint(codes[slice * pc.slice_stride[0] + query].z);
    [[unroll]] for (uint c = 0; c < SRC4; c++)
        dst_store(row + c, src(slice * pc.slice_stride[3] + query * SRC4 + c));
    [[unroll]] for (uint c = 0; c < TABLE4; c++)
        dst_store(row + SRC4 + c, table(slice * pc.slice_stride[1] + cluster * TABLE4 + c));
}
