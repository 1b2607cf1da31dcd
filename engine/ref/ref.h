/* Plain-C reference implementations of every operation, accumulating in double.
 * The oracle for tests and for the benchmark's error column; nothing of Vulkan here,
 * and nothing shared with the kernels but the definitions in ../shared/spec/SCHEMES.md. */
#ifndef VKA_REF_H
#define VKA_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exact softmax attention, SCHEMES.md §1. q [B,H,Nq,D], k [B,Hkv,Nk,D], v [B,Hkv,Nk,Dv],
 * out [B,H,Nq,Dv]; kv_len [B] or NULL (all keys exist). Query head h reads k/v head
 * h / (H / Hkv) (grouped heads, §Conventions); kv_heads 0: H. */
typedef struct vka_ref_attention {
    uint32_t batch, heads, nq, nk, d, dv;
    uint32_t kv_heads;
    const double *q, *k, *v;
    const int32_t *kv_len;
    double scale;
    bool causal;
    bool top_left;                   /* causal: j <= i rather than bottom-right */
    double softcap;                  /* > 0: logits c·tanh(l / c) after scaling */
    const double *sinks;             /* [heads] or NULL: a logit per head in every row's normaliser */
    const double *mask;              /* [mask_batch, mask_heads, nq, nk] or NULL: added to the (capped) logits */
    uint32_t mask_batch, mask_heads; /* 1 (broadcast) or batch / heads */
    bool first_run;                  /* decoding from an empty cache: q, k, v are the new tokens, kv_len[b]
                                        of them real; row i < kv_len sees keys j <= i, later rows output 0 */
    double *out;
} vka_ref_attention;

/* False only when host memory runs out. */
bool vka_ref_softmax_attention(const vka_ref_attention *a);

/* Keys j < the result are visible to query i (bottom-right causal alignment). */
uint32_t vka_ref_visible_keys(uint32_t i, uint32_t nq, uint32_t nk, int32_t kv_len, bool causal);

/* Feature maps of kernel attention, SCHEMES.md §2–3. */
typedef enum vka_ref_feature_map {
    VKA_REF_ELU,        /* elu(x) + 1, on the raw input (D features) */
    VKA_REF_POSITIVE,   /* exp(u − h) / √m, u = W x', h = |x'|²/2, x' = x·D^(−1/4) (m features) */
    VKA_REF_HYPERBOLIC, /* [exp(u − h), exp(−u − h)] / √(2m) (2m features) */
    VKA_REF_TRIG,       /* [sin u, cos u] · exp(h) / √m (2m features) */
} vka_ref_feature_map;

/* Number of features φ produces. */
uint32_t vka_ref_feature_count(vka_ref_feature_map map, uint32_t d, uint32_t projections);

/* φ(x) for one row x of length d into out (vka_ref_feature_count values); projection is
 * m × d (row-major), unused for ELU. */
void vka_ref_features(vka_ref_feature_map map, const double *x, uint32_t d, const double *projection, uint32_t m,
                      double *out);

/* O_i = φ(q_i)ᵀ S / (φ(q_i)ᵀ z + eps) with S = Σ_j φ(k_j) v_jᵀ, z = Σ_j φ(k_j) over the keys
 * query i sees (all, or bottom-right causal), keys j ≥ kv_len[b] contributing nothing.
 * A zero denominator gives 0. */
typedef struct vka_ref_kernel_problem {
    uint32_t batch, heads, nq, nk, d, dv;
    uint32_t kv_heads; /* k and v's (grouped heads: query head h reads h / (heads / kv_heads)); 0: heads */
    const double *q, *k, *v;
    const int32_t *kv_len;
    vka_ref_feature_map map;
    const double *projection; /* m × d, shared by all heads */
    uint32_t projections;     /* m */
    bool causal;
    double eps;
    double *out;
} vka_ref_kernel_problem;

bool vka_ref_kernel_attention(const vka_ref_kernel_problem *a);

/* Element-wise building blocks: out = f(x) (y unused), or x + y for VKA_REF_ADD. */
typedef enum vka_ref_unary {
    VKA_REF_GELU,
    VKA_REF_RELU,
    VKA_REF_SOFTPLUS,
    VKA_REF_SQRT_SOFTPLUS,
    VKA_REF_ADD
} vka_ref_unary;

void vka_ref_elementwise(vka_ref_unary f, const double *x, const double *y, size_t n, double *out);

/* y = x W + bias: x rows × in, W in × out (row-major), bias [out] or NULL. */
void vka_ref_dense(const double *x, const double *w, const double *bias, size_t rows, uint32_t in, uint32_t out,
                   double *y);
/* The same with W stored out × in (PyTorch's Linear): y = x Wᵀ + bias. */
void vka_ref_dense_out_in(const double *x, const double *w, const double *bias, size_t rows, uint32_t in, uint32_t out,
                          double *y);

/* Layer normalisation of each row of `width` (biased variance); weight, bias or NULL. */
void vka_ref_layernorm(const double *x, const double *weight, const double *bias, size_t rows, uint32_t width,
                       double eps, double *y);

/* Per slice: the rows of a, then the rows of b (each `width` wide). */
void vka_ref_concat_rows(const double *a, const double *b, size_t slices, uint32_t rows_a, uint32_t rows_b,
                         uint32_t width, double *out);

/* split: x [B, N, H·Dh] → y [B, H, N, Dh]; else the reverse. */
void vka_ref_heads(const double *x, uint32_t batch, uint32_t heads, uint32_t tokens, uint32_t head_width, bool split,
                   double *y);

/* HyperMixer (SCHEMES.md §5) per [batch, head]: Wk = MLP_k(k), Wq = MLP_q(q) with
 * MLP(x) = GELU(x W1) W2 + b2 (W1 d×d, W2 d×p, b2 [p]); O = Wq · GELU(Wkᵀ v) over the keys
 * j < kv_len[b] (kv_len NULL: all). False when out of memory. */
typedef struct vka_ref_hypermixer_problem {
    uint32_t batch, heads, nq, nk, d, dv, p;
    const double *q, *k, *v;
    const int32_t *kv_len;
    const double *mlp_k[3], *mlp_q[3]; /* W1, W2, b2 */
    double *out;
} vka_ref_hypermixer_problem;

bool vka_ref_hypermixer(const vka_ref_hypermixer_problem *h);

/* Aaren (SCHEMES.md §10) from the definition: per [batch, head] and token t, softmax
 * attention of query_h over the keys j ≤ t that exist (j < kv_len[b]); 0 when there are
 * none. query [1, H, 1, D], k [B, H, N, D], v [B, H, N, Dv], out [B, H, N, Dv]. */
typedef struct vka_ref_aaren_problem {
    uint32_t batch, heads, n, d, dv;
    const double *query, *k, *v;
    const int32_t *kv_len; /* NULL: every key exists */
    double scale;
    double *out;
} vka_ref_aaren_problem;

void vka_ref_aaren(const vka_ref_aaren_problem *a);

/* A copy of `given` (count values), or, when NULL, `count` N(0, 1) values drawn from `seed`
 * as the engine draws them (vka_random_gaussian, f32): the random matrices an op takes or
 * draws. Caller frees; NULL when out of memory. */
double *vka_ref_gaussian_or(const double *given, uint64_t seed, size_t count);

/* Reformer LSH attention (SCHEMES.md §9): shared QK (keys q/|q|, 0 for a zero query),
 * per round a stable sort by (bucket, position) with bucket = argmax [xR, −xR], chunks of
 * `chunk` sorted tokens attending to themselves and the chunk before, a query seeing itself
 * only when it sees no other key, rounds weighted by their log-sum-exp. Tokens at or past
 * kv_len[b] are padding: they sort after every bucket, are no keys, and their rows are 0.
 * q [B,H,N,D], v [B,Hkv,N,Dv] (query head h reads v head h / (H / Hkv); kv_heads 0: H),
 * rotations [rounds, D, buckets/2] (every head's), out [B,H,N,Dv]. False when out of memory. */
typedef struct vka_ref_reformer_problem {
    uint32_t batch, heads, kv_heads, n, d, dv, rounds, buckets, chunk;
    const double *q, *v, *rotations;
    const int32_t *kv_len; /* NULL: no padding */
    double scale;
    bool causal;
    double *out;
} vka_ref_reformer_problem;

bool vka_ref_reformer(const vka_ref_reformer_problem *a);

/* Clustered attention (SCHEMES.md §9): sign codes of the queries, bit b = (x·w_b + w_b[D] > 0)
 * with planes [bits, D+1]; clusters start as contiguous blocks of queries (query i in
 * i·C/Nq); each of `iters` Lloyd iterations sets every non-empty cluster's code to its
 * members' per-bit majority (more than half), then moves each query to the nearest code
 * by Hamming distance (staying on a tie, else the lowest cluster). Centroid = the members'
 * mean query; it attends exactly (keys j < kv_len[b]); members take its output. topk > 0
 * (improved clustered): the centroid's top-k keys (ties: lower index) are re-weighted by
 * each member's own softmax over them, scaled to the mass the centroid gave them. */
typedef struct vka_ref_clustered_problem {
    uint32_t batch, heads, nq, nk, d, dv, kv_heads, clusters, iters, bits, topk;
    const double *q, *k, *v, *planes;
    const int32_t *kv_len;
    double scale;
    double *out;
} vka_ref_clustered_problem;

bool vka_ref_clustered(const vka_ref_clustered_problem *a);

/* ∞-former continuous attention (SCHEMES.md §6) per [batch, head], from the definition:
 * the ridge system solved by Gaussian elimination with partial pivoting (the engine uses
 * Cholesky). w_mu, w_sigma [1, H, 1, nbasis]. False when the system is singular or out of
 * memory. */
typedef struct vka_ref_continuous_problem {
    uint32_t batch, heads, nq, length, d, dv, nbasis;
    const double *widths;
    uint32_t width_count;
    double lambda, scale;
    const double *q, *k, *v, *w_mu, *w_sigma; /* k, v NULL (update only): no new tokens */
    double *out;
    /* continuous_update's first run: the memory starts empty (a zero signal sampled at
     * `samples` points in [0, τ]) and the chunk k, v lands in (τ, 1]. */
    bool update;
    uint32_t samples;
    double tau;
} vka_ref_continuous_problem;

bool vka_ref_continuous(const vka_ref_continuous_problem *c);

/* Gᵀ (nbasis × length) of the ridge fit at `positions` (NULL: (i + 0.5) / length). */
bool vka_ref_ridge_fit(uint32_t nbasis, const double *widths, uint32_t width_count, const double *positions,
                       uint32_t length, double lambda, double *gt);

/* Low-rank attention (SCHEMES.md §8) per [batch, head]. linformer: proj_k, proj_v
 * [rank, proj_width], their first nk columns used. nystrom: `rank` landmarks (exact softmax
 * when rank ≥ nq or rank ≥ nk). False when out of memory. */
typedef struct vka_ref_lowrank_problem {
    uint32_t batch, heads, nq, nk, d, dv, rank, proj_width;
    const double *proj_k, *proj_v;
    double scale;
    const double *q, *k, *v;
    double *out;
} vka_ref_lowrank_problem;

bool vka_ref_linformer(const vka_ref_lowrank_problem *p);
bool vka_ref_nystrom(const vka_ref_lowrank_problem *p);

/* The Nyström landmark segments of n tokens into m (m < n): segment s starts at ⌊s·n/m⌋,
 * so sizes differ by at most one (the reference vectors' convention; the first and last
 * segments are ⌊n/m⌋ long). first[m] = n. */
void vka_ref_segments(uint32_t n, uint32_t m, uint32_t *first);

/* Sparse patterns (SCHEMES.md §7): which keys j query i of head h may see. */
typedef enum vka_ref_pattern {
    VKA_REF_PATTERN_LOCAL,
    VKA_REF_PATTERN_LONGFORMER,
    VKA_REF_PATTERN_BIGBIRD,
    VKA_REF_PATTERN_STRIDED,
    VKA_REF_PATTERN_FIXED,
    VKA_REF_PATTERN_BLOCKWISE,
    VKA_REF_PATTERN_LAYOUT, /* a given block layout */
} vka_ref_pattern;

typedef struct vka_ref_pattern_params {
    uint32_t window, global;      /* local, longformer */
    uint32_t block, random, seed; /* bigbird */
    uint32_t stride, summary;     /* strided, fixed */
    uint32_t blocks;              /* blockwise */
    /* layout: block (the side of a block), layout [layout_heads, rows, cols] non-zero = seen */
    const int32_t *layout;
    uint32_t layout_heads, layout_rows, layout_cols;
} vka_ref_pattern_params;

bool vka_ref_pattern_allows(vka_ref_pattern pattern, const vka_ref_pattern_params *rule, uint32_t n, uint32_t head,
                            uint32_t i, uint32_t j);
/* Pairs (i, j) the pattern allows for nq queries at positions first … first + nq − 1 of n
 * over `heads` heads (with `causal`: j ≤ i as well). */
uint64_t vka_ref_pattern_pairs(vka_ref_pattern pattern, const vka_ref_pattern_params *rule, uint32_t first, uint32_t nq,
                               uint32_t n, uint32_t heads, bool causal);

/* Softmax attention masked by the pattern (and kv_len, causal): the dense definition. */
typedef struct vka_ref_pattern_problem {
    vka_ref_pattern pattern;
    vka_ref_pattern_params rule;
    uint32_t batch, heads, nq, n, d, dv; /* the queries are the last nq of n positions, */
    bool top_left;                       /* or the first nq (causal_align=top_left) */
    uint32_t kv_heads;                   /* k and v's (grouped heads); 0: heads */
    bool causal;
    double scale;
    double softcap;      /* > 0: logits c·tanh(l / c) after scaling */
    const double *sinks; /* [heads] or NULL: a logit per head in every row's normaliser */
    const double *mask;  /* [mask_batch, mask_heads, nq, n] added to the (capped) logits, or NULL */
    uint32_t mask_batch, mask_heads;
    const double *q, *k, *v;
    const int32_t *kv_len;
    double *out;
} vka_ref_pattern_problem;

bool vka_ref_pattern_attention(const vka_ref_pattern_problem *p);

/* Translation-equivariant attention (SCHEMES.md §11) per batch, from the definition:
 * logits_ij = fc3 relu(fc2 relu(fc1 [xq_i − xk_j, q_i^h·k_j^h·scale (h < heads)] + b1) + b2)
 * + b3 (weights [out, in], biases may be NULL), o_i^h = Σ_j softmax_j(logits^h) v_j^h.
 * q [B, Nq, H·dh], k [B, Nk, H·dh], v [B, Nk, H·dv], xq [B, Nq, dx], xk [B, Nk, dx],
 * out [B, Nq, H·dv]. False when out of memory. */
typedef struct vka_ref_te_problem {
    uint32_t batch, heads, nq, nk, dh, dv, dx, hidden1, hidden2;
    double scale;
    const double *q, *k, *v, *xq, *xk;
    const double *fc1, *fc1_bias, *fc2, *fc2_bias, *fc3, *fc3_bias;
    double *out;
} vka_ref_te_problem;

bool vka_ref_te_attention(const vka_ref_te_problem *p);

/* The gated recurrent forms, SCHEMES.md §10, by their recurrences (the engine's own
 * kernel is a scan too; the tests also hold it to the public vectors and to decoding). */
typedef enum vka_ref_gated_kind { VKA_REF_GLA, VKA_REF_RETENTION, VKA_REF_DELTANET } vka_ref_gated_kind;

typedef struct vka_ref_gated {
    vka_ref_gated_kind kind;
    uint32_t batch, heads, kv_heads, n, d, dv;
    const double *q, *k, *v; /* [B,H,N,D], [B,Hkv,N,D], [B,Hkv,N,Dv] */
    const double *gates;     /* gla [B,H,N,D], deltanet [B,H,N] or NULL (1); log values */
    const double *beta;      /* deltanet [B,H,N] */
    const float *gamma;      /* retention [H] */
    const int32_t *kv_len;   /* [B] or NULL: tokens at or past it leave the state as it is */
    double scale;
    bool l2norm; /* deltanet: q and k normalised per token */
    double *out; /* [B,H,N,Dv] */
} vka_ref_gated;

/* False only when host memory runs out. */
bool vka_ref_gated_run(const vka_ref_gated *g);

#endif
