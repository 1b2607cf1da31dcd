/* Host-computed constants kept by the context across plans, keyed by a string that names
 * everything they depend on (e.g. the ∞-former's ridge matrix per length, basis and λ):
 * planning the same shape twice computes them once. A small table, oldest out first. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

enum { HOST_CACHE_ENTRIES = 16 };

struct vka_host_cache {
    vka_mutex lock; /* plans may be created from several threads */
    struct {
        char *key;
        float *data;
        size_t count;
    } entries[HOST_CACHE_ENTRIES];
    uint32_t next; /* the slot the next insertion takes */
};

vka_host_cache *vka_host_cache_create(void)
{
    vka_host_cache *cache = calloc(1, sizeof *cache);
    if (cache && !vka_mutex_init(&cache->lock, false)) {
        free(cache);
        cache = NULL;
    }
    return cache;
}

void vka_host_cache_destroy(vka_host_cache *cache)
{
    if (!cache)
        return;
    for (uint32_t i = 0; i < HOST_CACHE_ENTRIES; i++) {
        free(cache->entries[i].key);
        free(cache->entries[i].data);
    }
    vka_mutex_destroy(&cache->lock);
    free(cache);
}

bool vka_host_cache_get(vka_host_cache *cache, const char *key, float *out, size_t count)
{
    bool found = false;
    if (!cache)
        return false;
    vka_mutex_lock(&cache->lock);
    for (uint32_t i = 0; i < HOST_CACHE_ENTRIES && !found; i++)
        if (cache->entries[i].key && cache->entries[i].count == count && strcmp(cache->entries[i].key, key) == 0) {
            memcpy(out, cache->entries[i].data, count * sizeof *out);
            found = true;
        }
    vka_mutex_unlock(&cache->lock);
    return found;
}

void vka_host_cache_put(vka_host_cache *cache, const char *key, const float *data, size_t count)
{
    if (!cache)
        return;
    char *key_copy = vka_strdup(key);
    float *copy = malloc(count * sizeof *copy);
    if (!key_copy || !copy) { /* a cache that cannot grow just forgets */
        free(key_copy);
        free(copy);
        return;
    }
    memcpy(copy, data, count * sizeof *copy);
    vka_mutex_lock(&cache->lock);
    uint32_t slot = cache->next;
    cache->next = (slot + 1) % HOST_CACHE_ENTRIES;
    free(cache->entries[slot].key);
    free(cache->entries[slot].data);
    cache->entries[slot].key = key_copy;
    cache->entries[slot].data = copy;
    cache->entries[slot].count = count;
    vka_mutex_unlock(&cache->lock);
}
