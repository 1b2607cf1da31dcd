/* Decoding with a KV cache: kv_cache_positions.comp, kv_cache_advance.comp and
 * kv_cache_append.comp (the new rows into the caches), and the host's side of the lengths
 * (vka_lower_counter: an overflowing run is refused before it starts). */
#include "kv_cache.h"
#include "kernel_class.h"
#include "rows.h"

#include <stdio.h>
#include <stdlib.h>

static vka_result cache_state(vka_lowering *lw, const char *state, const char *part, vka_dtype dtype,
                              const uint32_t dims[4], uint32_t *out)
{
    char name[96];
    snprintf(name, sizeof name, "%s.%s", state, part);
    size_t bytes = vka_dense_bytes(dtype, 4, dims);
    void *zeros = calloc(1, bytes ? bytes : 1);
    if (!zeros)
        return vka_fail(vka_lower_context(lw), VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory lowering %s", name);
    vka_result r = vka_lower_state(lw, name, dtype, 4, dims, zeros, out);
    free(zeros);
    return r;
}

static vka_result positions_dispatch(vka_lowering *lw, const vka_kv_cache_desc *d, const vka_kv_cache *c)
{
    uint32_t wg = vka_class_workgroup_size(vka_lower_device(lw));
    return vka_lower_dispatch(
        lw, &(vka_dispatch_desc){
                .kernel = VKA_KERNEL_KV_CACHE_POSITIONS,
                .spec.kv_cache_positions = {.workgroup_size = wg, .ADDED_VEC4 = vka_div_up(d->batch, 4)},
                .push.kv_cache_positions = {.batch = d->batch, .capacity = d->capacity},
                .groups_x = vka_div_up(d->batch, wg),
                .groups_y = 1,
                .slices = 1,
                .bindings = {{.tensor = c->length, .access = VKA_READ, .whole = true},
                             {.tensor = c->total, .access = VKA_WRITE, .whole = true},
                             {.tensor = c->q_pos, .access = VKA_WRITE, .whole = true},
                             {.tensor = c->added, .access = VKA_READ, .whole = true}},
            });
}

static vka_result append_dispatch(vka_lowering *lw, const vka_kv_cache_desc *d, const vka_kv_cache *c, uint32_t src,
                                  uint32_t cache, uint32_t width)
{
    uint32_t wg = vka_class_workgroup_size(vka_lower_device(lw)), width4 = vka_div_up(width, 4);
    return vka_lower_dispatch(lw,
                              &(vka_dispatch_desc){
                                  .kernel = VKA_KERNEL_KV_CACHE_APPEND,
                                  .spec.kv_cache_append = {.workgroup_size = wg, .KV_VEC4 = vka_div_up(d->batch, 4)},
                                  .push.kv_cache_append = {.rows = d->tokens, .width = width4, .heads = d->kv_heads},
                                  .groups_x = vka_div_up(d->tokens * width4, wg),
                                  .groups_y = 1,
                                  .slices = d->batch * d->kv_heads,
                                  .bindings = {{.tensor = src, .access = VKA_READ, .whole = false},
                                               {.tensor = cache, .access = VKA_WRITE, .whole = false},
                                               {.tensor = c->q_pos, .access = VKA_READ, .whole = true},
                                               {.tensor = c->total, .access = VKA_READ, .whole = true}},
                              });
}

/* The table the lengths kernel adds: the input, or every token. */
static vka_result added_table(vka_lowering *lw, const vka_kv_cache_desc *d, uint32_t *out)
{
    *out = d->added;
    return d->added ? VKA_SUCCESS : vka_lower_key_counts(lw, "added", d->batch, d->tokens, out);
}

vka_result vka_lower_kv_cache_append(vka_lowering *lw, const vka_kv_cache_desc *d, vka_kv_cache *c)
{
    uint32_t k_dims[4] = {d->batch, d->kv_heads, d->capacity, d->d},
             v_dims[4] = {d->batch, d->kv_heads, d->capacity, d->dv};
    char name[96];
    snprintf(name, sizeof name, "%s.length", d->state);
    int32_t *zeros = calloc(d->batch, sizeof *zeros);
    if (!zeros)
        return vka_fail(vka_lower_context(lw), VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory lowering %s", name);
    vka_result r = vka_lower_state(lw, name, VKA_DTYPE_I32, 1, &d->batch, zeros, &c->length);
    free(zeros);
    if (r || (r = cache_state(lw, d->state, "k", vka_lower_dtype(lw, d->k), k_dims, &c->k)) ||
        (r = cache_state(lw, d->state, "v", vka_lower_dtype(lw, d->v), v_dims, &c->v)) ||
        (r = vka_lower_intermediate(lw, "total", VKA_DTYPE_I32, 1, &d->batch, &c->total)) ||
        (r = vka_lower_intermediate(lw, "q_pos", VKA_DTYPE_I32, 1, &d->batch, &c->q_pos)) ||
        (r = added_table(lw, d, &c->added)) ||
        (r = vka_lower_counter(lw, &(vka_counter_desc){.length = c->length,
                                                       .added = d->added,
                                                       .fixed = d->tokens,
                                                       .capacity = d->capacity,
                                                       .what = "KV cache"})) ||
        (r = positions_dispatch(lw, d, c)) || (r = append_dispatch(lw, d, c, d->k, c->k, d->d)))
        return r;
    return append_dispatch(lw, d, c, d->v, c->v, d->dv);
}

vka_result vka_lower_kv_cache_advance(vka_lowering *lw, const vka_kv_cache_desc *d, const vka_kv_cache *c)
{
    uint32_t wg = vka_class_workgroup_size(vka_lower_device(lw));
    return vka_lower_dispatch(lw, &(vka_dispatch_desc){
                                      .kernel = VKA_KERNEL_KV_CACHE_ADVANCE,
                                      .spec.kv_cache_advance = {.workgroup_size = wg},
                                      .push.kv_cache_advance = {.batch = d->batch},
                                      .groups_x = vka_div_up(d->batch, wg),
                                      .groups_y = 1,
                                      .slices = 1,
                                      .bindings = {{.tensor = c->length, .access = VKA_WRITE, .whole = true},
                                                   {.tensor = c->total, .access = VKA_READ, .whole = true}},
                                  });
}
