/* Grouping tokens by a small integer key on the device (bucket_sort.comp): a stable
 * counting sort — LSH buckets per round, queries by cluster. */
#ifndef VKA_LOWERING_SORT_H
#define VKA_LOWERING_SORT_H

#include "graph/lower.h"

/* Per slice, `segments` sequences of n int32 keys in [0, bins), key i of a segment at int
 * (segment·n + i)·key_stride + key_offset of the slice (key_stride 0: 1). Writes `order`
 * (int32, n per segment): the positions sorted by (key, position). `starts`, if not NULL,
 * gets the counts tensor, int32 [slices, segments, bins·blocks]: after the sort, where each
 * (bin, block) begins; bin b's run starts at int b·blocks of its segment (blocks below). */
typedef struct vka_sort_desc {
    uint32_t keys, order;
    uint32_t batch, heads; /* the slices */
    uint32_t segments, n, bins;
    uint32_t key_stride, key_offset;
} vka_sort_desc;

/* Blocks of positions the sort counts separately (bin b of a segment starts at its
 * counts' int b·blocks). */
uint32_t vka_sort_blocks(uint32_t n);

vka_result vka_lower_bucket_sort(vka_lowering *lw, const vka_sort_desc *s, uint32_t *starts);

#endif
