#version 450
// Batched matrix product C = alpha · A · op(B) per slice — the CPU-class variant.
// A is M×K, op(B) is K×N (B stored N×K when TRANS_B, else K×N), C is M×N; rows are
// vec4-padded (common.glsl). Each invocation computes a TM × (4·TN4) block of C in
// registers from vec4 loads, with no shared memory and no barriers — the shape that
// reached 16.5 GFLOP/s on lavapipe (research/lavapipe-performance.md). Only the loop over
// K is a loop (ceil(K / 4) iterations: llvmpipe's loop budget, flash_attn_cpu.comp).
// TRANS_A (with TM = 4): A is stored K×M, as HyperMixer's Wkᵀv reads it; the epilogue
// (matmul_epilogue.glsl) adds a bias, accumulates into C and applies an activation.

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TM = 4;        // rows of C per invocation
layout(constant_id = 2) const uint TN4 = 2;       // vec4 columns of C per invocation
layout(constant_id = 3) const bool TRANS_B = false;
layout(constant_id = 4) const bool TRANS_A = false; // needs TM = 4

#include "matmul_interface.glsl"

#pragma vka_kernel(matmul, cpu)
#pragma vka_loops(div_up(pc.k, 4) + 1) // the loop over K

void main()
{
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
    const uint col_tiles = (n4 + TN4 - 1) / TN4;
    const uint tile = gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    const uint row0 = (tile / col_tiles) * TM;
    const uint col0 = (tile % col_tiles) * TN4; // in vec4
    if (row0 >= rows)
        return;

    vec4 acc[TM][TN4];
    [[unroll]] for (uint i = 0; i < TM; i++)
        [[unroll]] for (uint j = 0; j < TN4; j++)
            acc[i][j] = vec4(0.0);

    if (TRANS_B) {
        // C[i][4j+e] = Σ_d A[i][d] · B[4j+e][d]: both operands are read along K.
        for (uint d = 0; d < k4; d++) {
            vec4 ar[TM];
            [[unroll]] for (uint i = 0; i < TM; i++)
                ar[i] = a(a_base + min(row0 + i, rows - 1) * pc.lda + d);
            [[unroll]] for (uint j = 0; j < TN4; j++) {
                [[unroll]] for (uint e = 0; e < 4; e++) {
                    const uint col = min((col0 + j) * 4 + e, pc.n - 1);
                    const vec4 bv = b(b_base + col * pc.ldb + d);
                    [[unroll]] for (uint i = 0; i < TM; i++)
                        acc[i][j][e] += dot(ar[i], bv);
                }
            }
        }
    } else if (TRANS_A) {
        // C[i][j] += A[d][i] · B[d][j]: one vec4 of A (the tile's 4 rows of C) per key.
        for (uint d = 0; d < k4; d++) {
            [[unroll]] for (uint e = 0; e < 4; e++) {
                const uint kk = d * 4 + e;
                const bool live = kk < k_end; // past it: selected away, never multiplied
                const uint row = min(kk, k_end - 1);
                const vec4 av = live ? a(a_base + row * pc.lda + row0 / 4) : vec4(0.0);
                [[unroll]] for (uint j = 0; j < TN4; j++) {
                    const vec4 bv = live ? b(b_base + row * pc.ldb + min(col0 + j, n4 - 1)) : vec4(0.0);
                    [[unroll]] for (uint i = 0; i < TM; i++)
                        acc[i][j] += av[i] * bv;
                }
            }
        }
    } else {
        // C[i][j] += A[i][d] · B[d][j], four values of d per vec4 of A.
        for (uint d = 0; d < k4; d++) {
            vec4 ar[TM];
            [[unroll]] for (uint i = 0; i < TM; i++)
                ar[i] = a(a_base + min(row0 + i, rows - 1) * pc.lda + d);
            [[unroll]] for (uint e = 0; e < 4; e++) {
                const uint kk = min(d * 4 + e, pc.k - 1);
                [[unroll]] for (uint j = 0; j < TN4; j++) {
                    const vec4 bv = b(b_base + kk * pc.ldb + min(col0 + j, n4 - 1));
                    [[unroll]] for (uint i = 0; i < TM; i++)
                        acc[i][j] += ar[i][e] * bv;
                }
            }
        }
    }

    [[unroll]] for (uint i = 0; i < TM; i++) {
        if (row0 + i >= rows)
            break;
        [[unroll]] for (uint j = 0; j < TN4; j++) {
            if (col0 + j >= n4)
                break;
            const uint at = c_base + (row0 + i) * pc.ldc + col0 + j;
            c_store(at, matmul_epilogue(acc[i][j], row0 + i, col0 + j, at));
        }
    }
}
