#version 450
// Appends a run's new keys (or values) to a KV cache (SCHEMES.md §10): row i < added of
// slice [b, kv head] goes to cache row q_pos[b] + i, where added = total[b] − q_pos[b]
// (kv_cache_positions.comp; 0 for a batch that would overflow). One vec4 per invocation.

#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint KV_VEC4 = 1;

VKA_TENSOR_IN(0, src)
VKA_TENSOR_OUT(1, cache)
layout(std140, set = 0, binding = 2) uniform QPos { ivec4 q_pos[KV_VEC4]; };
layout(std140, set = 0, binding = 3) uniform Total { ivec4 total[KV_VEC4]; };

layout(push_constant) uniform kv_cache_append_push {
    VKA_PUSH_HEADER
    uint rows;  // new tokens the source holds per slice
    uint width; // vec4 per row
    uint heads; // k/v heads per batch
} pc;

#pragma vka_loops(1)

void main()
{
    const uint i = gl_GlobalInvocationID.x;
    if (i >= pc.rows * pc.width)
        return;
    const uint slice = gl_WorkGroupID.z, row = i / pc.width, c = i % pc.width;
    const uint batch = (pc.slice_base + slice) / pc.heads;
    const int first = VKA_KV_LEN(q_pos, batch);
    if (int(row) >= VKA_KV_LEN(total, batch) - first)
        return;
    cache_store(slice * pc.slice_stride[1] + (uint(first) + row) * pc.width + c,
                src(slice * pc.slice_stride[0] + row * pc.width + c));
}
