#version 450
// Batched matrix product C = alpha · A · op(B) per slice — the GPU-class variant.
// A 64-invocation workgroup computes a 32×32 tile of C; the K axis is walked in
// steps of 16 with A and B tiles staged in shared memory (4 KiB). Each invocation
// holds a 4-row × 1-vec4 block of C. Rows are vec4-padded (common.glsl). TRANS_A: A is
// stored K×M; the epilogue is matmul_epilogue.glsl's (bias, accumulate, activation).

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
#pragma vka_workgroup_size(64) // 8×8 invocations over a 32×32 tile
layout(constant_id = 1) const bool TRANS_B = false;
layout(constant_id = 2) const bool TRANS_A = false;

#include "matmul_interface.glsl"

#pragma vka_kernel(matmul, gpu)
#pragma vka_loops(div_up(pc.k, 16) + 1) // the loop over K

const uint BM = 32, BN4 = 8, BK4 = 4; // 32 rows, 32 columns, 16 values of K

shared vec4 a_tile[BM * BK4];         // [row][k4]
shared vec4 b_tile[BK4 * 4 * BN4];    // [k][n4]
#pragma vka_shared_bytes(16 * (32 * 4 + 4 * 4 * 8)) // the two tiles

void main()
{
    const uint tid = gl_LocalInvocationID.x;
    const uint slice = gl_WorkGroupID.z;
    const uint a_base = matmul_a_slice(slice) * pc.slice_stride[0] + pc.a_offset + gl_WorkGroupID.y * pc.a_group_stride;
    const uint group = gl_WorkGroupID.y;
    const uint b_group = uint(clamp(int(group) + pc.b_group_base, 0, int(pc.b_group_last)));
    const uint b_base = matmul_b_slice(slice) * pc.slice_stride[1] + pc.b_offset + b_group * pc.b_group_stride;
    const uint rows = min(pc.m, pc.m_total - min(group * pc.m, pc.m_total)); // of this group
    const uint c_base = slice * pc.slice_stride[2] + pc.c_offset + gl_WorkGroupID.y * pc.c_group_stride;
    const uint k_end = matmul_k_limit(slice); // the contraction stops here
    const uint k4 = (k_end + 3) / 4;
    const uint n4 = (pc.n + 3) / 4;
    const uint col_tiles = (n4 + BN4 - 1) / BN4;
    const uint tile_row0 = (gl_WorkGroupID.x / col_tiles) * BM;
    const uint tile_col0 = (gl_WorkGroupID.x % col_tiles) * BN4;
    const uint my_row = (tid / BN4) * 4; // 4 rows of the tile
    const uint my_col = tid % BN4;       // 1 vec4 column of the tile

    vec4 acc[4] = vec4[4](vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0));
    for (uint d0 = 0; d0 < k4; d0 += BK4) {
        // 128 vec4 of A and 128 vec4 of B per step: two each per invocation (unrolled:
        // one loop iteration per step of K, for llvmpipe's loop budget).
        [[unroll]] for (uint u = 0; u < 2; u++) {
            const uint i = tid + u * 64;
            const uint r = tile_row0 + i / BK4, d = d0 + i % BK4;
            vec4 value = vec4(0.0);
            if (r < rows && d < k4) {
                if (TRANS_A) {
                    [[unroll]] for (uint e = 0; e < 4; e++)
                        if (d * 4 + e < k_end)
                            value[e] = a(a_base + (d * 4 + e) * pc.lda + r / 4)[r % 4];
                } else {
                    value = a(a_base + r * pc.lda + d);
                }
            }
            a_tile[i] = value;
        }
        [[unroll]] for (uint u = 0; u < 2; u++) {
            const uint i = tid + u * 64;
            const uint kk = d0 * 4 + i / BN4, col4 = tile_col0 + i % BN4;
            vec4 value = vec4(0.0);
            if (kk < k_end && col4 < n4) {
                if (TRANS_B) {
                    [[unroll]] for (uint e = 0; e < 4; e++) {
                        const uint col = col4 * 4 + e;
                        if (col < pc.n)
                            value[e] = b(b_base + col * pc.ldb + kk / 4)[kk % 4];
                    }
                } else {
                    value = b(b_base + kk * pc.ldb + col4);
                }
            }
            b_tile[i] = value;
        }
        barrier();
        [[unroll]] for (uint d = 0; d < BK4; d++) {
            [[unroll]] for (uint e = 0; e < 4; e++) {
                const vec4 bv = b_tile[(d * 4 + e) * BN4 + my_col];
                [[unroll]] for (uint i = 0; i < 4; i++)
                    acc[i] += a_tile[(my_row + i) * BK4 + d][e] * bv;
            }
        }
        barrier();
    }

    const uint col4 = tile_col0 + my_col;
    if (col4 >= n4)
        return;
    [[unroll]] for (uint i = 0; i < 4; i++) {
        const uint r = tile_row0 + my_row + i;
        if (r >= rows)
            break;
        const uint at = c_base + r * pc.ldc + col4;
        c_store(at, matmul_epilogue(acc[i], r, col4, at));
    }
}
