/* Sparse patterns, SCHEMES.md §7: exact softmax attention restricted to a pattern, run by
 * the flash kernels over a block layout (shaders/sparse_layout.glsl) built here once per
 * plan: for each block of query rows, the key ranges to visit; ranges that hold keys only
 * some of the block's rows may see are masked, and the kernel asks the pattern per
 * (row, key) there. The queries are the last Nq of the Nk positions (Nq = Nk: the whole
 * sequence; fewer: its end, as in decoding — or with causal_align=top_left its first Nq,
 * PyTorch's alignment); kv_len and, for `local` and `longformer`, `causal` apply on top.
 *
 *   local       window=w each side
 *   longformer  window=w, global=g: the first g tokens see every key and are seen by all
 *   bigbird     block=b (64): own and neighbouring blocks, the first and last block (whose
 *               queries see every key), random=r (3) more blocks per query block from seed
 *   strided     stride=s: j ≤ i and ((i − j) < s or s | (i − j))
 *   fixed       stride=s, summary=c (1): own block of s, the last c of each earlier block; causal
 *   blockwise   blocks=n: head h's block t sees block (t + h) mod n
 *   blocksparse a given layout [1 or H, ⌈N/b⌉, ⌈N/b⌉] (int32, non-zero: query block sees key
 *               block) of block=b (64); a graph constant: it is built into the plan
 *
 * The layout is a uniform buffer of at most 16 KiB; its blocks of rows grow (a multiple of
 * the kernel's rows) until it fits. */
#include "lowering/flash.h"
#include "graph/op.h"
#include "graph/params.h"
#include "common/random.h"
#include "lowering/rows.h"
#include "lowering/shapes.h"

#include "graph/lower.h"
#include "ref/ref.h"

#include <stdlib.h>
#include <string.h>

enum { ROLE_Q, ROLE_K, ROLE_V, ROLE_KV_LEN, ROLE_SINKS, ROLE_MASK, ROLE_LAYOUT };

enum { LAYOUT_WORDS = 4096 }; /* the kernels' declared uniform block: 16 KiB */

static const vka_input_info roles[] = {
    VKA_IN_Q, VKA_IN_K_GROUPED, VKA_IN_V_GROUPED, VKA_IN_KV_LEN, VKA_IN_SINKS, VKA_IN_MASK, {0}};
static const vka_input_info blocksparse_roles[] = {
    VKA_IN_Q,
    VKA_IN_K_GROUPED,
    VKA_IN_V_GROUPED,
    VKA_IN_KV_LEN,
    VKA_IN_SINKS,
    VKA_IN_MASK,
    {.role = "layout",
     .kind = VKA_INPUT_INDICES,
     .dtypes = VKA_DTYPE_BIT(VKA_DTYPE_I32),
     .shape = "1,Nk/b=64,Nk/b",
     .summary = "non-zero where a query block visits a key block (1 or H layouts)",
     .constant = true},
    {0},
};
#define WINDOW                                                                                                         \
    {                                                                                                                  \
        "window", VKA_PARAM_INT, "keys each side a query sees", NULL, NULL, 0, 1u << 24, NULL                          \
    }
#define STRIDE(what)                                                                                                   \
    {                                                                                                                  \
        "stride", VKA_PARAM_INT, what, NULL, NULL, 1, 1u << 24, NULL                                                   \
    }
#define BLOCK                                                                                                          \
    {                                                                                                                  \
        "block", VKA_PARAM_INT, "tokens per block", "64", NULL, 1, 1u << 16, NULL                                      \
    }
static const char *const aligns[] = {"bottom_right", "top_left", NULL};
/* Where the queries sit among the keys' positions: the last Nq (decoding's end of a
 * sequence) or the first Nq (PyTorch's is_causal alignment). */
#define CAUSAL_ALIGN                                                                                                   \
    {                                                                                                                  \
        "causal_align", VKA_PARAM_ENUM,                                                                                \
            "the queries are the last Nq positions (bottom_right: query i at i + Nk − Nq) or the first (top_left)",    \
            "bottom_right", .choices = aligns                                                                          \
    }
static const vka_param_info local_params[] = {WINDOW,          VKA_PARAM_CAUSAL,  CAUSAL_ALIGN,
                                              VKA_PARAM_SCALE, VKA_PARAM_SOFTCAP, {0}};
static const vka_param_info longformer_params[] = {
    WINDOW,
    {"global", VKA_PARAM_INT, "the first tokens, which see and are seen by all", "1", NULL, 0, 1u << 24, NULL},
    VKA_PARAM_CAUSAL,
    CAUSAL_ALIGN,
    VKA_PARAM_SCALE,
    VKA_PARAM_SOFTCAP,
    {0},
};
static const vka_param_info bigbird_params[] = {
    BLOCK,
    {"random", VKA_PARAM_INT, "random key blocks per query block", "3", NULL, 0, 1u << 16, NULL},
    VKA_PARAM_SEED("draws the random blocks"),
    CAUSAL_ALIGN,
    VKA_PARAM_SCALE,
    VKA_PARAM_SOFTCAP,
    {0},
};
static const vka_param_info strided_params[] = {STRIDE("a query sees the last stride keys and every stride-th"),
                                                CAUSAL_ALIGN,
                                                VKA_PARAM_SCALE,
                                                VKA_PARAM_SOFTCAP,
                                                {0}};
static const vka_param_info fixed_params[] = {
    STRIDE("block length"),
    {"summary", VKA_PARAM_INT, "the last tokens of each earlier block every query sees", "1", NULL, 1, 1u << 24, NULL},
    CAUSAL_ALIGN,
    VKA_PARAM_SCALE,
    VKA_PARAM_SOFTCAP,
    {0},
};
static const vka_param_info blockwise_params[] = {
    {"blocks", VKA_PARAM_INT, "blocks; head h's block t sees block (t + h) mod blocks", NULL, NULL, 1, 1u << 24, NULL},
    CAUSAL_ALIGN,
    VKA_PARAM_SCALE,
    VKA_PARAM_SOFTCAP,
    {0},
};
static const vka_param_info blocksparse_params[] = {BLOCK, CAUSAL_ALIGN, VKA_PARAM_SCALE, VKA_PARAM_SOFTCAP, {0}};

/* The required parameters at the values a benchmark poses them with. */
static const vka_op_param local_examples[] = {{"window", "128"}, {0}};
static const vka_op_param longformer_examples[] = {{"window", "128"}, {"global", "16"}, {0}};
static const vka_op_param strided_examples[] = {{"stride", "128"}, {0}};
static const vka_op_param fixed_examples[] = {{"stride", "128"}, {0}};
static const vka_op_param blockwise_examples[] = {{"blocks", "16"}, {0}};
#define bigbird_examples NULL
#define blocksparse_examples NULL

typedef struct sparse_params {
    vka_ref_pattern pattern;
    uint32_t batch, heads, nq, n, d, dv; /* n: keys; query i sits at position i + offset: */
    uint32_t offset;                     /* n − nq (bottom_right, the default) or 0 (top_left) */
    uint32_t kv_heads;                   /* k and v's (grouped heads) */
    bool causal, top_left;
    uint32_t mask_batch, mask_heads; /* the mask's leading dims (1 or B, 1 or H), 0 without one */
    float scale, softcap;
    vka_ref_pattern_params rule;
} sparse_params;

/* ------------------------------------------------------------------ build */

static const vka_axis_rule axis_rules[] = {
    {ROLE_K, 0, "batch", ROLE_Q, 0},  {ROLE_V, 0, "batch", ROLE_Q, 0},      {ROLE_K, 3, "head dim", ROLE_Q, 3},
    {ROLE_V, 2, "tokens", ROLE_K, 2}, {ROLE_KV_LEN, 0, "batch", ROLE_Q, 0},
};

static vka_result parse_pattern(vka_op_build *b, sparse_params *p)
{
    vka_ref_pattern_params *rule = &p->rule;
    vka_result r = VKA_SUCCESS;
    switch (p->pattern) {
    case VKA_REF_PATTERN_LOCAL: r = vka_param_int(b->params, "window", &rule->window); break;
    case VKA_REF_PATTERN_LONGFORMER:
        if ((r = vka_param_int(b->params, "window", &rule->window)) == VKA_SUCCESS)
            r = vka_param_int(b->params, "global", &rule->global);
        break;
    case VKA_REF_PATTERN_BIGBIRD:
        if ((r = vka_param_int(b->params, "block", &rule->block)) == VKA_SUCCESS &&
            (r = vka_param_int(b->params, "random", &rule->random)) == VKA_SUCCESS)
            r = vka_param_int(b->params, "seed", &rule->seed);
        break;
    case VKA_REF_PATTERN_STRIDED: r = vka_param_int(b->params, "stride", &rule->stride); break;
    case VKA_REF_PATTERN_FIXED:
        if ((r = vka_param_int(b->params, "stride", &rule->stride)) == VKA_SUCCESS)
            r = vka_param_int(b->params, "summary", &rule->summary);
        if (r == VKA_SUCCESS && rule->summary > rule->stride)
            r = vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: summary=%u exceeds stride=%u", b->op, rule->summary,
                         rule->stride);
        break;
    case VKA_REF_PATTERN_BLOCKWISE: r = vka_param_int(b->params, "blocks", &rule->blocks); break;
    case VKA_REF_PATTERN_LAYOUT: r = vka_param_int(b->params, "block", &rule->block); break;
    }
    return r;
}

/* The given layout: a constant [1 or H, ⌈N/b⌉, ⌈N/b⌉] of int32. */
static vka_result check_layout(vka_op_build *b, sparse_params *p, uint32_t nk)
{
    const vka_graph_tensor *l = b->inputs[ROLE_LAYOUT];
    if (!l)
        return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: layout= is required", b->op);
    vka_result r = vka_expect_tensor(b, ROLE_LAYOUT, 3, VKA_DTYPE_I32, "[1 or heads, query blocks, key blocks]");
    uint32_t blocks = vka_div_up(nk, p->rule.block), heads = b->inputs[ROLE_Q]->dims[1];
    if (r == VKA_SUCCESS && (l->dims[1] != blocks || l->dims[2] != blocks || (l->dims[0] != 1 && l->dims[0] != heads)))
        r = vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                     "%s: layout is [%u, %u, %u]; with %u keys in blocks of %u it must be [1 or %u, %u, %u]", b->op,
                     l->dims[0], l->dims[1], l->dims[2], nk, p->rule.block, heads, blocks, blocks);
    if (r == VKA_SUCCESS && l->kind != VKA_TENSOR_CONSTANT)
        r = vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT,
                     "%s: layout must be a constant (vka_graph_constant): it is built into the plan", b->op);
    p->rule.layout_heads = l->dims[0];
    p->rule.layout_rows = p->rule.layout_cols = blocks;
    return r;
}

static vka_result build(vka_op_build *b)
{
    sparse_params *p = b->parsed;
    vka_result r;
    if ((r = vka_expect_qkv(b)) ||
        (b->inputs[ROLE_KV_LEN] && (r = vka_expect_tensor(b, ROLE_KV_LEN, 1, VKA_DTYPE_I32, "[batch]"))) ||
        (r = vka_expect_axes(b, axis_rules, VKA_ARRAY_LEN(axis_rules))) ||
        (r = vka_expect_grouped_heads(b, &p->kv_heads)) || (r = vka_expect_sinks(b, ROLE_SINKS)))
        return r;
    const uint32_t *q = b->inputs[ROLE_Q]->dims, nk = b->inputs[ROLE_K]->dims[2];
    if ((r = vka_expect_mask(b, ROLE_MASK, q[0], q[1], q[2], nk, &p->mask_batch, &p->mask_heads)))
        return r;
    if (q[2] > nk)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                        "%s: a sparse pattern relates a sequence to itself: the queries are its last positions, so "
                        "there are at most as many as keys (q has %u tokens, k %u)",
                        b->op, q[2], nk);
    if (strcmp(b->op, "local") == 0 || strcmp(b->op, "longformer") == 0)
        r = vka_param_bool(b->params, "causal", &p->causal);
    int align = 0;
    if (r == VKA_SUCCESS)
        r = vka_param_enum(b->params, "causal_align", &align);
    p->top_left = align == 1;
    p->offset = p->top_left ? 0 : nk - q[2];
    double softcap = 0;
    if (r || (r = parse_pattern(b, p)) || (r = vka_param_scale(b->params, "scale", q[3], &p->scale)) ||
        (r = vka_param_float(b->params, "softcap", &softcap)) ||
        (p->pattern == VKA_REF_PATTERN_LAYOUT && (r = check_layout(b, p, nk))))
        return r;
    if ((p->pattern == VKA_REF_PATTERN_BIGBIRD || p->pattern == VKA_REF_PATTERN_LAYOUT) && p->offset % p->rule.block)
        return vka_fail(b->ctx, VKA_ERROR_UNSUPPORTED,
                        "%s: the queries (the last %u of %u positions) must start on a block of block=%u (or "
                        "causal_align=top_left)",
                        b->op, q[2], nk, p->rule.block);
    p->batch = q[0];
    p->heads = q[1];
    p->nq = q[2];
    p->n = nk;
    p->d = q[3];
    p->dv = b->inputs[ROLE_V]->dims[3];
    p->softcap = (float)softcap;
    b->int_range[ROLE_KV_LEN].active = b->inputs[ROLE_KV_LEN] != NULL;
    b->int_range[ROLE_KV_LEN].min = 0;
    b->int_range[ROLE_KV_LEN].max = (int32_t)p->n;
    b->output_rank = 4;
    memcpy(b->output_dims, (uint32_t[4]){p->batch, p->heads, p->nq, p->dv}, sizeof b->output_dims);
    return VKA_SUCCESS;
}

/* ------------------------------------------------------------------ the block layout */

typedef struct interval {
    uint32_t start, end;
    bool masked;
} interval;

typedef struct interval_list {
    interval *items;
    uint32_t count, capacity;
    bool failed; /* out of host memory */
} interval_list;

static void add(interval_list *l, int64_t start, int64_t end, bool masked, uint32_t n)
{
    start = start < 0 ? 0 : start;
    end = end > n ? n : end;
    if (start >= end || l->failed)
        return;
    if (!vka_array_reserve((void **)&l->items, &l->capacity, l->count + 1, sizeof *l->items)) {
        l->failed = true;
        return;
    }
    l->items[l->count++] = (interval){(uint32_t)start, (uint32_t)end, masked};
}

static int by_start(const void *a, const void *b)
{
    const interval *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

/* Sorted; overlapping intervals joined (masked if either was), touching ones too when
 * both are masked or both not: an unmasked range stays one the kernel need not check. */
static void merge(interval_list *l)
{
    qsort(l->items, l->count, sizeof *l->items, by_start);
    uint32_t out = 0;
    for (uint32_t i = 0; i < l->count; i++) {
        const interval *last = out ? &l->items[out - 1] : NULL;
        if (last &&
            (l->items[i].start < last->end || (l->items[i].start == last->end && l->items[i].masked == last->masked))) {
            interval *last = &l->items[out - 1];
            last->end = VKA_MAX(last->end, l->items[i].end);
            last->masked = last->masked || l->items[i].masked;
        } else {
            l->items[out++] = l->items[i];
        }
    }
    l->count = out;
}

/* Block t of `blocks` equal-ish blocks of n tokens (blockwise): its keys. */
static void blockwise_block(interval_list *l, uint32_t t, uint32_t blocks, uint32_t n)
{
    /* token x is in block ⌊x·blocks/n⌋: block t is [⌈t·n/blocks⌉, ⌈(t+1)·n/blocks⌉) */
    uint64_t start = ((uint64_t)t * n + blocks - 1) / blocks, end = ((uint64_t)(t + 1) * n + blocks - 1) / blocks;
    add(l, (int64_t)start, (int64_t)end, true, n);
}

/* The band |i − j| ≤ w of positions [i0, i1), masked: the kernels cut it to their own
 * rows' band and skip the per-element test where all their rows see the keys
 * (sparse_layout.glsl), so one range per block keeps the layout small. */
static void band(interval_list *l, int64_t i0, int64_t i1, int64_t w, uint32_t n)
{
    add(l, i0 - w, i1 + w, true, n);
}

/* The key intervals of query positions [i0, i1) of head h. */
static void block_intervals(const sparse_params *p, uint32_t h, uint32_t i0, uint32_t i1, interval_list *l)
{
    const vka_ref_pattern_params *rule = &p->rule;
    int64_t n = p->n, w = rule->window, s = rule->stride;
    switch (p->pattern) {
    case VKA_REF_PATTERN_LOCAL: band(l, i0, i1, w, p->n); break;
    case VKA_REF_PATTERN_LONGFORMER:
        if (i0 < rule->global) {
            add(l, 0, n, true, p->n);
        } else {
            add(l, 0, rule->global, false, p->n); /* every row sees the global tokens */
            band(l, i0, i1, w, p->n);
        }
        break;
    case VKA_REF_PATTERN_STRIDED:
        add(l, (int64_t)i0 - s + 1, i1, true, p->n);
        for (int64_t back = s; (int64_t)i1 - back > 0; back += s)
            add(l, (int64_t)i0 - back, (int64_t)i1 - back, true, p->n);
        break;
    case VKA_REF_PATTERN_FIXED: {
        int64_t first_block = i0 / s, last_block = (i1 - 1) / s, c = rule->summary;
        add(l, first_block * s, i1, true, p->n);
        for (int64_t blk = 0; blk < last_block; blk++)
            add(l, blk * s + s - c, blk * s + s, true, p->n);
        break;
    }
    case VKA_REF_PATTERN_BLOCKWISE: {
        uint32_t blocks = rule->blocks, first = (uint32_t)((uint64_t)i0 * blocks / n),
                 last = (uint32_t)((uint64_t)(i1 - 1) * blocks / n);
        for (uint32_t t = first; t <= last; t++)
            blockwise_block(l, (t + h) % blocks, blocks, p->n);
        break;
    }
    case VKA_REF_PATTERN_LAYOUT: {
        uint32_t b = rule->block, me = i0 / b, hh = rule->layout_heads > 1 ? h : 0;
        const int32_t *row = rule->layout + ((size_t)hh * rule->layout_rows + me) * rule->layout_cols;
        for (uint32_t t = 0; t < rule->layout_cols; t++)
            if (row[t])
                add(l, (int64_t)t * b, (int64_t)(t + 1) * b, false, p->n);
        break;
    }
    case VKA_REF_PATTERN_BIGBIRD: {
        uint32_t b = rule->block, blocks = vka_div_up(p->n, b), me = i0 / b, chosen[64];
        if (me == 0 || me + 1 == blocks) { /* global query blocks see every key */
            add(l, 0, n, false, p->n);
            break;
        }
        uint32_t own[5] = {me - 1, me, me + 1, 0, blocks - 1};
        for (int i = 0; i < 5; i++)
            add(l, (int64_t)own[i] * b, (int64_t)(own[i] + 1) * b, false, p->n);
        uint32_t drawn = vka_bigbird_random_blocks(rule->seed, blocks, me, VKA_MIN(rule->random, 64u), chosen);
        for (uint32_t i = 0; i < drawn; i++)
            add(l, (int64_t)chosen[i] * b, (int64_t)(chosen[i] + 1) * b, false, p->n);
        break;
    }
    }
    merge(l);
}

typedef struct block_layout {
    uint32_t *words;
    uint32_t word_count, rows, sections, blocks, max_ranges;
    uint64_t visited_blocks; /* squares of rows × rows keys, over the sections */
} block_layout;

/* The layout for blocks of `rows` query rows; false when it exceeds LAYOUT_WORDS (or the
 * host's memory: *oom). */
static bool build_layout(const sparse_params *p, uint32_t rows, uint32_t capacity, block_layout *out, bool *oom)
{
    bool per_head =
        p->pattern == VKA_REF_PATTERN_BLOCKWISE || (p->pattern == VKA_REF_PATTERN_LAYOUT && p->rule.layout_heads > 1);
    uint32_t sections = per_head ? p->heads : 1, blocks = vka_div_up(p->nq, rows), heads_words = sections * blocks + 1;
    uint32_t offset = p->offset; /* query row i is position i + offset */
    *out = (block_layout){.rows = rows, .sections = sections, .blocks = blocks};
    if (heads_words > capacity)
        return false;
    uint32_t *words = calloc(capacity, sizeof *words), used = heads_words;
    interval_list l = {0};
    bool fits = words != NULL;
    *oom = words == NULL;
    for (uint32_t h = 0; fits && h < sections; h++)
        for (uint32_t blk = 0; fits && blk < blocks; blk++) {
            uint32_t i0 = blk * rows, i1 = VKA_MIN(i0 + rows, p->nq);
            l.count = 0;
            block_intervals(p, h, i0 + offset, i1 + offset, &l);
            if (l.failed) {
                *oom = true;
                fits = false;
                break;
            }
            words[h * blocks + blk] = (used - heads_words) / 2;
            fits = used + 2 * l.count <= capacity;
            uint64_t next_square = 0; /* the squares of rows × rows keys touched, each once */
            for (uint32_t i = 0; fits && i < l.count; i++) {
                words[used++] = l.items[i].start;
                words[used++] = l.items[i].end | (l.items[i].masked ? 0x80000000u : 0u);
                uint64_t first = VKA_MAX(next_square, l.items[i].start / rows),
                         end = (l.items[i].end + rows - 1) / rows;
                out->visited_blocks += end > first ? end - first : 0;
                next_square = VKA_MAX(next_square, end);
            }
            out->max_ranges = VKA_MAX(out->max_ranges, l.count);
        }
    if (fits)
        words[sections * blocks] = (used - heads_words) / 2;
    free(l.items);
    if (!fits) {
        free(words);
        return false;
    }
    out->words = words;
    out->word_count = used;
    return true;
}

/* ------------------------------------------------------------------ lowering */

static const uint32_t kernel_pattern[] = {
    [VKA_REF_PATTERN_LOCAL] = 1,  [VKA_REF_PATTERN_LONGFORMER] = 2, [VKA_REF_PATTERN_STRIDED] = 3,
    [VKA_REF_PATTERN_FIXED] = 4,  [VKA_REF_PATTERN_BLOCKWISE] = 5,  [VKA_REF_PATTERN_BIGBIRD] = 0,
    [VKA_REF_PATTERN_LAYOUT] = 0,
}; /* = sparse_layout.glsl's PATTERN_* (bigbird's and given layouts' ranges are exact) */

static vka_result lower(vka_lowering *lw, const vka_op_node *node)
{
    sparse_params with_layout = *(const sparse_params *)node->params, *p = &with_layout;
    uint32_t storage = vka_lower_device(lw)->limits.max_storage_buffers_per_stage;
    if (p->mask_batch && storage < 5) /* q, k, v, out and the mask */
        return vka_fail(vka_lower_context(lw), VKA_ERROR_LIMIT_EXCEEDED,
                        "%s: a mask makes the block-sparse kernel bind 5 storage buffers; this device allows %u per "
                        "stage (limits: %s). Use kv_len, or softmax with the pattern written into the mask",
                        node->cls->name, storage, vka_lower_device(lw)->limits_profile);
    if (p->pattern == VKA_REF_PATTERN_LAYOUT)
        p->rule.layout = vka_lower_constant_data(lw, vka_lower_input(lw, node, ROLE_LAYOUT));
    const vka_device_info *dev = vka_lower_device(lw);
    uint32_t kv_len = vka_lower_input(lw, node, ROLE_KV_LEN), layout_tensor;
    vka_flash_desc f = {.q = vka_lower_input(lw, node, ROLE_Q),
                        .k = vka_lower_input(lw, node, ROLE_K),
                        .v = vka_lower_input(lw, node, ROLE_V),
                        .out = vka_lower_result(lw, node),
                        .batch = p->batch,
                        .heads = p->heads,
                        .nq = p->nq,
                        .nk = p->n,
                        .d = p->d,
                        .dv = p->dv,
                        .kv_heads = p->kv_heads,
                        .causal = !p->causal    ? VKA_CAUSAL_NONE
                                  : p->top_left ? VKA_CAUSAL_TOP_LEFT
                                                : VKA_CAUSAL_BOTTOM_RIGHT,
                        .scale = p->scale,
                        .logits = {.softcap = p->softcap, .sinks = vka_lower_input(lw, node, ROLE_SINKS)}};
    uint32_t capacity = VKA_MIN((uint32_t)LAYOUT_WORDS, dev->limits.max_uniform_buffer_range / 4);
    /* Bigbird's blocks are the layout's (its ranges exact); elsewhere the kernel's rows,
     * doubled until the layout fits. */
    bool exact = p->pattern == VKA_REF_PATTERN_BIGBIRD || p->pattern == VKA_REF_PATTERN_LAYOUT;
    uint32_t rows = exact ? p->rule.block : vka_flash_query_rows(dev, &f);
    block_layout layout = {0};
    bool oom = false, fits = false;
    for (;; rows *= 2) { /* one block of rows holds the whole sequence at the latest */
        fits = build_layout(p, rows, capacity, &layout, &oom);
        if (fits || oom || exact || rows >= p->nq)
            break;
    }
    if (oom)
        return vka_fail(vka_lower_context(lw), VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory building a layout");
    if (!fits)
        return vka_fail(vka_lower_context(lw), VKA_ERROR_LIMIT_EXCEEDED,
                        "%s: its block layout for %u tokens does not fit the %u bytes the kernel reads (a uniform "
                        "buffer)%s",
                        node->cls->name, p->n, capacity * 4, exact ? "; a larger block= makes it smaller" : "");
    vka_result r = vka_lower_constant(lw, "layout", VKA_DTYPE_I32, 1, (uint32_t[]){layout.word_count}, layout.words,
                                      &layout_tensor);
    free(layout.words);
    if (r == VKA_SUCCESS && !kv_len)
        r = vka_lower_key_counts(lw, "kv_len", p->batch, p->n, &kv_len);
    if (r == VKA_SUCCESS)
        r = vka_lower_mask(lw, vka_lower_input(lw, node, ROLE_MASK),
                           &(vka_mask_shape){p->batch, p->heads, p->nq, p->n, p->mask_batch, p->mask_heads}, &f.logits);
    uint32_t offset = p->offset;
    vka_flash_sparse sparse = {.layout = layout_tensor,
                               .pattern = kernel_pattern[p->pattern],
                               .params = {p->rule.window, p->rule.global, offset},
                               .layout_rows = layout.rows,
                               .sections = layout.sections,
                               .layout_blocks = layout.blocks,
                               .max_ranges = layout.max_ranges};
    if (p->pattern == VKA_REF_PATTERN_STRIDED)
        memcpy(sparse.params, (uint32_t[3]){p->rule.stride, 0, offset}, sizeof sparse.params);
    if (p->pattern == VKA_REF_PATTERN_FIXED)
        memcpy(sparse.params, (uint32_t[3]){p->rule.stride, p->rule.summary, offset}, sizeof sparse.params);
    if (p->pattern == VKA_REF_PATTERN_BLOCKWISE)
        memcpy(sparse.params, (uint32_t[3]){p->rule.blocks, p->n, offset}, sizeof sparse.params);
    if (r == VKA_SUCCESS) {
        uint64_t per_head = layout.visited_blocks / layout.sections, slices = (uint64_t)p->batch * p->heads;
        /* the plan's account: square blocks of `rows` visited, out of all, over the slices */
        uint64_t total = (uint64_t)layout.blocks * vka_div_up(p->n, layout.rows) * slices;
        if ((r = vka_lower_note_stat(lw, "sparse_blocks_visited", per_head * slices)) ||
            (r = vka_lower_note_stat(lw, "sparse_blocks_total", total)) ||
            (r = vka_lower_note_stat(lw, "sparse_block_rows", layout.rows)))
            return r;
        f.kv_len = kv_len;
        f.sparse = &sparse;
        r = vka_lower_flash(lw, &f);
    }
    return r;
}

/* ------------------------------------------------------------------ reference, flops */

static vka_result reference(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    const sparse_params *p = node->params;
    vka_ref_pattern_params rule = p->rule;
    if (p->pattern == VKA_REF_PATTERN_LAYOUT)
        rule.layout = in[ROLE_LAYOUT].ints;
    bool ok = vka_ref_pattern_attention(&(vka_ref_pattern_problem){.pattern = p->pattern,
                                                                   .rule = rule,
                                                                   .batch = p->batch,
                                                                   .heads = p->heads,
                                                                   .nq = p->nq,
                                                                   .n = p->n,
                                                                   .d = p->d,
                                                                   .dv = p->dv,
                                                                   .kv_heads = p->kv_heads,
                                                                   .causal = p->causal,
                                                                   .top_left = p->top_left,
                                                                   .scale = p->scale,
                                                                   .softcap = p->softcap,
                                                                   .sinks = in[ROLE_SINKS].data,
                                                                   .mask = in[ROLE_MASK].data,
                                                                   .mask_batch = p->mask_batch,
                                                                   .mask_heads = p->mask_heads,
                                                                   .q = in[ROLE_Q].data,
                                                                   .k = in[ROLE_K].data,
                                                                   .v = in[ROLE_V].data,
                                                                   .kv_len = in[ROLE_KV_LEN].ints,
                                                                   .out = out->data});
    return ok ? VKA_SUCCESS : vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory in the reference");
}

/* 2·(D + Dv) per (query, key) pair the pattern allows. */
static double flops(const vka_graph *g, const vka_op_node *node)
{
    const sparse_params *p = node->params;
    vka_ref_pattern_params rule = p->rule;
    if (p->pattern == VKA_REF_PATTERN_LAYOUT) /* the graph holds the constant's data */
        rule.layout = g->tensors[node->inputs[ROLE_LAYOUT]].data;
    double pairs = (double)vka_ref_pattern_pairs(p->pattern, &rule, p->offset, p->nq, p->n, p->heads, p->causal);
    return 2.0 * p->batch * pairs * (p->d + p->dv);
}

#define SPARSE_CLASS(NAME, PATTERN, ROLES, ROWS_INDEPENDENT, SUMMARY)                                                  \
    static vka_result build_##NAME(vka_op_build *b)                                                                    \
    {                                                                                                                  \
        ((sparse_params *)b->parsed)->pattern = PATTERN;                                                               \
        return build(b);                                                                                               \
    }                                                                                                                  \
    VKA_OP_CLASS(NAME) = {                                                                                             \
        .name = #NAME,                                                                                                 \
        .summary = SUMMARY,                                                                                            \
        .inputs = ROLES,                                                                                               \
        .output_shape = "B,H,Nq,Dv",                                                                                   \
        .rows_independent = ROWS_INDEPENDENT,                                                                          \
        .examples = NAME##_examples,                                                                                   \
        .params = NAME##_params,                                                                                       \
        .params_size = sizeof(sparse_params),                                                                          \
        .build = build_##NAME,                                                                                         \
        .lower = lower,                                                                                                \
        .reference = reference,                                                                                        \
        .flops = flops,                                                                                                \
    };

SPARSE_CLASS(local, VKA_REF_PATTERN_LOCAL, roles, true,
             "softmax attention within window=w keys each side (causal: behind only)")
SPARSE_CLASS(longformer, VKA_REF_PATTERN_LONGFORMER, roles, true,
             "local window=w plus global=g tokens that see and are seen by all")
SPARSE_CLASS(bigbird, VKA_REF_PATTERN_BIGBIRD, roles, false, /* queries start on a block */
             "blocks of block=b: own and neighbours, first and last (global), random=r more from seed")
SPARSE_CLASS(strided, VKA_REF_PATTERN_STRIDED, roles, true,
             "Sparse Transformer strided: j ≤ i, (i − j) < stride or a multiple")
SPARSE_CLASS(fixed, VKA_REF_PATTERN_FIXED, roles, true,
             "Sparse Transformer fixed: own block of stride, last summary=c of earlier")
SPARSE_CLASS(blockwise, VKA_REF_PATTERN_BLOCKWISE, roles, true,
             "BlockBERT: blocks=n, head h's block t sees block (t + h) mod n")
SPARSE_CLASS(blocksparse, VKA_REF_PATTERN_LAYOUT, blocksparse_roles, false,
             "a given block layout (int32 [1|H, N/b, N/b] constant, non-zero: visit) of block=b (64)")
