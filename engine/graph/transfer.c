#include "transfer.h"

#include <string.h>

/* One row of n elements from `from` to `to` element types: copied, widened from f16 or
 * rounded to f16. */
static void convert_row(void *dst, vka_dtype to, const void *src, vka_dtype from, uint32_t n)
{
    if (to == from)
        memcpy(dst, src, (size_t)n * vka_dtype_bytes(to));
    else if (from == VKA_DTYPE_F16)
        vka_f32_from_f16(src, dst, n);
    else
        vka_f16_from_f32(src, dst, n);
}

/* dense (rows of `last` elements in host_dtype) → padded (rows of row_elems in the
 * device's dtype, slices slice_stride apart). */
static void pad_rows(const vka_plan_tensor *t, const void *dense, vka_dtype host_dtype, void *padded)
{
    uint32_t last = t->dims[t->rank - 1], host_bytes = vka_dtype_bytes(host_dtype), bytes = vka_dtype_bytes(t->dtype);
    memset(padded, 0, t->bytes);
    if (!dense)
        return;
    for (uint32_t s = 0; s < t->slices; s++)
        for (uint32_t r = 0; r < t->rows; r++) {
            const char *src = (const char *)dense + ((size_t)s * t->rows + r) * last * host_bytes;
            char *dst = (char *)padded + (s * t->slice_stride + (uint64_t)r * t->row_elems) * bytes;
            convert_row(dst, t->dtype, src, host_dtype, last);
        }
}

static void unpad_rows(const vka_plan_tensor *t, const void *padded, void *dense, vka_dtype host_dtype)
{
    uint32_t last = t->dims[t->rank - 1], host_bytes = vka_dtype_bytes(host_dtype), bytes = vka_dtype_bytes(t->dtype);
    for (uint32_t s = 0; s < t->slices; s++)
        for (uint32_t r = 0; r < t->rows; r++) {
            const char *src = (const char *)padded + (s * t->slice_stride + (uint64_t)r * t->row_elems) * bytes;
            convert_row((char *)dense + ((size_t)s * t->rows + r) * last * host_bytes, host_dtype, src, t->dtype, last);
        }
}

static vka_result ensure_staging(vka_plan *plan, uint64_t bytes)
{
    if (plan->staging.buffer && plan->staging.size >= bytes)
        return VKA_SUCCESS;
    vka_buffer_destroy(plan->ctx, &plan->staging);
    return vka_staging_create(plan->ctx, bytes, &plan->staging);
}

vka_result vka_plan_upload(vka_plan *plan, const vka_plan_tensor *t, const void *dense, vka_dtype host_dtype)
{
    if (plan->arena.mapped) {
        pad_rows(t, dense, host_dtype, (char *)plan->arena.mapped + t->offset);
        return VKA_SUCCESS;
    }
    vka_result r = ensure_staging(plan, t->bytes);
    if (r != VKA_SUCCESS)
        return r;
    pad_rows(t, dense, host_dtype, plan->staging.mapped);
    return vka_buffer_copy(plan->ctx, &plan->staging, 0, &plan->arena, t->offset, t->bytes);
}

vka_result vka_plan_download(vka_plan *plan, const vka_plan_tensor *t, void *dense, vka_dtype host_dtype)
{
    if (plan->arena.mapped) {
        unpad_rows(t, (const char *)plan->arena.mapped + t->offset, dense, host_dtype);
        return VKA_SUCCESS;
    }
    vka_result r = ensure_staging(plan, t->bytes);
    if (r == VKA_SUCCESS)
        r = vka_buffer_copy(plan->ctx, &plan->arena, t->offset, &plan->staging, 0, t->bytes);
    if (r == VKA_SUCCESS)
        unpad_rows(t, plan->staging.mapped, dense, host_dtype);
    return r;
}
