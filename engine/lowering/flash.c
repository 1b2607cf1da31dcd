/* The flash attention kernels' lowering, shared by every scheme that runs exact softmax
 * attention over tensors it chooses (softmax itself, the two attentions of `inducing`). */
#include "flash.h"
#include "kernel_class.h"
#include "rows.h"

#include <string.h>
#include <unistd.h>

#define LOG2E 1.4426950408889634 /* the kernels' scores are in log2 units */

/* Largest BR (query rows) and BC (keys per tile) whose tiles fit in shared memory. */
static void choose_gpu_tiles(const vka_device_info *dev, uint32_t d4, uint32_t dv4, uint32_t *br, uint32_t *bc)
{
    static const uint32_t sizes[] = {32, 16, 8, 4, 2, 1};
    const vka_kernel *k = vka_kernel_get(VKA_KERNEL_FLASH_ATTN_GPU);
    for (size_t i = 0; i < VKA_ARRAY_LEN(sizes); i++) {
        *br = sizes[i];
        if (*br * d4 > 256 && *br > 1) /* bound the accumulators each invocation holds */
            continue;
        for (size_t j = 0; j < VKA_ARRAY_LEN(sizes); j++) {
            *bc = sizes[j];
            vka_spec_words spec = {.flash_attn_gpu = {.D4 = d4, .DV4 = dv4, .BR = *br, .BC = *bc}};
            if (k->shared_bytes(&spec, &(vka_push_words){0}) <= dev->limits.max_shared_memory_bytes && *bc <= 32)
                return;
        }
    }
    *br = *bc = 1;
}

/* The flash variant: block-sparse, with an additive mask, or dense. The variants of a class
 * share their constants' type (vka_kernels.h), so the union holds them in one place. */
static vka_kernel_id flash_kernel(bool cpu, bool sparse, bool masked)
{
    if (sparse && masked)
        return cpu ? VKA_KERNEL_FLASH_ATTN_CPU_SPARSE_MASK : VKA_KERNEL_FLASH_ATTN_GPU_SPARSE_MASK;
    if (sparse)
        return cpu ? VKA_KERNEL_FLASH_ATTN_CPU_SPARSE : VKA_KERNEL_FLASH_ATTN_GPU_SPARSE;
    if (masked)
        return cpu ? VKA_KERNEL_FLASH_ATTN_CPU_MASK : VKA_KERNEL_FLASH_ATTN_GPU_MASK;
    return cpu ? VKA_KERNEL_FLASH_ATTN_CPU : VKA_KERNEL_FLASH_ATTN_GPU;
}

static void flash_dispatch(const vka_device_info *dev, const vka_flash_desc *p, uint32_t kv_vec4, vka_dispatch_desc *d)
{
    bool sparse = p->sparse != NULL, masked = p->logits.mask != 0;
    uint32_t d4 = vka_div_up(p->d, 4), dv4 = vka_div_up(p->dv, 4);
    uint32_t sink_vec4 = p->logits.sinks ? vka_div_up(p->heads, 4) : 1;
    if (vka_cpu_class(dev)) {
        /* 8 invocations fill llvmpipe's 8-lane SIMD. Each invocation's rows share every K/V
         * load, so more rows mean fewer loads, the cost that dominates on lavapipe; but the
         * rows' q and accumulators, rows·(D + Dv)/4 vec4, are unrolled code, and llvmpipe's
         * compile time grows steeply with it. Measured (N = 1024, H = 8, D = 64, cold
         * shader cache): 32 rows 48 GFLOP/s after a 70 s compile, 16 rows 32–37 GFLOP/s
         * after 15–18 s, 8 rows 23 GFLOP/s after 6 s: 512 vec4 is the knee. A problem too
         * small to give lavapipe's threads four workgroups takes one row per invocation
         * (a one-query decoding step must not do 16 rows' work); two row counts per head
         * dimension keep the variants, and so the compiles, few. */
        uint32_t wg = 8, rows = 16, keys_per_block = 4;
        while (rows > 1 && rows * (d4 + dv4) > 512)
            rows /= 2;
        if (vka_div_up(p->nq, wg * rows) * p->batch * p->heads < 4)
            rows = 1;
        while (sparse && p->sparse->layout_rows % rows) /* an invocation's rows share one layout block */
            rows /= 2;
        vka_flash_attn_cpu_spec spec = {.workgroup_size = wg,
                                        .D4 = d4,
                                        .DV4 = dv4,
                                        .ROWS = rows,
                                        .KV_VEC4 = kv_vec4,
                                        .KB = keys_per_block,
                                        .SINK_VEC4 = sink_vec4};
        d->kernel = flash_kernel(true, sparse, masked);
        d->spec.flash_attn_cpu = spec; /* every variant's constants: one type, one place */
        d->groups_x = vka_div_up(p->nq, wg * rows);
    } else {
        uint32_t wg = VKA_MIN(64u, dev->limits.max_workgroup_invocations), br, bc;
        choose_gpu_tiles(dev, d4, dv4, &br, &bc);
        while (sparse && p->sparse->layout_rows % br) /* a workgroup's rows share one layout block */
            br /= 2;
        vka_flash_attn_gpu_spec spec = {.workgroup_size = wg,
                                        .D4 = d4,
                                        .DV4 = dv4,
                                        .BR = br,
                                        .BC = bc,
                                        .KV_VEC4 = kv_vec4,
                                        .OUT_SLOTS = vka_div_up(br * dv4, wg),
                                        .SINK_VEC4 = sink_vec4};
        d->kernel = flash_kernel(false, sparse, masked);
        d->spec.flash_attn_gpu = spec;
        d->groups_x = vka_div_up(p->nq, br);
    }
}

uint32_t vka_flash_query_rows(const vka_device_info *dev, const vka_flash_desc *f)
{
    vka_dispatch_desc d = {0};
    flash_dispatch(dev, f, 1, &d);
    return vka_cpu_class(dev) ? d.spec.flash_attn_cpu.ROWS : d.spec.flash_attn_gpu.BR;
}

/* Workgroups that keep the device busy: on lavapipe a few per CPU thread (its threads run
 * workgroups; Vulkan names no count of compute units, and lavapipe's device is this host's
 * CPU), on a GPU enough for a large one's compute units several times over. */
static uint32_t busy_workgroups(const vka_device_info *dev)
{
    if (!vka_cpu_class(dev))
        return 512;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    return 4 * (uint32_t)VKA_MIN(VKA_MAX(threads, 1L), 64L);
}

enum { MIN_KEYS_PER_SPLIT = 256, MIN_KEYS_PER_LANE = 64, SPLIT_ALIGN = 64, MAX_SPLITS = 256 };

/* The planner's split count (before rounding), 1 when splitting would not pay. GPU
 * class: when the query tiles leave the device idle. CPU class (splits are lanes of a
 * workgroup sharing its rows): also whenever the queries leave a workgroup's lanes idle. */
static uint32_t chosen_splits(const vka_device_info *dev, const vka_flash_desc *f)
{
    vka_dispatch_desc d = {0};
    flash_dispatch(dev, f, 1, &d);
    uint64_t slices = (uint64_t)f->batch * f->heads, busy = busy_workgroups(dev);
    uint64_t workgroups = d.groups_x * slices;
    if (!vka_cpu_class(dev)) {
        if (workgroups * 2 > busy)
            return 1;
        return (uint32_t)VKA_MIN((busy + workgroups - 1) / workgroups, (uint64_t)(f->nk / MIN_KEYS_PER_SPLIT));
    }
    const vka_flash_attn_cpu_spec *spec = &d.spec.flash_attn_cpu;
    uint64_t row_blocks = vka_div_up(f->nq, spec->ROWS), lanes = spec->workgroup_size;
    if (row_blocks >= lanes && workgroups * 2 > busy)
        return 1;
    uint64_t split_workgroups = row_blocks * slices; /* one per row block, its lanes splitting the keys */
    uint64_t wanted = lanes * VKA_MAX(1, (busy + split_workgroups - 1) / split_workgroups);
    return (uint32_t)VKA_MIN(wanted, (uint64_t)(f->nk / MIN_KEYS_PER_LANE));
}

uint32_t vka_flash_splits(const vka_device_info *dev, const vka_flash_desc *f, uint32_t *keys_per_split)
{
    *keys_per_split = f->nk;
    uint32_t splits = f->split_k;
    if (f->sparse || f->nk == 0 || splits == 1)
        return 1;
    if (splits == 0)
        splits = chosen_splits(dev, f);
    splits = VKA_MIN(VKA_MIN(splits, (uint32_t)MAX_SPLITS), f->nk);
    if (splits <= 1)
        return 1;
    /* Ranges a multiple of 64 keys (every kernel's key block divides it), or of 4 when
     * short (a mask is read a vec4 of keys at a time), the last shorter. */
    uint32_t per = vka_div_up(f->nk, splits), align = per > SPLIT_ALIGN ? SPLIT_ALIGN : 4;
    per = vka_div_up(per, align) * align;
    *keys_per_split = per;
    splits = vka_div_up(f->nk, per);
    if (vka_cpu_class(dev)) /* whole workgroups of lanes: the last lanes' ranges may be empty */
        splits = vka_div_up(splits, vka_class_workgroup_size(dev)) * vka_class_workgroup_size(dev);
    return splits;
}

/* An additive mask's binding: per slice, a batch's shared by its heads (slice divisor), or
 * one for every slice (whole). */
static vka_binding_desc mask_binding(const vka_logit_options *o)
{
    return (vka_binding_desc){.tensor = o->mask,
                              .access = VKA_READ,
                              .whole = o->mask_group == 0,
                              .slice_divisor = o->mask_group > 1 ? o->mask_group : 0};
}

/* Split-K's merge: the partial rows of every range into the output. */
static vka_result lower_merge(vka_lowering *lw, const vka_flash_desc *f, uint32_t partial, uint32_t splits)
{
    uint32_t wg = vka_class_workgroup_size(vka_lower_device(lw)), dv4 = vka_div_up(f->dv, 4);
    return vka_lower_dispatch(lw, &(vka_dispatch_desc){
                                      .kernel = VKA_KERNEL_FLASH_MERGE,
                                      .spec.flash_merge = {.workgroup_size = wg},
                                      .push.flash_merge = {.nq = f->nq, .dv4 = dv4, .splits = splits},
                                      .groups_x = vka_div_up(f->nq * dv4, wg),
                                      .groups_y = 1,
                                      .slices = f->batch * f->heads,
                                      .bindings = {{.tensor = partial, .access = VKA_READ, .whole = false},
                                                   {.tensor = f->out, .access = VKA_WRITE, .whole = false}},
                                  });
}

vka_result vka_lower_flash(vka_lowering *lw, const vka_flash_desc *f)
{
    const vka_flash_sparse *sp = f->sparse;
    uint32_t group = f->kv_heads ? f->heads / f->kv_heads : 1; /* query heads per k/v head */
    uint32_t keys_per_split, splits = vka_flash_splits(vka_lower_device(lw), f, &keys_per_split), out = f->out;
    vka_result r;
    if (splits > 1) { /* per slice, split and row: the accumulator and one vec4 of statistics */
        uint32_t row = (vka_div_up(f->dv, 4) + 1) * 4;
        if ((r = vka_lower_intermediate(lw, "partial", VKA_DTYPE_F32, 4,
                                        (uint32_t[]){f->batch, f->heads, splits * f->nq, row}, &out)) ||
            (r = vka_lower_note_stat(lw, "flash_splits", splits)))
            return r;
    }
    vka_dispatch_desc d = {
        .push.flash_attn = {.nq = f->nq,
                            .nk = f->nk,
                            .heads = f->heads,
                            .kv_group = group,
                            .causal = f->causal,
                            .scale = f->scale,
                            .key_split = splits > 1 ? keys_per_split : 0,
                            .softcap = f->logits.softcap * (float)LOG2E,
                            .sinks = f->logits.sinks != 0,
                            .mask_group = VKA_MAX(f->logits.mask_group, 1)},
        .groups_y = splits,
        .slices = f->batch * f->heads,
        .bindings = {{.tensor = f->q, .access = VKA_READ, .whole = false},
                     {.tensor = f->k, .access = VKA_READ, .whole = false, .slice_divisor = group},
                     {.tensor = f->v, .access = VKA_READ, .whole = false, .slice_divisor = group},
                     {.tensor = out, .access = VKA_WRITE, .whole = false},
                     {.tensor = f->kv_len, .access = VKA_READ, .whole = true},
                     /* unread unless causal is POSITIONS, or without sinks: kv_len stands in */
                     {.tensor = f->q_pos ? f->q_pos : f->kv_len, .access = VKA_READ, .whole = true},
                     {.tensor = f->logits.sinks ? f->logits.sinks : f->kv_len, .access = VKA_READ, .whole = true},
                     {.tensor = sp ? sp->layout : 0,
                      .access = VKA_READ,
                      .whole = true}}, /* the sparse kernels' layout, or: */
    };
    if (f->logits.mask) { /* the mask kernels' mask; with a layout, the layout moves to 5 (no q_pos there) */
        if (sp)
            d.bindings[5] = d.bindings[7];
        d.bindings[7] = mask_binding(&f->logits);
    }
    if (sp) {
        vka_flash_attn_push *push = &d.push.flash_attn;
        push->pattern = sp->pattern;
        memcpy(push->pattern_params, sp->params, sizeof push->pattern_params);
        push->layout_rows = sp->layout_rows;
        push->sections = sp->sections;
        push->layout_blocks = sp->layout_blocks;
        push->max_ranges = sp->max_ranges;
    }
    const vka_device_info *dev = vka_lower_device(lw);
    flash_dispatch(dev, f, vka_div_up(f->batch, 4), &d);
    if (splits > 1 && vka_cpu_class(dev)) { /* lanes split the keys: a workgroup per row block */
        d.groups_x = vka_div_up(f->nq, d.spec.flash_attn_cpu.ROWS);
        d.groups_y = splits / d.spec.flash_attn_cpu.workgroup_size;
    }
    if ((r = vka_lower_dispatch(lw, &d)))
        return r;
    return splits > 1 ? lower_merge(lw, f, out, splits) : VKA_SUCCESS;
}

vka_result vka_lower_row_softmax(vka_lowering *lw, uint32_t scores, uint32_t kv_len, uint32_t batch, uint32_t heads,
                                 uint32_t rows, uint32_t cols, uint32_t causal, const vka_logit_options *logits)
{
    uint32_t wg = VKA_MIN(64u, vka_lower_device(lw)->limits.max_workgroup_invocations);
    vka_logit_options none = {0};
    if (!logits)
        logits = &none;
    uint32_t dummy = 0;
    vka_result r = logits->mask ? VKA_SUCCESS : vka_lower_dummy(lw, &dummy);
    if (r)
        return r;
    return vka_lower_dispatch(
        lw, &(vka_dispatch_desc){
                .kernel = VKA_KERNEL_SOFTMAX_ROWS,
                .spec.softmax_rows = {.workgroup_size = wg,
                                      .KV_VEC4 = vka_div_up(batch, 4),
                                      .SINK_VEC4 = logits->sinks ? vka_div_up(heads, 4) : 1},
                .push.softmax_rows = {.nq = rows,
                                      .nk = cols,
                                      .heads = heads,
                                      .causal = causal,
                                      .softcap = logits->softcap,
                                      .sinks = logits->sinks != 0,
                                      .mask = logits->mask != 0,
                                      .mask_group = VKA_MAX(logits->mask_group, 1)},
                .groups_x = vka_div_up(rows, wg),
                .groups_y = 1,
                .slices = batch * heads,
                .bindings = {{.tensor = scores, .access = VKA_READ_WRITE, .whole = false},
                             {.tensor = kv_len, .access = VKA_READ, .whole = true},
                             {.tensor = logits->sinks ? logits->sinks : kv_len, .access = VKA_READ, .whole = true},
                             logits->mask ? mask_binding(logits)
                                          : (vka_binding_desc){.tensor = dummy, .access = VKA_READ, .whole = true}},
            });
}

vka_result vka_lower_mask(vka_lowering *lw, uint32_t mask, const vka_mask_shape *s, vka_logit_options *o)
{
    o->mask = mask;
    if (!mask)
        return VKA_SUCCESS;
    if (s->mask_batch == s->batch) { /* per slice, or [B, 1]: a batch's heads share it (a slice divisor) */
        o->mask_group = s->mask_heads == s->heads ? 1 : s->heads;
        return VKA_SUCCESS;
    }
    if (s->mask_heads == 1) { /* [1, 1]: every slice's */
        o->mask_group = 0;
        return VKA_SUCCESS;
    }
    uint32_t repeated;
    vka_result r = vka_lower_intermediate(lw, "mask_repeated", vka_lower_dtype(lw, mask), 4,
                                          (uint32_t[]){s->batch, s->heads, s->nq, s->nk}, &repeated);
    for (uint32_t b = 0; !r && b < s->batch; b++)
        r = vka_lower_copy_rows(lw, &(vka_copy_desc){.src = mask,
                                                     .dst = repeated,
                                                     .slices = s->heads,
                                                     .count = s->nq * vka_div_up(s->nk, 4),
                                                     .dst_slice_offset = b * s->heads});
    o->mask = repeated;
    o->mask_group = 1;
    return r;
}
