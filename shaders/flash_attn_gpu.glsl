// Exact softmax attention, tiled online softmax — the GPU-class variant.
//
// One workgroup owns BR query rows. It walks the visible keys in tiles of BC: the
// tile's K and V rows are staged in shared memory (each loaded once from device
// memory for all BR rows), scores go to a shared BR×BC tile, one invocation per row
// folds them into the row's running max and sum, and the output accumulators —
// spread over the workgroup, OUT_SLOTS vec4 per invocation — are rescaled and
// updated. Nothing of size Nq×Nk exists anywhere; statistics are f32.
//
// VKA_SPARSE (flash_attn_gpu_sparse.comp): only the block layout's key ranges are walked
// (sparse_layout.glsl).
//
// Uses no subgroup operations, so it is correct for any subgroup size. Shared memory
// is 16·(BR·D4 + BC·D4 + BC·DV4) + 4·(BR·BC + 3·BR) bytes; the planner picks BR and BC
// to fit the device (16 KiB on many phones): the vka_shared_bytes pragma below states it
// for the planner.

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D4 = 16;
layout(constant_id = 2) const uint DV4 = 16;
layout(constant_id = 3) const uint BR = 16;       // query rows per workgroup
layout(constant_id = 4) const uint BC = 16;       // keys per tile
layout(constant_id = 5) const uint KV_VEC4 = 1;
layout(constant_id = 6) const uint OUT_SLOTS = 4; // ceil(BR·DV4 / workgroup size)
layout(constant_id = 7) const uint SINK_VEC4 = 1; // vec4 entries of the sinks table

#include "flash_attn_interface.glsl"

// Per tile of BC keys, the strided loops that stage K and V, score the tile and fold the
// rows; before them, staging Q. When sparse, one more (partial) tile per layout range.
#if VKA_SPARSE
#pragma vka_loops((div_up(pc.key_split > 0 ? pc.key_split : pc.nk, BC) + pc.max_ranges) * (1 + div_up(BC * D4, workgroup_size) + div_up(BC * DV4, workgroup_size) + div_up(BR * BC, workgroup_size) + div_up(BR, workgroup_size)) + pc.max_ranges + 1 + div_up(BR * D4, workgroup_size) + div_up(BR, workgroup_size))
#else
#pragma vka_loops(div_up(pc.key_split > 0 ? pc.key_split : pc.nk, BC) * (1 + div_up(BC * D4, workgroup_size) + div_up(BC * DV4, workgroup_size) + div_up(BR * BC, workgroup_size) + div_up(BR, workgroup_size)) + 1 + div_up(BR * D4, workgroup_size) + div_up(BR, workgroup_size))
#endif
#pragma vka_shared_bytes(16 * (BR * D4 + BC * D4 + BC * DV4) + 4 * (BR * BC + 3 * BR))

shared vec4 q_tile[BR * D4];
shared vec4 k_tile[BC * D4];
shared vec4 v_tile[BC * DV4];
shared float p_tile[BR * BC];
shared float row_max[BR];
shared float row_sum[BR];
shared float row_alpha[BR];

void main()
{
    const uint tid = gl_LocalInvocationID.x;
    const uint wg = gl_WorkGroupSize.x;
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
    const uint row0 = gl_WorkGroupID.x * BR;
    const uint rows = min(BR, pc.nq - row0);

    const float qscale = pc.scale * VKA_LOG2E;
    for (uint i = tid; i < BR * D4; i += wg) {
        const uint r = i / D4;
        q_tile[i] = r < rows ? q(q_base + (row0 + r) * D4 + i % D4) * qscale : vec4(0.0);
    }
    for (uint r = tid; r < BR; r += wg)
        flash_start(slice, gl_WorkGroupID.y, row_max[r], row_sum[r]);
    vec4 acc[OUT_SLOTS];
    [[unroll]] for (uint s = 0; s < OUT_SLOTS; s++)
        acc[s] = vec4(0.0);
    // Visible keys grow with the row under causal masking: the last row (that is a query)
    // sees the most.
    const uint key_end = flash_key_end(row0, rows, batch, kvl);

#if VKA_SPARSE
    const uint head = (pc.slice_base + slice) % pc.heads;
    const uvec2 seen_by_all = rows_see_all(row0, BR);
    uint range, range_end;
    layout_ranges(row0, head, range, range_end);
    for (; range < range_end; range++) {
        bool masked;
        const uvec2 keys = flash_split(range_keys(range, row0, BR, key_end, masked), gl_WorkGroupID.y);
        const uint start = keys.x, end = keys.y;
#else
    {
        const uvec2 keys = flash_split(uvec2(0u, key_end), gl_WorkGroupID.y);
        const uint start = keys.x, end = keys.y;
#endif
        for (uint t0 = start; t0 < end; t0 += BC) {
            barrier(); // the previous tile is no longer read
            for (uint i = tid; i < BC * D4; i += wg) {
                const uint j = t0 + i / D4;
                k_tile[i] = j < end ? k(k_base + j * D4 + i % D4) : vec4(0.0);
            }
            for (uint i = tid; i < BC * DV4; i += wg) {
                const uint j = t0 + i / DV4;
                v_tile[i] = j < end ? v(v_base + j * DV4 + i % DV4) : vec4(0.0);
            }
            barrier();
            for (uint i = tid; i < BR * BC; i += wg) {
                const uint r = i / BC, c = i % BC;
                float s = 0.0;
                [[unroll]] for (uint d = 0; d < D4; d++)
                    s += dot(q_tile[r * D4 + d], k_tile[c * D4 + d]);
#if VKA_MASK
                s = flash_logit(s) +
                    flash_mask4(mask_base, min(row0 + r, pc.nq - 1), min(t0 + c, pc.nk - 1) / 4u)[(t0 + c) & 3u];
                p_tile[i] = s;
#else
                p_tile[i] = flash_logit(s);
#endif
            }
            barrier();
#if VKA_SPARSE
            const bool check = masked && !(t0 >= seen_by_all.x && t0 + BC <= seen_by_all.y);
#endif
            for (uint r = tid; r < BR; r += wg) {
                const uint visible = r < rows ? min(flash_visible(row0 + r, batch, kvl), end) : 0u;
                bool seen[BC];
                [[unroll]] for (uint c = 0; c < BC; c++)
#if VKA_SPARSE
                    seen[c] = t0 + c < visible && (!check || pattern_allows(row0 + r, t0 + c, head));
#else
                    seen[c] = t0 + c < visible;
#endif
                float m_new = row_max[r];
                [[unroll]] for (uint c = 0; c < BC; c++)
                    if (seen[c])
                        m_new = max(m_new, p_tile[r * BC + c]);
                float sum = 0.0;
                [[unroll]] for (uint c = 0; c < BC; c++) {
                    const float p = seen[c] ? exp2(p_tile[r * BC + c] - m_new) : 0.0;
                    p_tile[r * BC + c] = p;
                    sum += p;
                }
                const float alpha = exp2(row_max[r] - m_new);
                row_alpha[r] = alpha;
                row_sum[r] = row_sum[r] * alpha + sum;
                row_max[r] = m_new;
            }
            barrier();
            [[unroll]] for (uint s = 0; s < OUT_SLOTS; s++) {
                const uint slot = tid + s * wg;
                if (slot >= BR * DV4)
                    break;
                const uint r = slot / DV4, c = slot % DV4;
                vec4 a = acc[s] * row_alpha[r];
                [[unroll]] for (uint j = 0; j < BC; j++)
                    a += p_tile[r * BC + j] * v_tile[j * DV4 + c];
                acc[s] = a;
            }
        }
    }

    barrier();
    [[unroll]] for (uint s = 0; s < OUT_SLOTS; s++) {
        const uint slot = tid + s * wg;
        if (slot >= BR * DV4)
            break;
        const uint r = slot / DV4, c = slot % DV4;
        if (r < rows) {
            const uint at = o_base + flash_out_row(row0 + r, gl_WorkGroupID.y);
            const float l = row_sum[r];
            if (pc.key_split == 0u) {
                o_store(at + c, l > 0.0 ? acc[s] / l : vec4(0.0));
            } else { // a split's partial row, and its statistics for the merge
                o_store(at + c, acc[s]);
                if (c == 0u)
                    o_store(at + DV4, vec4(row_max[r], l, 0.0, 0.0));
            }
        }
    }
}
