/* Barrier placement. A piece needs a barrier before it when it reads bytes an earlier
 * piece wrote (read after write), or writes bytes an earlier piece read or wrote (write
 * after read/write — tensors whose lifetimes do not overlap share arena bytes), counting
 * only accesses since the last barrier. The byte-range rule is ggml's; evaluated once,
 * at plan time. VKATTN_SYNC=full puts a barrier before every piece instead. */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

typedef struct byte_range {
    uint64_t begin, end;
} byte_range;

/* The bytes accessed since the last barrier, as a sorted list of disjoint ranges (touching
 * ones merged: a non-empty range overlaps the union exactly when it overlaps a member).
 * Lookups are binary searches, so thousands of independent pieces (a broadcast over a
 * large batch) plan in O(n log n) rather than comparing each with all before it. */
typedef struct range_set {
    byte_range *items;
    uint32_t count;
} range_set;

typedef struct access_log {
    range_set reads, writes;
} access_log;

/* The first member ending at or after x (count if none). */
static uint32_t first_ending_from(const range_set *s, uint64_t x)
{
    uint32_t lo = 0, hi = s->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->items[mid].end < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool overlaps_any(const range_set *s, byte_range r)
{
    if (r.begin >= r.end)
        return false;
    uint32_t i = first_ending_from(s, r.begin + 1); /* end > r.begin */
    return i < s->count && s->items[i].begin < r.end;
}

static void add_range(range_set *s, byte_range r)
{
    if (r.begin >= r.end)
        return;
    uint32_t i = first_ending_from(s, r.begin), j = i;
    for (; j < s->count && s->items[j].begin <= r.end; j++) { /* overlapping or touching: merge */
        r.begin = VKA_MIN(r.begin, s->items[j].begin);
        r.end = VKA_MAX(r.end, s->items[j].end);
    }
    memmove(s->items + i + 1, s->items + j, (s->count - j) * sizeof *s->items);
    s->count = s->count - (j - i) + 1;
    s->items[i] = r;
}

static byte_range binding_range(const vka_plan *plan, const vka_plan_piece *piece, const vka_binding_desc *b)
{
    const vka_plan_tensor *t = &plan->tensors[b->tensor];
    if (b->whole)
        return (byte_range){t->offset, t->offset + t->bytes};
    uint64_t slice_bytes = vka_plan_slice_bytes(t), stride = vka_plan_slice_stride_bytes(t);
    uint32_t first, last;
    vka_binding_slices(piece, b, &first, &last);
    uint64_t begin = t->offset + (uint64_t)first * stride;
    uint64_t end = t->offset + (uint64_t)last * stride + slice_bytes;
    return (byte_range){begin, end};
}

static bool has_hazard(const vka_plan *plan, const vka_plan_piece *piece, const access_log *log)
{
    const vka_dispatch_desc *d = &plan->dispatches[piece->dispatch].desc;
    for (uint32_t b = 0; b < VKA_MAX_BINDINGS && d->bindings[b].tensor; b++) {
        byte_range r = binding_range(plan, piece, &d->bindings[b]);
        if ((d->bindings[b].access & VKA_READ) && overlaps_any(&log->writes, r))
            return true;
        if ((d->bindings[b].access & VKA_WRITE) && (overlaps_any(&log->writes, r) || overlaps_any(&log->reads, r)))
            return true;
    }
    return false;
}

static void log_accesses(const vka_plan *plan, const vka_plan_piece *piece, access_log *log)
{
    const vka_dispatch_desc *d = &plan->dispatches[piece->dispatch].desc;
    for (uint32_t b = 0; b < VKA_MAX_BINDINGS && d->bindings[b].tensor; b++) {
        byte_range r = binding_range(plan, piece, &d->bindings[b]);
        if (d->bindings[b].access & VKA_READ)
            add_range(&log->reads, r);
        if (d->bindings[b].access & VKA_WRITE)
            add_range(&log->writes, r);
    }
}

void vka_plan_barriers(vka_plan *plan)
{
    size_t most = (size_t)(plan->piece_count ? plan->piece_count : 1) * VKA_MAX_BINDINGS;
    access_log log = {{malloc(most * sizeof(byte_range)), 0}, {malloc(most * sizeof(byte_range)), 0}};
    bool full = plan->ctx->desc.sync == VKA_SYNC_FULL || !log.reads.items || !log.writes.items;
    uint32_t barriers = 0;
    for (uint32_t i = 0; i < plan->piece_count; i++) {
        vka_plan_piece *piece = &plan->pieces[i];
        /* The first piece follows the command buffer's leading barrier. */
        piece->barrier_before = i > 0 && (full || has_hazard(plan, piece, &log));
        if (piece->barrier_before) {
            log.reads.count = log.writes.count = 0;
            barriers++;
        }
        if (!full)
            log_accesses(plan, piece, &log);
    }
    plan->stats.barrier_count = barriers;
    free(log.reads.items);
    free(log.writes.items);
}
