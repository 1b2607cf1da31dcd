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

/* The buffer holding t as a copy's end: the arena, or the application's buffer, which the
 * engine reaches only by a copy on the device and only with the usage the copy needs. */
static vka_result copy_end(vka_plan *plan, const vka_plan_tensor *t, VkBufferUsageFlags usage, vka_buffer *out,
                           VkDeviceSize *offset)
{
    *out = (vka_buffer){.buffer = vka_plan_tensor_buffer(plan, t, offset), .size = t->bytes};
    if (t->bound_buffer && !(t->bound_usage & usage))
        return vka_fail(plan->ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "'%s' is bound to the application's buffer, created without %s: the engine cannot %s it "
                        "(do it in the application's own pass, or create the buffer with that usage)",
                        t->output_name ? t->output_name : t->name,
                        usage == VK_BUFFER_USAGE_TRANSFER_DST_BIT ? "VK_BUFFER_USAGE_TRANSFER_DST_BIT"
                                                                  : "VK_BUFFER_USAGE_TRANSFER_SRC_BIT",
                        usage == VK_BUFFER_USAGE_TRANSFER_DST_BIT ? "write" : "read");
    return VKA_SUCCESS;
}

static void count_transfer(vka_plan *plan, const vka_plan_tensor *t)
{
    plan->stats.host_transfers++;
    plan->stats.host_transfer_bytes += t->bytes;
}

vka_result vka_plan_upload(vka_plan *plan, const vka_plan_tensor *t, const void *dense, vka_dtype host_dtype)
{
    if (plan->arena.mapped && !t->bound_buffer) {
        count_transfer(plan, t);
        pad_rows(t, dense, host_dtype, (char *)plan->arena.mapped + t->offset);
        return VKA_SUCCESS;
    }
    vka_buffer to;
    VkDeviceSize offset;
    vka_result r = copy_end(plan, t, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &to, &offset);
    if (r == VKA_SUCCESS)
        r = ensure_staging(plan, t->bytes);
    if (r != VKA_SUCCESS)
        return r;
    pad_rows(t, dense, host_dtype, plan->staging.mapped);
    r = vka_buffer_copy(plan->ctx, &plan->staging, 0, &to, offset, t->bytes);
    if (r == VKA_SUCCESS)
        count_transfer(plan, t);
    return r;
}

vka_result vka_plan_download(vka_plan *plan, const vka_plan_tensor *t, void *dense, vka_dtype host_dtype)
{
    if (plan->arena.mapped && !t->bound_buffer) {
        count_transfer(plan, t);
        unpad_rows(t, (const char *)plan->arena.mapped + t->offset, dense, host_dtype);
        return VKA_SUCCESS;
    }
    vka_buffer from;
    VkDeviceSize offset;
    vka_result r = copy_end(plan, t, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, &from, &offset);
    if (r == VKA_SUCCESS)
        r = ensure_staging(plan, t->bytes);
    if (r == VKA_SUCCESS)
        r = vka_buffer_copy(plan->ctx, &from, offset, &plan->staging, 0, t->bytes);
    if (r == VKA_SUCCESS) {
        unpad_rows(t, plan->staging.mapped, dense, host_dtype);
        count_transfer(plan, t);
    }
    return r;
}
