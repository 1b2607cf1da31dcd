#include "common.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static _Thread_local vka_error_sink thread_sink;

vka_result vka_failv(vka_context *ctx, vka_result r, const char *fmt, va_list ap)
{
    vka_error_sink *sink = ctx ? vka_context_error_sink(ctx) : &thread_sink;
    if (sink->lock)
        vka_mutex_lock(sink->lock);
    vsnprintf(sink->message, sizeof sink->message, fmt, ap);
    if (sink->lock)
        vka_mutex_unlock(sink->lock);
    return r;
}

vka_result vka_fail(vka_context *ctx, vka_result r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vka_failv(ctx, r, fmt, ap);
    va_end(ap);
    return r;
}

void vka_clear_error(vka_context *ctx)
{
    vka_error_sink *sink = ctx ? vka_context_error_sink(ctx) : &thread_sink;
    sink->message[0] = '\0';
}

const char *vka_thread_error(void)
{
    return thread_sink.message;
}

bool vka_array_reserve(void **items, uint32_t *capacity, uint32_t needed, size_t item_size)
{
    if (needed <= *capacity)
        return true;
    uint32_t grown = *capacity ? *capacity : 8;
    while (grown < needed)
        grown *= 2;
    void *bigger = realloc(*items, (size_t)grown * item_size);
    if (!bigger)
        return false;
    memset((char *)bigger + (size_t)*capacity * item_size, 0, (size_t)(grown - *capacity) * item_size);
    *items = bigger;
    *capacity = grown;
    return true;
}

char *vka_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

double vka_now_ms(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

bool vka_contains_nocase(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *h = haystack; *h; h++) {
        size_t i = 0;
        while (i < n && h[i] && tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return n == 0;
}

const char *vka_result_string(vka_result result)
{
    static const char *const names[VKA_RESULT_COUNT] = {
        [VKA_SUCCESS] = "success",
        [VKA_ERROR_INVALID_ARGUMENT] = "invalid argument",
        [VKA_ERROR_SHAPE_MISMATCH] = "shape mismatch",
        [VKA_ERROR_NOT_FOUND] = "not found",
        [VKA_ERROR_UNSUPPORTED] = "unsupported",
        [VKA_ERROR_LIMIT_EXCEEDED] = "device limit exceeded",
        [VKA_ERROR_NO_DEVICE] = "no device",
        [VKA_ERROR_OUT_OF_HOST_MEMORY] = "out of host memory",
        [VKA_ERROR_OUT_OF_DEVICE_MEMORY] = "out of device memory",
        [VKA_ERROR_DEVICE_LOST] = "device lost",
        [VKA_ERROR_VULKAN] = "Vulkan error",
        [VKA_ERROR_IO] = "I/O error",
        [VKA_ERROR_FILE_FORMAT] = "bad file format",
    };
    if ((unsigned)result >= VKA_RESULT_COUNT)
        return "unknown result";
    return names[result];
}
