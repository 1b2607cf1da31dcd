/* Lowering exact softmax attention to the flash kernels (flash_attn_cpu / _gpu, picked
 * by the device's kernel class): one dispatch, no Nq × Nk buffer; and the row softmax of
 * a materialised score matrix. */
#ifndef VKA_LOWERING_FLASH_H
#define VKA_LOWERING_FLASH_H

#include "graph/lower.h"

/* Block-sparse attention (sparse_layout.glsl): the layout and the element rule. */
typedef struct vka_flash_sparse {
    uint32_t layout; /* plan tensor: the block layout's words */
    uint32_t pattern, params[3];
    uint32_t layout_rows, sections, layout_blocks, max_ranges;
} vka_flash_sparse;

/* Causal masks: the kernels' VKA_CAUSAL_* (shaders/common.glsl). */
typedef enum vka_causal {
    VKA_CAUSAL_NONE = 0,
    VKA_CAUSAL_BOTTOM_RIGHT = 1, /* j <= i + (Nk − Nq): SCHEMES.md §1's causal=1 */
    VKA_CAUSAL_TOP_LEFT = 2,     /* j <= i: PyTorch's is_causal */
    VKA_CAUSAL_POSITIONS = 3,    /* j <= q_pos[b] + i, rows at or past kv_len[b] output 0 (decoding) */
} vka_causal;

/* SCHEMES.md §1's options on the scaled logits: a soft cap c·tanh(l / c) (0: none), an
 * additive mask (a plan tensor of [Nq, Nk] slices, 0: none: one per query slice with
 * mask_group 1, one per mask_group query slices (a batch's heads), or one for all with
 * mask_group 0), and a sink logit per head (an f32 [heads] plan tensor, 0: none) joining
 * each row's normaliser. */
typedef struct vka_logit_options {
    float softcap;
    uint32_t mask, mask_group;
    uint32_t sinks;
} vka_logit_options;

typedef struct vka_flash_desc {
    uint32_t q, k, v, out; /* plan tensors [batch, heads, tokens, features] */
    uint32_t kv_len;       /* int32 [batch]: keys that exist per batch (vka_lower_key_counts, rows.h) */
    uint32_t q_pos;        /* int32 [batch]: VKA_CAUSAL_POSITIONS' first query position; else 0 */
    uint32_t batch, heads, nq, nk, d, dv;
    uint32_t kv_heads; /* k and v's heads (grouped heads: a divisor of `heads`); 0: heads */
    uint32_t causal;   /* vka_causal (a bool's true is bottom-right) */
    float scale;
    const vka_flash_sparse *sparse; /* NULL: every visible key */
    vka_logit_options logits;
    /* Split-K (dense only): 0 lets the planner split the keys over parallel workgroups when
     * too few query tiles would fill the device (vka_flash_splits); 1 never; n: n ranges. */
    uint32_t split_k;
} vka_flash_desc;

/* The key ranges vka_lower_flash runs in parallel (1: no split) and the keys per range. */
uint32_t vka_flash_splits(const vka_device_info *dev, const vka_flash_desc *f, uint32_t *keys_per_split);

/* The query rows one invocation (CPU class) or workgroup (GPU class) of the kernel takes
 * for this problem: a block layout's rows must be a multiple of it. */
uint32_t vka_flash_query_rows(const vka_device_info *dev, const vka_flash_desc *f);

vka_result vka_lower_flash(vka_lowering *lw, const vka_flash_desc *f);

/* An additive mask [mask_batch (1 or batch), mask_heads (1 or heads), nq, nk] as the kernels
 * bind it (o->mask, o->mask_group): per slice, per batch (its heads share it: a slice
 * divisor), one for all, or — [1, heads] with batch > 1 — repeated per batch first.
 * mask 0: none. */
typedef struct vka_mask_shape {
    uint32_t batch, heads, nq, nk, mask_batch, mask_heads;
} vka_mask_shape;
vka_result vka_lower_mask(vka_lowering *lw, uint32_t mask, const vka_mask_shape *s, vka_logit_options *o);

/* The materialised counterpart's middle step: a row softmax of scores [batch, heads, rows,
 * cols] in place (softmax_rows.comp), keys past kv_len[b] (and, when causal, past the
 * bottom-right diagonal) given probability 0. */
vka_result vka_lower_row_softmax(vka_lowering *lw, uint32_t scores, uint32_t kv_len, uint32_t batch, uint32_t heads,
                                 uint32_t rows, uint32_t cols, uint32_t causal /* vka_causal but POSITIONS */,
                                 const vka_logit_options *logits /* NULL: none */);

#endif
