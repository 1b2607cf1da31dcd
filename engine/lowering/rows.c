#include "rows.h"

#include "common/random.h"

#include <stdlib.h>

vka_result vka_lower_copy_rows(vka_lowering *lw, const vka_copy_desc *c)
{
    if (c->count == 0)
        return VKA_SUCCESS;
    uint32_t wg = 64, rows = VKA_MAX(c->rows, 1);
    vka_dispatch_desc d = {
        .kernel = VKA_KERNEL_COPY_ROWS,
        .spec.copy_rows = {.workgroup_size = wg},
        .push.copy_rows = {.count = c->count,
                           .src_offset = c->src_offset,
                           .dst_offset = c->dst_offset,
                           .rows = rows,
                           .src_row_stride = c->src_row_stride,
                           .dst_row_stride = c->dst_row_stride,
                           .src_group = c->src_divisor},
        .groups_x = vka_div_up(c->count * rows, wg),
        .groups_y = 1,
        .slices = c->slices,
        .bindings = {{.tensor = c->src, .access = VKA_READ, .whole = false, .slice_divisor = c->src_divisor},
                     {.tensor = c->dst, .access = VKA_WRITE, .whole = false, .slice_offset = c->dst_slice_offset}},
    };
    return vka_lower_dispatch(lw, &d);
}

/* args: the number of values. */
static vka_result draw_gaussian(uint64_t seed, const uint32_t args[4], float *out)
{
    vka_random_gaussian(seed, args[0], 1.0, out);
    return VKA_SUCCESS;
}

vka_result vka_lower_gaussian_or(vka_lowering *lw, const char *name, uint32_t given, uint32_t rows, uint32_t cols,
                                 uint64_t seed, uint32_t *out)
{
    *out = given;
    if (given)
        return VKA_SUCCESS;
    return vka_lower_drawn_constant(lw, name, 2, (uint32_t[]){rows, cols}, draw_gaussian, (uint32_t[4]){rows * cols},
                                    seed, out);
}

vka_result vka_lower_key_counts(vka_lowering *lw, const char *name, uint32_t batch, uint32_t keys, uint32_t *out)
{
    int32_t *all = malloc(batch * sizeof *all);
    if (!all)
        return vka_fail(vka_lower_context(lw), VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory lowering %s", name);
    for (uint32_t b = 0; b < batch; b++)
        all[b] = (int32_t)keys;
    vka_result r = vka_lower_constant(lw, name, VKA_DTYPE_I32, 1, &batch, all, out);
    free(all);
    return r;
}
