#version 450
// After a decoding run with a KV cache: length[b] = total[b] (kv_cache_positions.comp),
// one invocation per batch, int32 bits copied as ints.

#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) writeonly buffer Length { int length_[]; };
layout(std430, set = 0, binding = 1) readonly buffer Total { int total[]; };

layout(push_constant) uniform kv_cache_advance_push {
    VKA_PUSH_HEADER
    uint batch;
} pc;

#pragma vka_loops(1)

void main()
{
    const uint b = gl_GlobalInvocationID.x;
    if (b < pc.batch)
        length_[b] = total[b];
}
