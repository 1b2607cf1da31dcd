/* Small pieces every room uses: error reporting, alignment, growable arrays. */
#ifndef VKA_COMMON_H
#define VKA_COMMON_H

#include "vkattn.h"
#include "vkattn/continuous.h" /* the engine implements every public header */
#include "vkattn/io.h"
#include "vkattn/models.h"
#include "vkattn/ops.h"

#include "mutex.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>

/* Tensor sizes (shape.c): bytes per element, dense host bytes, elements, the dtype's name,
 * "[2, 8, 1024, 64]". */
uint32_t vka_dtype_bytes(vka_dtype dtype);
size_t vka_dense_bytes(vka_dtype dtype, uint32_t rank, const uint32_t *dims);
uint64_t vka_element_count(uint32_t rank, const uint32_t *dims);
const char *vka_dtype_name(vka_dtype dtype);
void vka_format_shape(char *buf, size_t size, uint32_t rank, const uint32_t *dims);

/* IEEE binary16 (half.c): exact widening; rounding to nearest even, overflow to infinity. */
float vka_half_to_float(uint16_t h);
uint16_t vka_float_to_half(float value);

#define VKA_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define VKA_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VKA_MAX(a, b) ((a) > (b) ? (a) : (b))

#if defined(__GNUC__)
#define VKA_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define VKA_PRINTF(f, a)
#endif

/* Where a failure's message goes: a context's buffer, or (ctx == NULL) this thread's. */
typedef struct vka_error_sink {
    char message[512];
    vka_mutex *lock; /* a context's: failures may come from several threads */
} vka_error_sink;

vka_error_sink *vka_context_error_sink(vka_context *ctx);

/* Formats the message into ctx's error (or the thread's, for ctx == NULL) and returns r,
 * so that `return vka_fail(ctx, VKA_ERROR_..., "...")` reads as one statement. */
vka_result vka_fail(vka_context *ctx, vka_result r, const char *fmt, ...) VKA_PRINTF(3, 4);
vka_result vka_failv(vka_context *ctx, vka_result r, const char *fmt, va_list ap);
void vka_clear_error(vka_context *ctx);
const char *vka_thread_error(void);

static inline uint64_t vka_align_up(uint64_t value, uint64_t alignment)
{
    return (value + alignment - 1) / alignment * alignment;
}

static inline uint32_t vka_div_up(uint32_t a, uint32_t b)
{
    return (a + b - 1) / b;
}

/* Grows *items (of item_size bytes each) so that it holds at least `needed`; returns
 * false when the host is out of memory (the old array is kept). */
bool vka_array_reserve(void **items, uint32_t *capacity, uint32_t needed, size_t item_size);

/* strdup that tolerates NULL (gives NULL) and reports failure through *ok. */
char *vka_strdup(const char *s);

double vka_now_ms(void);

/* Case-insensitive substring test. */
bool vka_contains_nocase(const char *haystack, const char *needle);

/* Host-computed constants kept across plans (host_cache.c): get copies `count` floats
 * stored under `key` into out and says whether they were there; put stores a copy (a
 * failure to allocate only means a later get misses). */
typedef struct vka_host_cache vka_host_cache;
vka_host_cache *vka_host_cache_create(void);
void vka_host_cache_destroy(vka_host_cache *cache);
bool vka_host_cache_get(vka_host_cache *cache, const char *key, float *out, size_t count);
void vka_host_cache_put(vka_host_cache *cache, const char *key, const float *data, size_t count);
/* The context's cache (device/context.c). */
vka_host_cache *vka_context_host_cache(vka_context *ctx);

#endif
