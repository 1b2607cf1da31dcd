#version 450
// Copies COUNT vec4 per slice from one tensor to another, each at its own offset into
// the slice (a decoding step's final state into the persistent state, one part of a
// concatenation); or COUNT vec4 of each of ROWS rows, the rows at their own strides in
// source and destination (one tensor's columns beside another's: te_attention's packed
// rows). One vec4 per invocation.

#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

VKA_TENSOR_IN(0, src)
VKA_TENSOR_OUT(1, dst)

layout(push_constant) uniform copy_rows_push {
    VKA_PUSH_HEADER
    uint count;          // vec4 per slice, or per row
    uint src_offset;     // vec4 into the source slice
    uint dst_offset;     // vec4 into the destination slice
    uint rows;           // rows per slice (1: one run of count)
    uint src_row_stride; // vec4 from one source row to the next
    uint dst_row_stride; // and of the destination
    uint src_group;      // > 1: one source slice per src_group slices (bound with that divisor)
} pc;

// The planner's checks (tools/kernel_interface.py): loop iterations per invocation.
#pragma vka_loops(1)

void main()
{
    const uint i = gl_GlobalInvocationID.x;
    if (i >= pc.count * pc.rows)
        return;
    const uint slice = gl_WorkGroupID.z, row = i / pc.count, c = i % pc.count;
    const uint src_slice = VKA_GROUP_SLICE(slice, pc.src_group);
    const uint from = src_slice * pc.slice_stride[0] + pc.src_offset + row * pc.src_row_stride + c;
    dst_store(slice * pc.slice_stride[1] + pc.dst_offset + row * pc.dst_row_stride + c, src(from));
}
