#version 450
// Multi-head layout changes (a head's width Dh need not be a multiple of 4), one element
// of a [.., N, Dh] head row per invocation; the dispatch runs over [S, H] slices:
//   SPLIT  x [S, N, H·Dh] → y [S, H, N, Dh]   (x bound with slice divisor H)
//   MERGE  x [S, H, N, Dh] → y [S, N, H·Dh]   (y bound with slice divisor H)
// The divided binding is indexed here: global slice g = slice_base + z sees its slice
// g / H, counted from the piece's first, slice_base / H. Padding lanes are written 0.

#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool SPLIT = true;

// Element by element, as f32 or as f16 (common.glsl): an f16 element is half of a 32-bit
// word that another invocation (of another head, when merging) may write at the same
// time, so f16 stores clear and set their half with atomics.
layout(std430, set = 0, binding = 0) readonly buffer X_f32 { float x_f[]; };
layout(std430, set = 0, binding = 0) readonly buffer X_f16 { uint x_h[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Y_f32 { float y_f[]; };
layout(std430, set = 0, binding = 1) buffer Y_f16 { uint y_h[]; };

float x(uint i)
{
    return VKA_F16(0) ? unpackHalf2x16(x_h[i / 2])[i % 2] : x_f[i];
}

void y_store(uint i, float value)
{
    if (VKA_F16(1)) {
        const uint shift = 16u * (i % 2);
        atomicAnd(y_h[i / 2], ~(0xFFFFu << shift));
        atomicOr(y_h[i / 2], (packHalf2x16(vec2(value, 0.0)) & 0xFFFFu) << shift);
    } else {
        y_f[i] = value;
    }
}

layout(push_constant) uniform heads_push {
    VKA_PUSH_HEADER
    uint tokens;     // N
    uint heads;      // H
    uint head_width; // Dh
} pc;

// Loop budget (tools/kernel_interface.py): clearing a merged row's padding, at most 3 floats.
#pragma vka_loops(4)

void main()
{
    const uint split_row = 4 * ((pc.head_width + 3) / 4);             // floats per [.., Dh] row
    const uint merged_row = 4 * ((pc.heads * pc.head_width + 3) / 4); // floats per [.., H·Dh] row
    const uint i = gl_GlobalInvocationID.x;
    if (i >= pc.tokens * split_row)
        return;
    const uint z = gl_WorkGroupID.z, g = pc.slice_base + z;
    const uint h = g % pc.heads, shared_slice = g / pc.heads - pc.slice_base / pc.heads;
    const uint n = i / split_row, d = i % split_row;
    const bool live = d < pc.head_width;
    const uint merged_at = n * merged_row + h * pc.head_width + d;
    if (SPLIT) {
        const float v = live ? x(shared_slice * 4 * pc.slice_stride[0] + merged_at) : 0.0;
        y_store(z * 4 * pc.slice_stride[1] + i, v);
    } else {
        if (live)
            y_store(shared_slice * 4 * pc.slice_stride[1] + merged_at, x(z * 4 * pc.slice_stride[0] + i));
        // The last head also clears the merged row's padding (fewer than 4 floats).
        if (h == pc.heads - 1 && d == 0) {
            const uint row = shared_slice * 4 * pc.slice_stride[1] + n * merged_row;
            for (uint p = pc.heads * pc.head_width; p < merged_row; p++)
                y_store(row + p, 0.0);
        }
    }
}
