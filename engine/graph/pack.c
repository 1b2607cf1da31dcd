/* Arena packing: every tensor gets an offset such that two tensors alive at the same
 * time never share bytes. Largest first, each at the lowest-placed gap among the
 * tensors it overlaps in time that fits it (best fit), as ggml-alloc does with its
 * free lists. Pure C; no Vulkan. */
#include "plan.h"

#include <stdlib.h>

typedef struct placed {
    uint64_t begin, end;
} placed;

static int by_size_desc(const void *a, const void *b, void *items)
{
    const vka_pack_item *it = items;
    const vka_pack_item *x = &it[*(const uint32_t *)a], *y = &it[*(const uint32_t *)b];
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static int by_begin(const void *a, const void *b)
{
    const placed *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* qsort has no context argument in C11: a tiny insertion sort keeps this pure. */
static void sort_indices(uint32_t *order, uint32_t n, vka_pack_item *items)
{
    for (uint32_t i = 1; i < n; i++) {
        uint32_t v = order[i];
        uint32_t j = i;
        while (j > 0 && by_size_desc(&order[j - 1], &v, items) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
}

static bool overlaps_in_time(const vka_pack_item *a, const vka_pack_item *b)
{
    return a->first <= b->last && b->first <= a->last;
}

/* The best-fitting aligned offset for `bytes` among the busy ranges (sorted). */
static uint64_t best_fit(const placed *busy, uint32_t n, uint64_t bytes, uint64_t alignment)
{
    uint64_t best = 0, best_gap = 0, cursor = 0;
    bool found = false;
    for (uint32_t i = 0; i <= n; i++) {
        uint64_t start = vka_align_up(cursor, alignment);
        uint64_t gap_end = i < n ? busy[i].begin : UINT64_MAX;
        if (gap_end >= start && gap_end - start >= bytes) {
            uint64_t gap = gap_end - start;
            if (!found || gap < best_gap) {
                found = true;
                best_gap = gap;
                best = start;
            }
        }
        if (i < n && busy[i].end > cursor)
            cursor = busy[i].end;
    }
    return best;
}

vka_result vka_pack(vka_pack_item *items, uint32_t count, uint64_t alignment, uint64_t *arena_bytes)
{
    uint32_t *order = malloc((count ? count : 1) * sizeof *order);
    placed *busy = malloc((count ? count : 1) * sizeof *busy);
    bool *done = calloc(count ? count : 1, sizeof *done);
    if (!order || !busy || !done) {
        free(order);
        free(busy);
        free(done);
        return VKA_ERROR_OUT_OF_HOST_MEMORY;
    }
    for (uint32_t i = 0; i < count; i++)
        order[i] = i;
    sort_indices(order, count, items);
    uint64_t top = 0;
    for (uint32_t k = 0; k < count; k++) {
        vka_pack_item *item = &items[order[k]];
        uint32_t n = 0;
        for (uint32_t j = 0; j < count; j++)
            if (done[j] && overlaps_in_time(&items[j], item))
                busy[n++] = (placed){items[j].offset, items[j].offset + items[j].bytes};
        qsort(busy, n, sizeof *busy, by_begin);
        item->offset = best_fit(busy, n, item->bytes, alignment);
        done[order[k]] = true;
        if (item->offset + item->bytes > top)
            top = item->offset + item->bytes;
    }
    *arena_bytes = top;
    free(order);
    free(busy);
    free(done);
    return VKA_SUCCESS;
}
