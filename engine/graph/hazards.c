/* Barrier placement. A piece needs a barrier before it when it reads bytes an earlier
 * piece wrote (read after write), or writes bytes an earlier piece read or wrote (write
 * after read/write — tensors whose lifetimes do not overlap share arena bytes), counting
 * only accesses since the last barrier. The byte-range rule is ggml's; evaluated once,
 * at plan time. VKATTN_SYNC=full puts a barrier before every piece instead. */
#include "plan.h"

#include <stdlib.h>

typedef struct byte_range {
    uint64_t begin, end;
} byte_range;

typedef struct access_log {
    byte_range *reads, *writes;
    uint32_t read_count, write_count;
} access_log;

static bool overlaps_any(const byte_range *ranges, uint32_t n, byte_range r)
{
    for (uint32_t i = 0; i < n; i++)
        if (ranges[i].begin < r.end && r.begin < ranges[i].end)
            return true;
    return false;
}

static byte_range binding_range(const vka_plan *plan, const vka_plan_piece *piece, const vka_binding_desc *b)
{
    const vka_plan_tensor *t = &plan->tensors[b->tensor];
    if (b->whole)
        return (byte_range){t->offset, t->offset + t->bytes};
    uint64_t slice_bytes = (uint64_t)t->rows * t->row_elems * 4;
    uint32_t first, last;
    vka_binding_slices(piece, b, &first, &last);
    uint64_t begin = t->offset + (uint64_t)first * t->slice_stride * 4;
    uint64_t end = t->offset + (uint64_t)last * t->slice_stride * 4 + slice_bytes;
    return (byte_range){begin, end};
}

static bool has_hazard(const vka_plan *plan, const vka_plan_piece *piece, const access_log *log)
{
    const vka_dispatch_desc *d = &plan->dispatches[piece->dispatch].desc;
    for (uint32_t b = 0; b < VKA_MAX_BINDINGS && d->bindings[b].tensor; b++) {
        byte_range r = binding_range(plan, piece, &d->bindings[b]);
        if ((d->bindings[b].access & VKA_READ) && overlaps_any(log->writes, log->write_count, r))
            return true;
        if ((d->bindings[b].access & VKA_WRITE) &&
            (overlaps_any(log->writes, log->write_count, r) || overlaps_any(log->reads, log->read_count, r)))
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
            log->reads[log->read_count++] = r;
        if (d->bindings[b].access & VKA_WRITE)
            log->writes[log->write_count++] = r;
    }
}

void vka_plan_barriers(vka_plan *plan)
{
    size_t most = (size_t)(plan->piece_count ? plan->piece_count : 1) * VKA_MAX_BINDINGS;
    access_log log = {malloc(most * sizeof(byte_range)), malloc(most * sizeof(byte_range)), 0, 0};
    bool full = plan->ctx->desc.sync == VKA_SYNC_FULL || !log.reads || !log.writes;
    uint32_t barriers = 0;
    for (uint32_t i = 0; i < plan->piece_count; i++) {
        vka_plan_piece *piece = &plan->pieces[i];
        /* The first piece follows the command buffer's leading barrier. */
        piece->barrier_before = i > 0 && (full || has_hazard(plan, piece, &log));
        if (piece->barrier_before) {
            log.read_count = log.write_count = 0;
            barriers++;
        }
        if (!full)
            log_accesses(plan, piece, &log);
    }
    plan->stats.barrier_count = barriers;
    free(log.reads);
    free(log.writes);
}
