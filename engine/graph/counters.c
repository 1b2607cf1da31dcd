/* The host's side of a fill level (vka_lower_counter): a KV cache's lengths followed on the
 * host, so that vka_plan_run can refuse an overflowing run before anything runs, without
 * reading the device back on every step. The device's kernels keep the cache safe by
 * themselves (a recorded run that would overflow adds nothing); this gives the error. */
#include "plan.h"
#include "transfer.h"

#include <stdlib.h>
#include <string.h>

static int32_t added_at(const vka_plan_counter *c, uint32_t b)
{
    return c->desc.added ? c->added[b] : (int32_t)c->desc.fixed;
}

vka_result vka_plan_counters_check(vka_plan *plan)
{
    for (uint32_t i = 0; i < plan->counter_count; i++) {
        vka_plan_counter *c = &plan->counters[i];
        if (!c->known) { /* recorded into the application's command buffers since: ask the device */
            vka_result r = vka_plan_download(plan, &plan->tensors[c->desc.length], c->length, VKA_DTYPE_I32);
            if (r != VKA_SUCCESS)
                return r;
            c->known = true;
        }
        for (uint32_t b = 0; b < c->batch; b++) {
            int64_t after = (int64_t)c->length[b] + added_at(c, b);
            if (after > c->desc.capacity)
                return vka_fail(plan->ctx, VKA_ERROR_LIMIT_EXCEEDED,
                                "%s: batch %u's %s holds %d of its %u positions and this run adds %d; nothing ran "
                                "(reset the states, or plan a larger capacity)",
                                c->op, b, c->desc.what, c->length[b], c->desc.capacity, added_at(c, b));
        }
    }
    return VKA_SUCCESS;
}

void vka_plan_counters_advance(vka_plan *plan)
{
    for (uint32_t i = 0; i < plan->counter_count; i++)
        for (uint32_t b = 0; b < plan->counters[i].batch; b++)
            plan->counters[i].length[b] += added_at(&plan->counters[i], b);
}

void vka_plan_counters_reset(vka_plan *plan)
{
    for (uint32_t i = 0; i < plan->counter_count; i++) { /* lengths start at 0 */
        memset(plan->counters[i].length, 0, plan->counters[i].batch * sizeof(int32_t));
        plan->counters[i].known = true;
    }
}

void vka_plan_counters_forget(vka_plan *plan)
{
    for (uint32_t i = 0; i < plan->counter_count; i++)
        plan->counters[i].known = false;
}

void vka_plan_counters_written(vka_plan *plan, const vka_plan_tensor *t, const void *data)
{
    uint32_t id = (uint32_t)(t - plan->tensors);
    for (uint32_t i = 0; i < plan->counter_count; i++) {
        vka_plan_counter *c = &plan->counters[i];
        if (id == c->desc.length) {
            memcpy(c->length, data, c->batch * sizeof(int32_t));
            c->known = true;
        } else if (id == c->desc.added) {
            memcpy(c->added, data, c->batch * sizeof(int32_t));
        }
    }
}

void vka_plan_counters_free(vka_plan *plan)
{
    for (uint32_t i = 0; i < plan->counter_count; i++) {
        free(plan->counters[i].length);
        free(plan->counters[i].added);
    }
    free(plan->counters);
}
