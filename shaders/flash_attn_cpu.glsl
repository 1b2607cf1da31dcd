// Exact softmax attention, tiled online softmax — the CPU-class variant.
//
// What llvmpipe rewards (research/lavapipe-performance.md): no shared memory and no
// barriers (a barrier is a coroutine switch there), vec4 loads, and register
// blocking. Each invocation owns ROWS query rows: it keeps them and their output
// accumulators in registers and streams the visible keys and values in blocks of KB,
// so one vec4 load of K or V feeds ROWS rows. Neighbouring invocations read the same
// key at the same time, which the CPU's caches serve.
//
// Loop budget: llvmpipe ends every loop of an invocation once all its loops together
// have run 65,535 iterations (LP_MAX_TGSI_LOOP_ITERATIONS, shared by every loop of a
// shader), silently. So every loop but the ones over key ranges and key blocks is
// unrolled: ceil(keys / KB) blocks (and when sparse the layout's ranges around them); the
// planner keeps it under the budget.
//
// VKA_SPARSE (flash_attn_cpu_sparse.comp): only the block layout's key ranges are
// walked, masked ranges asking the pattern per (row, key) (sparse_layout.glsl). The
// dense kernel (flash_attn_cpu.comp) has none of it: llvmpipe compiles it faster.
//
// The running max is updated once per block and lazily: the reference m moves only
// when a block's max exceeds it by more than LAZY_MARGIN (log2 units), so exp2(s − m)
// ≤ 2^LAZY_MARGIN and the sums stay far from f32 overflow. m cancels exactly in
// O = Σ p v / Σ p.

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D4 = 16;      // vec4 per q/k row
layout(constant_id = 2) const uint DV4 = 16;     // vec4 per v/o row
layout(constant_id = 3) const uint ROWS = 4;     // query rows per invocation
layout(constant_id = 4) const uint KV_VEC4 = 1;  // ivec4 entries of the kv_len table
layout(constant_id = 5) const uint KB = 4;       // keys per block
layout(constant_id = 6) const uint SINK_VEC4 = 1; // vec4 entries of the sinks table

#include "flash_attn_interface.glsl"

// Loop budget (above): the blocks of KB keys, and when sparse one partial block per range.
#if VKA_SPARSE
#pragma vka_loops(div_up(pc.key_split > 0 ? pc.key_split : pc.nk, KB) + 2 * pc.max_ranges + 1)
#else
#pragma vka_loops(div_up(pc.key_split > 0 ? pc.key_split : pc.nk, KB) + 1)
#endif

const float LAZY_MARGIN = 8.0;

void main()
{
    const uint slice = gl_WorkGroupID.z;
    const uint batch = (pc.slice_base + slice) / pc.heads;
    const int kvl = VKA_KV_LEN(kv_len, batch);
    const uint q_base = slice * pc.slice_stride[0];
    const uint kv_slice = vka_kv_slice(slice);
    const uint k_base = kv_slice * pc.slice_stride[1];
    const uint v_base = kv_slice * pc.slice_stride[2];
    const uint o_base = slice * pc.slice_stride[3];
#if VKA_MASK
    const uint mask_base = flash_mask_base(slice);
#endif
    // Split-K: the lanes of a workgroup share its rows and take consecutive key ranges.
    const bool lane_split = pc.key_split != 0u;
    const uint split = lane_split ? gl_WorkGroupID.y * gl_WorkGroupSize.x + gl_LocalInvocationID.x : 0u;
    const uint row0 = (lane_split ? gl_WorkGroupID.x : gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * ROWS;
    if (row0 >= pc.nq)
        return;

    // Scores in log2 units: exp2(s·log2 e) = exp(s).
    const float qscale = pc.scale * VKA_LOG2E;
    vec4 qr[ROWS][D4];
    vec4 acc[ROWS][DV4];
    float m[ROWS];
    float l[ROWS];
    uint visible[ROWS];
    uint key_end = 0;
    [[unroll]] for (uint r = 0; r < ROWS; r++) {
        const uint row = min(row0 + r, pc.nq - 1);
        [[unroll]] for (uint c = 0; c < D4; c++)
            qr[r][c] = q(q_base + row * D4 + c) * qscale;
        [[unroll]] for (uint c = 0; c < DV4; c++)
            acc[r][c] = vec4(0.0);
        flash_start(slice, split, m[r], l[r]);
        visible[r] = row0 + r < pc.nq ? flash_visible(row0 + r, batch, kvl) : 0u;
        key_end = max(key_end, visible[r]);
    }

#if VKA_SPARSE
    const uint head = (pc.slice_base + slice) % pc.heads;
    const uvec2 seen_by_all = rows_see_all(row0, ROWS);
    uint range, range_end;
    layout_ranges(row0, head, range, range_end);
    for (; range < range_end; range++) {
        bool masked;
        const uvec2 keys = flash_split(range_keys(range, row0, ROWS, key_end, masked), split);
        const uint start = keys.x, end = keys.y;
#else
    {
        const uvec2 keys = flash_split(uvec2(0u, key_end), split);
        const uint start = keys.x, end = keys.y;
#endif
        for (uint j0 = start; j0 < end; j0 += KB) {
            float s[KB][ROWS];
            [[unroll]] for (uint b = 0; b < KB; b++) {
                const uint kb = k_base + min(j0 + b, end - 1) * D4;
                [[unroll]] for (uint r = 0; r < ROWS; r++)
                    s[b][r] = 0.0;
                [[unroll]] for (uint c = 0; c < D4; c++) {
                    const vec4 kc = k(kb + c);
                    [[unroll]] for (uint r = 0; r < ROWS; r++)
                        s[b][r] += dot(qr[r][c], kc);
                }
                [[unroll]] for (uint r = 0; r < ROWS; r++)
                    s[b][r] = flash_logit(s[b][r]);
            }
#if VKA_MASK && VKA_SPARSE
            // A layout's ranges start at any key: the mask is read per key.
            [[unroll]] for (uint r = 0; r < ROWS; r++)
                [[unroll]] for (uint b = 0; b < KB; b++) {
                    const uint j = min(j0 + b, end - 1);
                    s[b][r] += flash_mask4(mask_base, min(row0 + r, pc.nq - 1), j / 4u)[j & 3u];
                }
#elif VKA_MASK
            // KB is 4 and j0 a multiple of 4 (dense): one mask vec4 per row and block.
            [[unroll]] for (uint r = 0; r < ROWS; r++) {
                const vec4 add = flash_mask4(mask_base, min(row0 + r, pc.nq - 1), j0 / 4u);
                [[unroll]] for (uint b = 0; b < KB; b++)
                    s[b][r] += add[b & 3u];
            }
#endif
#if VKA_SPARSE
            const bool check = masked && !(j0 >= seen_by_all.x && j0 + KB <= seen_by_all.y);
#endif
            float alpha[ROWS];
            [[unroll]] for (uint r = 0; r < ROWS; r++) {
                bool seen[KB];
                [[unroll]] for (uint b = 0; b < KB; b++)
#if VKA_SPARSE
                    seen[b] = j0 + b < min(visible[r], end) && (!check || pattern_allows(row0 + r, j0 + b, head));
#else
                    seen[b] = j0 + b < min(visible[r], end); // end: the split's
#endif
                float block_max = VKA_NEG_BIG;
                [[unroll]] for (uint b = 0; b < KB; b++)
                    if (seen[b])
                        block_max = max(block_max, s[b][r]);
                alpha[r] = 1.0;
                if (block_max > m[r] + LAZY_MARGIN) {
                    alpha[r] = exp2(m[r] - block_max);
                    m[r] = block_max;
                }
                float sum = 0.0;
                [[unroll]] for (uint b = 0; b < KB; b++) {
                    s[b][r] = seen[b] ? exp2(s[b][r] - m[r]) : 0.0;
                    sum += s[b][r];
                }
                l[r] = l[r] * alpha[r] + sum;
            }
            [[unroll]] for (uint c = 0; c < DV4; c++) {
                vec4 vc[KB];
                [[unroll]] for (uint b = 0; b < KB; b++)
                    vc[b] = v(v_base + min(j0 + b, end - 1) * DV4 + c);
                [[unroll]] for (uint r = 0; r < ROWS; r++) {
                    vec4 a = acc[r][c] * alpha[r];
                    [[unroll]] for (uint b = 0; b < KB; b++)
                        a += s[b][r] * vc[b];
                    acc[r][c] = a;
                }
            }
        }
    }

    [[unroll]] for (uint r = 0; r < ROWS; r++) {
        if (row0 + r < pc.nq) {
            const uint at = o_base + flash_out_row(row0 + r, split);
            // A row that sees no key has l == 0 and outputs 0 (never NaN); a split's
            // partial row keeps its statistics for the merge.
            const float inv_l = pc.key_split != 0u ? 1.0 : l[r] > 0.0 ? 1.0 / l[r] : 0.0;
            [[unroll]] for (uint c = 0; c < DV4; c++)
                o_store(at + c, acc[r][c] * inv_l);
            if (pc.key_split != 0u)
                o_store(at + DV4, vec4(m[r], l[r], 0.0, 0.0));
        }
    }
}
