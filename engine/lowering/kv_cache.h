/* Decoding with a KV cache (SCHEMES.md §10): persistent key and value caches
 * [batch, kv heads, capacity, features] and their per-batch lengths, which each run
 * appends its new tokens to; attention then reads the caches with the run's queries at
 * their positions (VKA_CAUSAL_POSITIONS, flash.h), and the lengths advance last. */
#ifndef VKA_LOWERING_KV_CACHE_H
#define VKA_LOWERING_KV_CACHE_H

#include "graph/lower.h"

typedef struct vka_kv_cache_desc {
    const char *state; /* the caches are "<state>.k", "<state>.v", the lengths "<state>.length" */
    uint32_t k, v;     /* the run's new keys and values [batch, kv_heads, tokens, d | dv] */
    uint32_t added;    /* int32 [batch] input: new tokens per batch (0: all `tokens`) */
    uint32_t batch, kv_heads, tokens, d, dv, capacity;
} vka_kv_cache_desc;

typedef struct vka_kv_cache {
    uint32_t k, v;   /* the caches (states, in k's and v's element types) */
    uint32_t length; /* int32 [batch] state: tokens held */
    uint32_t total;  /* int32 [batch]: tokens held after this run: the keys attention sees */
    uint32_t q_pos;  /* int32 [batch]: the run's first query's position */
    uint32_t added;  /* int32 [batch]: the new tokens per batch (the input or a table) */
} vka_kv_cache;

/* The caches and the run's first half: positions computed, new tokens appended. */
vka_result vka_lower_kv_cache_append(vka_lowering *lw, const vka_kv_cache_desc *desc, vka_kv_cache *out);
/* The run's last step: the lengths advance (after every dispatch that reads them). */
vka_result vka_lower_kv_cache_advance(vka_lowering *lw, const vka_kv_cache_desc *desc, const vka_kv_cache *cache);

#endif
