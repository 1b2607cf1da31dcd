#version 450
// Copies COUNT vec4 per slice from one tensor to another, each at its own offset into
// the slice (a decoding step's final state into the persistent state, one part of a
// concatenation). One vec4 per invocation.

#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer Src { vec4 src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Dst { vec4 dst[]; };

layout(push_constant) uniform copy_rows_push {
    VKA_PUSH_HEADER
    uint count;       // vec4 per slice
    uint src_offset;  // vec4 into the source slice
    uint dst_offset;  // vec4 into the destination slice
} pc;

// The planner's checks (tools/kernel_interface.py): loop iterations per invocation.
#pragma vka_loops(1)

void main()
{
    const uint i = gl_GlobalInvocationID.x;
    if (i >= pc.count)
        return;
    const uint slice = gl_WorkGroupID.z;
    dst[slice * pc.slice_stride[1] + pc.dst_offset + i] = src[slice * pc.slice_stride[0] + pc.src_offset + i];
}
