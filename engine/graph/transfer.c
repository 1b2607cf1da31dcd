#include "transfer.h"

#include <string.h>

/* dense (rows of `last` elements) → padded (rows of row_elems, slices slice_stride apart). */
static void pad_rows(const vka_plan_tensor *t, const void *dense, void *padded)
{
    uint32_t last = t->dims[t->rank - 1];
    size_t row_bytes = (size_t)last * 4;
    memset(padded, 0, t->bytes);
    if (!dense)
        return;
    for (uint32_t s = 0; s < t->slices; s++)
        for (uint32_t r = 0; r < t->rows; r++) {
            const char *src = (const char *)dense + ((size_t)s * t->rows + r) * row_bytes;
            char *dst = (char *)padded + (s * t->slice_stride + (uint64_t)r * t->row_elems) * 4;
            memcpy(dst, src, row_bytes);
        }
}

static void unpad_rows(const vka_plan_tensor *t, const void *padded, void *dense)
{
    uint32_t last = t->dims[t->rank - 1];
    size_t row_bytes = (size_t)last * 4;
    for (uint32_t s = 0; s < t->slices; s++)
        for (uint32_t r = 0; r < t->rows; r++) {
            const char *src = (const char *)padded + (s * t->slice_stride + (uint64_t)r * t->row_elems) * 4;
            memcpy((char *)dense + ((size_t)s * t->rows + r) * row_bytes, src, row_bytes);
        }
}

static vka_result ensure_staging(vka_plan *plan, uint64_t bytes)
{
    if (plan->staging.buffer && plan->staging.size >= bytes)
        return VKA_SUCCESS;
    vka_buffer_destroy(plan->ctx, &plan->staging);
    return vka_staging_create(plan->ctx, bytes, &plan->staging);
}

vka_result vka_plan_upload(vka_plan *plan, const vka_plan_tensor *t, const void *dense)
{
    if (plan->arena.mapped) {
        pad_rows(t, dense, (char *)plan->arena.mapped + t->offset);
        return VKA_SUCCESS;
    }
    vka_result r = ensure_staging(plan, t->bytes);
    if (r != VKA_SUCCESS)
        return r;
    pad_rows(t, dense, plan->staging.mapped);
    return vka_buffer_copy(plan->ctx, &plan->staging, 0, &plan->arena, t->offset, t->bytes);
}

vka_result vka_plan_download(vka_plan *plan, const vka_plan_tensor *t, void *dense)
{
    if (plan->arena.mapped) {
        unpad_rows(t, (const char *)plan->arena.mapped + t->offset, dense);
        return VKA_SUCCESS;
    }
    vka_result r = ensure_staging(plan, t->bytes);
    if (r == VKA_SUCCESS)
        r = vka_buffer_copy(plan->ctx, &plan->arena, t->offset, &plan->staging, 0, t->bytes);
    if (r == VKA_SUCCESS)
        unpad_rows(t, plan->staging.mapped, dense);
    return r;
}
