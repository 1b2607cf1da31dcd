/* Tensor sizes and their names in messages, for every room (see common.h). */
#include "common.h"

#include <stdio.h>

uint64_t vka_element_count(uint32_t rank, const uint32_t *dims)
{
    uint64_t n = 1;
    for (uint32_t i = 0; i < rank; i++) {
        if (dims[i] && n > UINT64_MAX / dims[i])
            return UINT64_MAX; /* saturates: four 32-bit axes can pass 2^64 */
        n *= dims[i];
    }
    return n;
}

uint32_t vka_dtype_bytes(vka_dtype dtype)
{
    return dtype == VKA_DTYPE_F16 ? 2 : 4;
}

size_t vka_dense_bytes(vka_dtype dtype, uint32_t rank, const uint32_t *dims)
{
    return (size_t)vka_element_count(rank, dims) * vka_dtype_bytes(dtype);
}

const char *vka_dtype_name(vka_dtype dtype)
{
    return dtype == VKA_DTYPE_I32 ? "int32" : dtype == VKA_DTYPE_F16 ? "float16" : "float32";
}

void vka_format_shape(char *buf, size_t size, uint32_t rank, const uint32_t *dims)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (uint32_t i = 0; i < rank && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%u", i ? ", " : "", dims[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}
