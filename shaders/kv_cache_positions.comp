#version 450
// Before a decoding run with a KV cache (SCHEMES.md §10), one invocation per batch: the
// run's first query position q_pos[b] = length[b], and total[b] = length[b] + added[b],
// the keys its queries see. A batch whose new tokens would not fit the capacity adds none
// (q_pos = total = length: its rows output 0, its cache is untouched): the host refuses
// such a run before it starts (engine/graph/counters.c); this keeps a recorded one inside
// the cache. kv_cache_advance.comp moves the lengths on after the run.
// Lengths stay int32 in storage buffers: never moved through float registers (a small
// integer's bits are a denormal float, which GPUs may flush to zero).

#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ADDED_VEC4 = 1;

layout(std430, set = 0, binding = 0) readonly buffer Length { int length_[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Total { int total[]; };
layout(std430, set = 0, binding = 2) writeonly buffer QPos { int q_pos[]; };
layout(std140, set = 0, binding = 3) uniform Added { ivec4 added[ADDED_VEC4]; };

layout(push_constant) uniform kv_cache_positions_push {
    VKA_PUSH_HEADER
    uint batch;
    uint capacity;
} pc;

#pragma vka_loops(1)

void main()
{
    const uint b = gl_GlobalInvocationID.x;
    if (b >= pc.batch)
        return;
    const int now = length_[b], add = max(VKA_KV_LEN(added, b), 0);
    const bool fits = now >= 0 && uint(now) <= pc.capacity && uint(add) <= pc.capacity - uint(now);
    q_pos[b] = now;
    total[b] = fits ? now + add : now;
}
