/* The counting sort's three dispatches (shaders/bucket_sort.comp): block histograms, their
 * prefix per segment, the scatter. */
#include "sort.h"

#include "common/common.h"

enum { SORT_BLOCK = 128, SORT_WORKGROUP = 64, MAX_WINDOW_BINS = 2048 };

uint32_t vka_sort_blocks(uint32_t n)
{
    return vka_div_up(n, SORT_BLOCK);
}

vka_result vka_lower_bucket_sort(vka_lowering *lw, const vka_sort_desc *s, uint32_t *starts)
{
    uint32_t blocks = vka_sort_blocks(s->n), counts, dummy;
    vka_result r = vka_lower_intermediate(lw, "sort_counts", VKA_DTYPE_I32, 4,
                                          (uint32_t[]){s->batch, s->heads, s->segments, s->bins * blocks}, &counts);
    if (!r)
        r = vka_lower_dummy(lw, &dummy);
    for (uint32_t pass = 0; !r && pass < 3; pass++)
        r = vka_lower_dispatch(
            lw, &(vka_dispatch_desc){
                    .kernel = VKA_KERNEL_BUCKET_SORT,
                    .spec.bucket_sort = {.workgroup_size = SORT_WORKGROUP,
                                         .PASS = pass,
                                         .BLOCK = SORT_BLOCK,
                                         .BINS = VKA_MIN(s->bins, (uint32_t)MAX_WINDOW_BINS)},
                    .push.bucket_sort = {.n = s->n,
                                         .bins = s->bins,
                                         .blocks = blocks,
                                         .key_stride = s->key_stride ? s->key_stride : 1,
                                         .key_offset = s->key_offset},
                    .groups_x = pass == 1 ? 1 : blocks,
                    .groups_y = s->segments,
                    .slices = s->batch * s->heads,
                    .bindings = {{.tensor = pass == 1 ? dummy : s->keys, .access = VKA_READ, .whole = pass == 1},
                                 {.tensor = counts,
                                  .access = pass == 0 ? VKA_WRITE : (pass == 1 ? VKA_READ_WRITE : VKA_READ)},
                                 {.tensor = pass == 2 ? s->order : dummy, .access = VKA_WRITE, .whole = pass != 2}},
                });
    if (!r && starts)
        *starts = counts;
    return r;
}
