/* Plain-C reference implementations of every operation, accumulating in double.
 * The oracle for tests and for the benchmark's error column; nothing of Vulkan here,
 * and nothing shared with the kernels but the definitions in ../shared/spec/SCHEMES.md. */
#ifndef VKA_REF_H
#define VKA_REF_H

#include <stdbool.h>
#include <stdint.h>

/* Exact softmax attention, SCHEMES.md §1. q [B,H,Nq,D], k [B,H,Nk,D], v [B,H,Nk,Dv],
 * out [B,H,Nq,Dv]; kv_len [B] or NULL (all keys exist). */
typedef struct vka_ref_attention {
    uint32_t batch, heads, nq, nk, d, dv;
    const double *q, *k, *v;
    const int32_t *kv_len;
    double scale;
    bool causal;
    double *out;
} vka_ref_attention;

/* False only when host memory runs out. */
bool vka_ref_softmax_attention(const vka_ref_attention *a);

/* Keys j < the result are visible to query i (bottom-right causal alignment). */
uint32_t vka_ref_visible_keys(uint32_t i, uint32_t nq, uint32_t nk, int32_t kv_len, bool causal);

#endif
