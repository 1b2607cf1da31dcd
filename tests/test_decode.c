#define _POSIX_C_SOURCE 200809L /* mkdtemp */
/* Softmax decoding with a KV cache (SCHEMES.md §10) and split-K flash (issue 17): every
 * run's rows against the batch causal form over the whole sequence (the same engine's
 * flash run, itself held to the double reference), in uneven per-batch chunks with grouped
 * heads, 1000 one-token steps with and without split-K, an overflowing run refused before
 * it runs, the cache saved and restored, split-K ≡ one pass, top-left causal alignment,
 * and bad parameters refused by name. Both kernel classes, validation layer on. */
#include "harness.h"
#include "vkattn/io.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define COUNT(x) (sizeof(x) / sizeof *(x))

static vka_context *contexts[2]; /* CPU class, GPU class */

typedef struct shape {
    uint32_t batch, heads, kv_heads, d, dv;
} shape;

/* softmax over q [B,H,nq,D], k [B,Hkv,nk,D], v [B,Hkv,nk,Dv] (+ kv_len) with `params`. */
static vka_graph *softmax_graph(vka_context *ctx, const shape *s, uint32_t nq, uint32_t nk, bool kv_len,
                                const vka_op_param *params, const vka_op_number *numbers)
{
    vka_graph *g = NULL;
    vka_tensor q, k, v, l = {0}, o;
    vka_op_desc op = {.op = "softmax", .inputs = {{"q", {0}}, {"k", {0}}, {"v", {0}}, {kv_len ? "kv_len" : NULL}}};
    for (int i = 0; params && params[i].key; i++)
        op.params[i] = params[i];
    for (int i = 0; numbers && numbers[i].key; i++)
        op.numbers[i] = numbers[i];
    vka_result r = vka_graph_create(ctx, &g);
    if (!r)
        r = vka_graph_input(g, &(vka_tensor_desc){"q", .rank = 4, .dims = {s->batch, s->heads, nq, s->d}}, &q);
    if (!r)
        r = vka_graph_input(g, &(vka_tensor_desc){"k", .rank = 4, .dims = {s->batch, s->kv_heads, nk, s->d}}, &k);
    if (!r)
        r = vka_graph_input(g, &(vka_tensor_desc){"v", .rank = 4, .dims = {s->batch, s->kv_heads, nk, s->dv}}, &v);
    if (!r && kv_len)
        r = vka_graph_input(g, &(vka_tensor_desc){"kv_len", VKA_DTYPE_I32, 1, {s->batch}}, &l);
    op.inputs[0].tensor = q, op.inputs[1].tensor = k, op.inputs[2].tensor = v, op.inputs[3].tensor = l;
    if (!r)
        r = vka_graph_op(g, &op, &o);
    if (!r)
        r = vka_graph_output(g, "o", o);
    if (r) {
        CHECK_MSG(0, "softmax graph: %s", vka_last_error(ctx));
        vka_graph_destroy(g);
        return NULL;
    }
    return g;
}

static vka_plan *plan_of(vka_context *ctx, vka_graph *g)
{
    vka_plan *plan = NULL;
    if (g)
        CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    vka_graph_destroy(g);
    return plan;
}

/* A whole sequence: q [B,H,N,D], k [B,Hkv,N,D], v [B,Hkv,N,Dv], random. */
typedef struct sequence {
    shape s;
    uint32_t n;
    float *q, *k, *v;
} sequence;

static bool sequence_make(sequence *x, const shape *s, uint32_t n, uint64_t seed)
{
    *x = (sequence){.s = *s, .n = n};
    x->q = malloc((size_t)s->batch * s->heads * n * s->d * 4);
    x->k = malloc((size_t)s->batch * s->kv_heads * n * s->d * 4);
    x->v = malloc((size_t)s->batch * s->kv_heads * n * s->dv * 4);
    if (!x->q || !x->k || !x->v)
        return false;
    test_seed(seed);
    test_fill_normal(x->q, (size_t)s->batch * s->heads * n * s->d, 1.0f);
    test_fill_normal(x->k, (size_t)s->batch * s->kv_heads * n * s->d, 1.0f);
    test_fill_normal(x->v, (size_t)s->batch * s->kv_heads * n * s->dv, 1.0f);
    return true;
}

static void sequence_free(sequence *x)
{
    free(x->q);
    free(x->k);
    free(x->v);
}

/* The batch causal outputs [B,H,N,Dv] from the device's flash kernel (one pass), checked
 * against the double reference. */
static float *batch_outputs(vka_context *ctx, const sequence *x)
{
    const shape *s = &x->s;
    size_t out_n = (size_t)s->batch * s->heads * x->n * s->dv;
    float *out = malloc(out_n * 4), *ref = malloc(out_n * 4);
    vka_graph *g = softmax_graph(ctx, s, x->n, x->n, false, (vka_op_param[]){{"split_k", "1"}, {0}},
                                 (vka_op_number[]){{"causal", 1}, {0}});
    vka_host_tensor in[3] = {{"q", x->q, (size_t)s->batch * s->heads * x->n * s->d * 4},
                             {"k", x->k, (size_t)s->batch * s->kv_heads * x->n * s->d * 4},
                             {"v", x->v, (size_t)s->batch * s->kv_heads * x->n * s->dv * 4}};
    bool ok = g && out && ref && vka_graph_reference(g, in, 3, &(vka_host_tensor){"o", ref, out_n * 4}, 1) == 0;
    vka_plan *plan = plan_of(ctx, ok ? g : (vka_graph_destroy(g), NULL));
    for (int i = 0; ok && plan && i < 3; i++)
        ok = vka_plan_write(plan, in[i].name, in[i].data, in[i].bytes) == 0;
    ok = ok && plan && vka_plan_run(plan) == 0 && vka_plan_read(plan, "o", out, out_n * 4) == 0;
    vka_plan_destroy(plan);
    if (!ok || !test_close("batch causal flash vs reference", out, ref, out_n, 1e-4, 1e-3)) {
        CHECK_MSG(ok, "batch run: %s", vka_last_error(ctx));
        free(out);
        out = NULL;
    }
    free(ref);
    return out;
}

/* Tokens [t0, t0 + n) of batch b of x ([B, heads, N, w]) into rows 0.. of out ([B, heads,
 * rows, w]); rows n.. keep what they hold (noise the run must ignore). */
static void take(const float *x, uint32_t b, uint32_t heads, uint32_t n_all, uint32_t w, uint32_t t0, uint32_t n,
                 float *out, uint32_t rows)
{
    for (uint32_t h = 0; h < heads; h++)
        memcpy(out + (((size_t)b * heads + h) * rows) * w, x + (((size_t)b * heads + h) * n_all + t0) * w,
               (size_t)n * w * 4);
}

/* The worst relative row error of a run's output rows against the batch rows they stand
 * for (batch b's rows [0, added[b]) are positions done[b]...), and whether every other
 * row is exactly 0. */
static double run_error(const sequence *x, const float *batch, const float *got, uint32_t rows, const uint32_t *done,
                        const uint32_t *added, bool *padding_zero)
{
    const shape *s = &x->s;
    double worst = 0;
    for (uint32_t b = 0; b < s->batch; b++)
        for (uint32_t h = 0; h < s->heads; h++)
            for (uint32_t r = 0; r < rows; r++) {
                const float *a = got + (((size_t)b * s->heads + h) * rows + r) * s->dv;
                if (r >= added[b]) {
                    for (uint32_t c = 0; c < s->dv; c++)
                        *padding_zero = *padding_zero && a[c] == 0.0f;
                    continue;
                }
                const float *e = batch + (((size_t)b * s->heads + h) * x->n + done[b] + r) * s->dv;
                double diff = 0, norm = 0;
                for (uint32_t c = 0; c < s->dv; c++) {
                    diff += ((double)a[c] - e[c]) * ((double)a[c] - e[c]);
                    norm += (double)e[c] * e[c];
                }
                double rel = sqrt(diff) / (sqrt(norm) + 1e-30);
                worst = rel > worst || isnan(rel) ? rel : worst;
            }
    return worst;
}

/* A decoding plan taking up to `rows` new tokens per run (kv_len says how many). */
static vka_plan *decoder(vka_context *ctx, const shape *s, uint32_t rows, uint32_t capacity, const char *split_k)
{
    char cap[16];
    snprintf(cap, sizeof cap, "%u", capacity);
    return plan_of(
        ctx, softmax_graph(
                 ctx, s, rows, rows, true,
                 (vka_op_param[]){
                     {"decode", "1"}, {"capacity", cap}, {"state", "cache"}, {"split_k", split_k ? split_k : "0"}, {0}},
                 (vka_op_number[]){{"causal", 1}, {0}}));
}

/* One run adding added[b] tokens of each batch from `x` at done[b]; the output in `out`. */
static vka_result decode_run(vka_plan *plan, const sequence *x, uint32_t rows, const uint32_t *done,
                             const uint32_t *added, float *out)
{
    const shape *s = &x->s;
    size_t qn = (size_t)s->batch * s->heads * rows * s->d, kn = (size_t)s->batch * s->kv_heads * rows * s->d,
           vn = (size_t)s->batch * s->kv_heads * rows * s->dv, on = (size_t)s->batch * s->heads * rows * s->dv;
    float *q = malloc(qn * 4), *k = malloc(kn * 4), *v = malloc(vn * 4);
    int32_t lens[16];
    test_fill_normal(q, qn, 3.0f); /* the rows no batch adds: noise */
    test_fill_normal(k, kn, 3.0f);
    test_fill_normal(v, vn, 3.0f);
    for (uint32_t b = 0; b < s->batch; b++) {
        take(x->q, b, s->heads, x->n, s->d, done[b], added[b], q, rows);
        take(x->k, b, s->kv_heads, x->n, s->d, done[b], added[b], k, rows);
        take(x->v, b, s->kv_heads, x->n, s->dv, done[b], added[b], v, rows);
        lens[b] = (int32_t)added[b];
    }
    vka_result r = vka_plan_write(plan, "q", q, qn * 4);
    if (!r)
        r = vka_plan_write(plan, "k", k, kn * 4);
    if (!r)
        r = vka_plan_write(plan, "v", v, vn * 4);
    if (!r)
        r = vka_plan_write(plan, "kv_len", lens, s->batch * 4);
    if (!r)
        r = vka_plan_run(plan);
    if (!r)
        r = vka_plan_read(plan, "o", out, on * 4);
    free(q);
    free(k);
    free(v);
    return r;
}

/* Uneven chunks, different per batch, with grouped heads: every run's rows equal the
 * batch form's at their positions; rows past a batch's new tokens are 0. */
static void chunks_match_batch(void)
{
    if (!test_class_contexts(contexts))
        return;
    const shape s = {.batch = 2, .heads = 4, .kv_heads = 2, .d = 16, .dv = 8};
    const uint32_t n = 45, rows = 8;
    static const uint32_t pattern[2][12] = {{8, 8, 3, 1, 1, 8, 5, 0, 7, 4}, {1, 8, 8, 2, 0, 8, 6, 3, 1, 8}};
    for (int cls = 0; cls < 2; cls++) {
        vka_context *ctx = contexts[cls];
        sequence x;
        CHECK(sequence_make(&x, &s, n, 100 + cls));
        float *batch = batch_outputs(ctx, &x), *out = malloc((size_t)s.batch * s.heads * rows * s.dv * 4);
        vka_plan *plan = decoder(ctx, &s, rows, 64, NULL);
        uint32_t done[2] = {0, 0};
        double worst = 0;
        bool zero = true;
        for (int step = 0; batch && plan && step < 12 && (done[0] < n || done[1] < n); step++) {
            uint32_t added[2];
            for (int b = 0; b < 2; b++)
                added[b] = MIN(pattern[b][step % 10] ? pattern[b][step % 10] : 0, n - done[b]);
            if (decode_run(plan, &x, rows, done, added, out)) {
                CHECK_MSG(0, "class %d step %d: %s", cls, step, vka_last_error(ctx));
                break;
            }
            worst = MAX(worst, run_error(&x, batch, out, rows, done, added, &zero));
            for (int b = 0; b < 2; b++)
                done[b] += added[b];
        }
        int32_t lengths[2] = {-1, -1};
        CHECK_OK(ctx, vka_plan_read(plan, "cache.length", lengths, sizeof lengths));
        CHECK_MSG(lengths[0] == (int32_t)done[0] && lengths[1] == (int32_t)done[1],
                  "cache.length reads %d, %d after %u, %u tokens", lengths[0], lengths[1], done[0], done[1]);
        CHECK_MSG(worst <= 1e-5, "class %d: decoded rows differ from the batch form by %.3g (relative)", cls, worst);
        CHECK_MSG(zero, "class %d: rows past a batch's new tokens are not 0", cls);
        vka_plan_destroy(plan);
        free(batch);
        free(out);
        sequence_free(&x);
        test_check_validation(ctx);
    }
}

static uint64_t splits_of(const vka_plan *plan)
{
    return vka_plan_op_stat_total(plan, "flash_splits");
}

/* 1000 one-token steps (MQA), the planner's split-K and no split side by side: each step
 * equals the batch form, and the two agree to f32 rounding. */
static void one_token_steps(void)
{
    if (!test_class_contexts(contexts))
        return;
    const shape s = {.batch = 1, .heads = 2, .kv_heads = 1, .d = 32, .dv = 32};
    for (int cls = 0; cls < 2; cls++) {
        vka_context *ctx = contexts[cls];
        const uint32_t n = cls == 0 ? 1000 : 600; /* the GPU class: its barriers are slow on lavapipe */
        sequence x;
        CHECK(sequence_make(&x, &s, n, 7 + cls));
        for (uint32_t t = 0; t < n; t++) /* growing keys move the running max along */
            for (uint32_t c = 0; c < s.d; c++)
                x.k[(size_t)t * s.d + c] *= 0.5f + 2.0f * t / n;
        float *batch = batch_outputs(ctx, &x), one[64], split[64];
        vka_plan *plain = decoder(ctx, &s, 1, n, "1"), *auto_split = decoder(ctx, &s, 1, n, "0");
        CHECK_MSG(!auto_split || splits_of(auto_split) > 1, "class %d: one query over %u keys was not split", cls, n);
        CHECK(!plain || splits_of(plain) == 0);
        double worst = 0, apart = 0;
        bool zero = true;
        for (uint32_t t = 0; batch && plain && auto_split && t < n; t++) {
            uint32_t done[1] = {t}, added[1] = {1};
            if (decode_run(plain, &x, 1, done, added, one) || decode_run(auto_split, &x, 1, done, added, split)) {
                CHECK_MSG(0, "class %d step %u: %s", cls, t, vka_last_error(ctx));
                break;
            }
            worst = MAX(worst, run_error(&x, batch, one, 1, done, added, &zero));
            worst = MAX(worst, run_error(&x, batch, split, 1, done, added, &zero));
            for (uint32_t c = 0; c < s.heads * s.dv; c++)
                apart = MAX(apart, fabs((double)one[c] - split[c]));
        }
        CHECK_MSG(worst <= 1e-5, "class %d: %u steps differ from the batch form by %.3g (relative)", cls, n, worst);
        CHECK_MSG(apart <= 1e-6, "class %d: split-K and one pass differ by %.3g", cls, apart);
        /* Full: one more token is refused, naming the lengths, and nothing runs. */
        uint32_t added[1] = {1};
        vka_result r = plain ? decode_run(plain, &x, 1, (uint32_t[]){0}, added, one) : VKA_SUCCESS;
        char needle[64];
        snprintf(needle, sizeof needle, "holds %u of its %u positions and this run adds 1", n, n);
        CHECK_MSG(r == VKA_ERROR_LIMIT_EXCEEDED && strstr(vka_last_error(ctx), needle), "a full cache: %s",
                  vka_last_error(ctx));
        vka_plan_destroy(plain);
        vka_plan_destroy(auto_split);
        free(batch);
        sequence_free(&x);
        test_check_validation(ctx);
    }
}

/* Overflow is refused before anything runs (the cache is untouched: the run after, which
 * fits, still matches the batch form); reset empties the cache; a saved cache restored
 * gives the same steps again; a restored length past the capacity is refused. */
static void overflow_reset_save_restore(void)
{
    if (!test_class_contexts(contexts))
        return;
    vka_context *ctx = contexts[0];
    const shape s = {.batch = 1, .heads = 2, .kv_heads = 2, .d = 8, .dv = 8};
    const uint32_t n = 10, rows = 4; /* the capacity; the sequence has 12 tokens (a refused run reads 8..11) */
    sequence x;
    CHECK(sequence_make(&x, &s, n + 2, 3));
    float *batch = batch_outputs(ctx, &x), out[2 * 4 * 8], again[2 * 4 * 8];
    vka_plan *plan = decoder(ctx, &s, rows, n, NULL);
    if (!batch || !plan)
        goto done;
    bool zero = true;
    uint32_t done0[1] = {0}, done4[1] = {4}, done8[1] = {8}, four[1] = {4}, two[1] = {2};
    CHECK_OK(ctx, decode_run(plan, &x, rows, done0, four, out));
    CHECK_OK(ctx, decode_run(plan, &x, rows, done4, four, out));
    vka_result r = decode_run(plan, &x, rows, done8, four, out);
    CHECK_MSG(r == VKA_ERROR_LIMIT_EXCEEDED && strstr(vka_last_error(ctx), "batch 0's KV cache holds 8 of its 10"),
              "overflow: %s", vka_last_error(ctx));
    /* Save the cache of 8 tokens. */
    size_t cache_bytes = (size_t)s.kv_heads * n * s.d * 4;
    float *saved_k = malloc(cache_bytes), *saved_v = malloc(cache_bytes);
    int32_t saved_len[1];
    CHECK_OK(ctx, vka_plan_read(plan, "cache.k", saved_k, cache_bytes));
    CHECK_OK(ctx, vka_plan_read(plan, "cache.v", saved_v, cache_bytes));
    CHECK_OK(ctx, vka_plan_read(plan, "cache.length", saved_len, sizeof saved_len));
    CHECK(saved_len[0] == 8);
    CHECK_OK(ctx, decode_run(plan, &x, rows, done8, two, out));
    CHECK_MSG(run_error(&x, batch, out, rows, done8, two, &zero) <= 1e-5 && zero,
              "the run after a refused one does not match the batch form");
    /* Reset: empty again, the first tokens run from position 0. */
    CHECK_OK(ctx, vka_plan_reset_states(plan));
    CHECK_OK(ctx, decode_run(plan, &x, rows, done0, four, out));
    CHECK_MSG(run_error(&x, batch, out, rows, done0, four, &zero) <= 1e-5, "after reset: not the first tokens' rows");
    /* Restore the 8 tokens: the last two again, exactly as before. */
    CHECK_OK(ctx, vka_plan_write(plan, "cache.k", saved_k, cache_bytes));
    CHECK_OK(ctx, vka_plan_write(plan, "cache.v", saved_v, cache_bytes));
    CHECK_OK(ctx, vka_plan_write(plan, "cache.length", saved_len, sizeof saved_len));
    CHECK_OK(ctx, decode_run(plan, &x, rows, done8, two, again));
    CHECK_MSG(run_error(&x, batch, again, rows, done8, two, &zero) <= 1e-5, "after restore: not tokens 8 and 9");
    int32_t too_long[1] = {11};
    r = vka_plan_write(plan, "cache.length", too_long, sizeof too_long);
    CHECK_MSG(r != VKA_SUCCESS && strstr(vka_last_error(ctx), "cache.length"), "length 11 of 10 written: %s",
              vka_last_error(ctx));
    free(saved_k);
    free(saved_v);
done:
    vka_plan_destroy(plan);
    free(batch);
    sequence_free(&x);
    test_check_validation(ctx);
}

/* Split-K outside decoding (cross attention to a long memory): the planner's choice, and
 * forced counts, equal one pass and the reference; causal and kv_len too. */
static void split_k_equals_one_pass(void)
{
    if (!test_class_contexts(contexts))
        return;
    const shape s = {.batch = 2, .heads = 2, .kv_heads = 2, .d = 64, .dv = 40};
    const uint32_t nq = 3, nk = 3001;
    size_t qn = (size_t)s.batch * s.heads * nq * s.d, kn = (size_t)s.batch * s.heads * nk * s.d,
           vn = (size_t)s.batch * s.heads * nk * s.dv, on = (size_t)s.batch * s.heads * nq * s.dv;
    float *q = malloc(qn * 4), *k = malloc(kn * 4), *v = malloc(vn * 4), *ref = malloc(on * 4), *one = malloc(on * 4),
          *got = malloc(on * 4);
    int32_t lens[2] = {3001, 1717};
    test_seed(11);
    test_fill_normal(q, qn, 1.0f);
    test_fill_normal(k, kn, 1.0f);
    test_fill_normal(v, vn, 1.0f);
    static const char *const splits[] = {"1", "0", "7", "256"};
    for (int cls = 0; cls < 2; cls++)
        for (int causal = 0; causal < 2; causal++)
            for (size_t i = 0; i < COUNT(splits); i++) {
                vka_context *ctx = contexts[cls];
                vka_graph *g = softmax_graph(ctx, &s, nq, nk, true, (vka_op_param[]){{"split_k", splits[i]}, {0}},
                                             (vka_op_number[]){{"causal", causal}, {0}});
                vka_host_tensor in[4] = {
                    {"q", q, qn * 4}, {"k", k, kn * 4}, {"v", v, vn * 4}, {"kv_len", lens, sizeof lens}};
                if (i == 0 && g)
                    CHECK_OK(ctx, vka_graph_reference(g, in, 4, &(vka_host_tensor){"o", ref, on * 4}, 1));
                vka_plan *plan = plan_of(ctx, g);
                for (int t = 0; plan && t < 4; t++)
                    CHECK_OK(ctx, vka_plan_write(plan, in[t].name, in[t].data, in[t].bytes));
                if (plan && !vka_plan_run(plan) &&
                    !vka_plan_read(plan, i == 0 ? "o" : "o", i == 0 ? one : got, on * 4)) {
                    uint64_t n_split = splits_of(plan);
                    if (i == 0) {
                        CHECK(n_split == 0);
                        test_close("one pass vs reference", one, ref, on, 1e-4, 1e-3);
                    } else {
                        CHECK_MSG(n_split > 1, "class %d split_k=%s: %llu splits", cls, splits[i],
                                  (unsigned long long)n_split);
                        test_close("split-K vs one pass", got, one, on, 1e-6, 1e-5);
                    }
                } else {
                    CHECK_MSG(0, "class %d split_k=%s: %s", cls, splits[i], vka_last_error(ctx));
                }
                vka_plan_destroy(plan);
            }
    test_check_validation(contexts[0]);
    test_check_validation(contexts[1]);
    free(q);
    free(k);
    free(v);
    free(ref);
    free(one);
    free(got);
}

/* causal_align=top_left (query i sees keys j <= i): with Nq ≤ Nk it is the bottom-right
 * mask over the first Nq keys (an oracle that shares no code with it); both kernels, both
 * classes, and with Nq > Nk against the reference. */
static void top_left_alignment(void)
{
    if (!test_class_contexts(contexts))
        return;
    const shape s = {.batch = 1, .heads = 2, .kv_heads = 2, .d = 16, .dv = 16};
    static const uint32_t sizes[][2] = {{5, 9}, {9, 5}};
    static const char *const kernels[] = {"flash", "materialized"};
    for (size_t z = 0; z < 2; z++) {
        uint32_t nq = sizes[z][0], nk = sizes[z][1];
        size_t qn = (size_t)s.heads * nq * s.d, kn = (size_t)s.heads * nk * s.d, on = (size_t)s.heads * nq * s.dv;
        float q[2 * 9 * 16], k[2 * 9 * 16], v[2 * 9 * 16], ref[2 * 9 * 16], got[2 * 9 * 16], k_short[2 * 9 * 16],
            v_short[2 * 9 * 16];
        test_seed(5 + z);
        test_fill_normal(q, qn, 1.0f);
        test_fill_normal(k, kn, 1.0f);
        test_fill_normal(v, kn, 1.0f);
        for (int cls = 0; cls < 2; cls++)
            for (int kern = 0; kern < 2; kern++) {
                vka_context *ctx = contexts[cls];
                vka_graph *g =
                    softmax_graph(ctx, &s, nq, nk, false,
                                  (vka_op_param[]){{"causal_align", "top_left"}, {"kernel", kernels[kern]}, {0}},
                                  (vka_op_number[]){{"causal", 1}, {0}});
                vka_host_tensor in[3] = {{"q", q, qn * 4}, {"k", k, kn * 4}, {"v", v, kn * 4}};
                if (g)
                    CHECK_OK(ctx, vka_graph_reference(g, in, 3, &(vka_host_tensor){"o", ref, on * 4}, 1));
                vka_plan *plan = plan_of(ctx, g);
                for (int t = 0; plan && t < 3; t++)
                    CHECK_OK(ctx, vka_plan_write(plan, in[t].name, in[t].data, in[t].bytes));
                if (plan && !vka_plan_run(plan) && !vka_plan_read(plan, "o", got, on * 4))
                    test_close("top-left vs reference", got, ref, on, 1e-5, 1e-4);
                else
                    CHECK_MSG(0, "top_left %s: %s", kernels[kern], vka_last_error(ctx));
                vka_plan_destroy(plan);
            }
        if (nq <= nk) { /* the independent oracle: bottom-right over keys [0, Nq) */
            for (uint32_t h = 0; h < s.heads; h++) {
                memcpy(k_short + (size_t)h * nq * s.d, k + (size_t)h * nk * s.d, (size_t)nq * s.d * 4);
                memcpy(v_short + (size_t)h * nq * s.dv, v + (size_t)h * nk * s.dv, (size_t)nq * s.dv * 4);
            }
            vka_graph *g = softmax_graph(contexts[0], &s, nq, nq, false, NULL, (vka_op_number[]){{"causal", 1}, {0}});
            vka_host_tensor in[3] = {{"q", q, qn * 4},
                                     {"k", k_short, (size_t)s.heads * nq * s.d * 4},
                                     {"v", v_short, (size_t)s.heads * nq * s.dv * 4}};
            if (g)
                CHECK_OK(contexts[0], vka_graph_reference(g, in, 3, &(vka_host_tensor){"o", got, on * 4}, 1));
            test_close("top-left vs bottom-right on the first Nq keys", ref, got, on, 1e-12, 1e-12);
            vka_graph_destroy(g);
        }
    }
    test_check_validation(contexts[0]);
    test_check_validation(contexts[1]);
}

/* Sinks and the soft cap (SCHEMES.md §1) against the reference: large logits (so the cap
 * bites), causal or not, kv_len with an empty row (0 even with a sink), both kernels,
 * flash in one pass and split, both classes; and a cap far above small logits changing
 * nothing measurable. */
static void sinks_and_softcap(void)
{
    if (!test_class_contexts(contexts))
        return;
    const shape s = {.batch = 2, .heads = 3, .kv_heads = 3, .d = 16, .dv = 12};
    const uint32_t nq = 7, nk = 300;
    size_t qn = (size_t)s.batch * s.heads * nq * s.d, kn = (size_t)s.batch * s.heads * nk * s.d,
           vn = (size_t)s.batch * s.heads * nk * s.dv, on = (size_t)s.batch * s.heads * nq * s.dv;
    float *q = malloc(qn * 4), *k = malloc(kn * 4), *v = malloc(vn * 4), *ref = malloc(on * 4), *got = malloc(on * 4);
    float sinks[3] = {2.5f, -1.0f, 9.0f};
    int32_t lens[2] = {0, 211}; /* batch 0: no key at all */
    test_seed(21);
    test_fill_normal(q, qn, 2.0f);
    test_fill_normal(k, kn, 2.0f);
    test_fill_normal(v, vn, 1.0f);
    static const struct {
        const char *kernel, *split_k, *softcap;
        int causal;
    } variants[] = {{"flash", "1", "5", 0},        {"flash", "4", "5", 1}, {"materialized", "0", "5", 1},
                    {"materialized", "0", "0", 0}, {"flash", "1", "0", 1}, {"flash", "3", "2.5", 0},
                    {"flash", "1", "1e6", 0}};
    for (int cls = 0; cls < 2; cls++)
        for (size_t i = 0; i < COUNT(variants); i++) {
            vka_context *ctx = contexts[cls];
            vka_graph *g = NULL;
            vka_tensor tq, tk, tv, tl, ts, o;
            vka_result r = vka_graph_create(ctx, &g);
            vka_graph_input(g, &(vka_tensor_desc){"q", .rank = 4, .dims = {2, 3, nq, s.d}}, &tq);
            vka_graph_input(g, &(vka_tensor_desc){"k", .rank = 4, .dims = {2, 3, nk, s.d}}, &tk);
            vka_graph_input(g, &(vka_tensor_desc){"v", .rank = 4, .dims = {2, 3, nk, s.dv}}, &tv);
            vka_graph_input(g, &(vka_tensor_desc){"kv_len", VKA_DTYPE_I32, 1, {2}}, &tl);
            vka_graph_input(g, &(vka_tensor_desc){"sinks", .rank = 1, .dims = {3}}, &ts);
            if (!r)
                r = vka_graph_op(
                    g,
                    &(vka_op_desc){.op = "softmax",
                                   .inputs = {{"q", tq}, {"k", tk}, {"v", tv}, {"kv_len", tl}, {"sinks", ts}},
                                   .params = {{"kernel", variants[i].kernel},
                                              {"split_k", variants[i].split_k},
                                              {"softcap", variants[i].softcap}},
                                   .numbers = {{"causal", variants[i].causal}}},
                    &o);
            if (!r)
                r = vka_graph_output(g, "o", o);
            vka_host_tensor in[5] = {{"q", q, qn * 4},
                                     {"k", k, kn * 4},
                                     {"v", v, vn * 4},
                                     {"kv_len", lens, sizeof lens},
                                     {"sinks", sinks, sizeof sinks}};
            if (!r)
                r = vka_graph_reference(g, in, 5, &(vka_host_tensor){"o", ref, on * 4}, 1);
            vka_plan *plan = NULL;
            if (!r)
                r = vka_plan_create(g, NULL, &plan);
            for (int t = 0; !r && t < 5; t++)
                r = vka_plan_write(plan, in[t].name, in[t].data, in[t].bytes);
            if (!r && !(r = vka_plan_run(plan)))
                r = vka_plan_read(plan, "o", got, on * 4);
            char what[96];
            snprintf(what, sizeof what, "class %d %s split_k=%s softcap=%s causal=%d", cls, variants[i].kernel,
                     variants[i].split_k, variants[i].softcap, variants[i].causal);
            if (r)
                CHECK_MSG(0, "%s: %s", what, vka_last_error(ctx));
            else
                test_close(what, got, ref, on, 2e-5, 2e-4);
            if (!r && atoi(variants[i].split_k) > 1)
                CHECK_MSG(splits_of(plan) > 1, "%s: not split", what);
            for (size_t e = 0; !r && e < (size_t)s.heads * nq * s.dv; e++) /* batch 0 sees no key */
                if (got[e] != 0.0f) {
                    CHECK_MSG(0, "%s: a row with no key (and a sink) is not 0", what);
                    break;
                }
            vka_plan_destroy(plan);
            vka_graph_destroy(g);
        }
    test_check_validation(contexts[0]);
    test_check_validation(contexts[1]);
    free(q);
    free(k);
    free(v);
    free(ref);
    free(got);
}

/* `vkattn run softmax … decode=1 chunk=5` over 13 tokens with grouped heads: the cache
 * sized to the sequence by the tool, the last run's 3 tokens said through kv_len; the
 * output file equals the batch causal reference. */
static void cli_decode(void)
{
    vka_context *ctx = contexts[0] ? contexts[0] : (test_class_contexts(contexts), contexts[0]);
    if (!ctx)
        return;
    char dir[] = "/tmp/vkattn_kvdecode_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK_MSG(0, "mkdtemp failed");
        return;
    }
    const shape s = {.batch = 2, .heads = 4, .kv_heads = 2, .d = 8, .dv = 8};
    const uint32_t n = 13;
    sequence x;
    CHECK(sequence_make(&x, &s, n, 77));
    size_t on = (size_t)s.batch * s.heads * n * s.dv;
    float *ref = malloc(on * 4);
    vka_graph *g = softmax_graph(ctx, &s, n, n, false, NULL, (vka_op_number[]){{"causal", 1}, {0}});
    vka_host_tensor in[3] = {{"q", x.q, (size_t)s.batch * s.heads * n * s.d * 4},
                             {"k", x.k, (size_t)s.batch * s.kv_heads * n * s.d * 4},
                             {"v", x.v, (size_t)s.batch * s.kv_heads * n * s.dv * 4}};
    if (g)
        CHECK_OK(ctx, vka_graph_reference(g, in, 3, &(vka_host_tensor){"o", ref, on * 4}, 1));
    vka_graph_destroy(g);
    char path[3][256], out_path[256], command[2048];
    const char *const roles[] = {"q", "k", "v"};
    for (int r = 0; r < 3; r++) {
        uint32_t dims[4] = {s.batch, r ? s.kv_heads : s.heads, n, s.d};
        snprintf(path[r], sizeof path[r], "%s/%s.npy", dir, roles[r]);
        CHECK_OK(NULL, vka_npy_save(NULL, path[r], VKA_DTYPE_F32, 4, dims, in[r].data));
    }
    snprintf(out_path, sizeof out_path, "%s/o.npy", dir);
    snprintf(command, sizeof command,
             "VKATTN_VALIDATION=1 '%s' run softmax q=%s k=%s v=%s causal=1 decode=1 chunk=5 out=%s >/dev/null 2>&1",
             VKATTN_CLI_PATH, path[0], path[1], path[2], out_path);
    CHECK_MSG(system(command) == 0, "failed: %s", command);
    vka_npy out = {0};
    if (vka_npy_load(NULL, out_path, &out) == VKA_SUCCESS && out.bytes == on * 4)
        test_close("vkattn run softmax decode=1 chunk=5", out.data, ref, on, 2e-5, 2e-4);
    else
        CHECK_MSG(0, "no output of the right size from vkattn run softmax decode=1");
    vka_npy_free(&out);
    for (int r = 0; r < 3; r++)
        remove(path[r]);
    remove(out_path);
    rmdir(dir);
    free(ref);
    sequence_free(&x);
}

/* Head dims up to 512 (SCHEMES.md §1): D = 512 with Dv = 384, causal, both kernels and
 * classes, against the reference; 513 refused. (One shape: llvmpipe compiles each D = 512
 * flash variant for about a minute with a cold shader cache.) */
static void head_dim_512(void)
{
    if (!test_class_contexts(contexts))
        return;
    static const uint32_t dims[][2] = {{512, 384}};
    static const char *const kernels[] = {"flash", "materialized"};
    for (size_t z = 0; z < COUNT(dims); z++) {
        const shape s = {.batch = 1, .heads = 2, .kv_heads = 2, .d = dims[z][0], .dv = dims[z][1]};
        const uint32_t nq = 5, nk = 70;
        size_t qn = (size_t)s.heads * nq * s.d, kn = (size_t)s.heads * nk * s.d, vn = (size_t)s.heads * nk * s.dv,
               on = (size_t)s.heads * nq * s.dv;
        float *q = malloc(qn * 4), *k = malloc(kn * 4), *v = malloc(vn * 4), *ref = malloc(on * 4),
              *got = malloc(on * 4);
        test_seed(31 + z);
        test_fill_normal(q, qn, 1.0f);
        test_fill_normal(k, kn, 1.0f);
        test_fill_normal(v, vn, 1.0f);
        for (int cls = 0; cls < 2; cls++)
            for (int kern = 0; kern < 2; kern++) {
                vka_context *ctx = contexts[cls];
                vka_graph *g = softmax_graph(ctx, &s, nq, nk, false, (vka_op_param[]){{"kernel", kernels[kern]}, {0}},
                                             (vka_op_number[]){{"causal", 1}, {0}});
                vka_host_tensor in[3] = {{"q", q, qn * 4}, {"k", k, kn * 4}, {"v", v, vn * 4}};
                if (g)
                    CHECK_OK(ctx, vka_graph_reference(g, in, 3, &(vka_host_tensor){"o", ref, on * 4}, 1));
                vka_plan *plan = plan_of(ctx, g);
                for (int t = 0; plan && t < 3; t++)
                    CHECK_OK(ctx, vka_plan_write(plan, in[t].name, in[t].data, in[t].bytes));
                char what[64];
                snprintf(what, sizeof what, "class %d %s D=%u Dv=%u", cls, kernels[kern], s.d, s.dv);
                if (plan && !vka_plan_run(plan) && !vka_plan_read(plan, "o", got, on * 4))
                    test_close(what, got, ref, on, 2e-5, 2e-4);
                else
                    CHECK_MSG(0, "%s: %s", what, vka_last_error(ctx));
                vka_plan_destroy(plan);
            }
        free(q);
        free(k);
        free(v);
        free(ref);
        free(got);
    }
    const shape wide = {.batch = 1, .heads = 1, .kv_heads = 1, .d = 513, .dv = 8};
    vka_graph *g = NULL;
    vka_tensor q, k, v, o;
    CHECK_OK(contexts[0], vka_graph_create(contexts[0], &g));
    vka_graph_input(g, &(vka_tensor_desc){"q", .rank = 4, .dims = {1, 1, 4, wide.d}}, &q);
    vka_graph_input(g, &(vka_tensor_desc){"k", .rank = 4, .dims = {1, 1, 4, wide.d}}, &k);
    vka_graph_input(g, &(vka_tensor_desc){"v", .rank = 4, .dims = {1, 1, 4, wide.dv}}, &v);
    vka_result r = vka_graph_op(g, &(vka_op_desc){.op = "softmax", .inputs = {{"q", q}, {"k", k}, {"v", v}}}, &o);
    CHECK_MSG(r == VKA_ERROR_UNSUPPORTED && strstr(vka_last_error(contexts[0]), "head dim 513"), "D = 513: %s",
              vka_last_error(contexts[0]));
    vka_graph_destroy(g);
    test_check_validation(contexts[0]);
    test_check_validation(contexts[1]);
}

/* One softmax run with an additive mask of `mask_dims` (and kv_len, causal); the output
 * in `got`, the reference in `ref` (if not NULL). */
static vka_result masked_run(vka_context *ctx, const shape *s, uint32_t nq, uint32_t nk, const uint32_t mask_dims[2],
                             vka_dtype mask_dtype, const vka_op_param *params, const float *q, const float *k,
                             const float *v, const float *mask, const int32_t *lens, float *got, float *ref)
{
    size_t qn = (size_t)s->batch * s->heads * nq * s->d, kn = (size_t)s->batch * s->kv_heads * nk * s->d,
           vn = (size_t)s->batch * s->kv_heads * nk * s->dv, on = (size_t)s->batch * s->heads * nq * s->dv,
           mn = (size_t)mask_dims[0] * mask_dims[1] * nq * nk;
    uint16_t *half = NULL;
    if (mask_dtype == VKA_DTYPE_F16 && (half = malloc(mn * 2)))
        vka_f16_from_f32(mask, half, mn);
    vka_graph *g = NULL;
    vka_tensor tq, tk, tv, tl, tm, o;
    vka_result r = vka_graph_create(ctx, &g);
    if (!r)
        r = vka_graph_input(g, &(vka_tensor_desc){"q", .rank = 4, .dims = {s->batch, s->heads, nq, s->d}}, &tq);
    if (!r)
        r = vka_graph_input(g, &(vka_tensor_desc){"k", .rank = 4, .dims = {s->batch, s->kv_heads, nk, s->d}}, &tk);
    if (!r)
        r = vka_graph_input(g, &(vka_tensor_desc){"v", .rank = 4, .dims = {s->batch, s->kv_heads, nk, s->dv}}, &tv);
    if (!r)
        r = vka_graph_input(g, &(vka_tensor_desc){"kv_len", VKA_DTYPE_I32, 1, {s->batch}}, &tl);
    if (!r)
        r = vka_graph_input(g, &(vka_tensor_desc){"mask", mask_dtype, 4, {mask_dims[0], mask_dims[1], nq, nk}}, &tm);
    vka_op_desc op = {.op = "softmax",
                      .inputs = {{"q", tq}, {"k", tk}, {"v", tv}, {"kv_len", tl}, {"mask", tm}},
                      .numbers = {{"causal", 1}}};
    for (int i = 0; params && params[i].key; i++)
        op.params[i] = params[i];
    if (!r)
        r = vka_graph_op(g, &op, &o);
    if (!r)
        r = vka_graph_output(g, "o", o);
    vka_host_tensor in[5] = {{"q", (void *)q, qn * 4},
                             {"k", (void *)k, kn * 4},
                             {"v", (void *)v, vn * 4},
                             {"kv_len", (void *)lens, s->batch * 4},
                             {"mask", half ? (void *)half : (void *)mask, mn * (half ? 2 : 4)}};
    if (!r && ref)
        r = vka_graph_reference(g, in, 5, &(vka_host_tensor){"o", ref, on * 4}, 1);
    vka_plan *plan = NULL;
    if (!r)
        r = vka_plan_create(g, NULL, &plan);
    for (int i = 0; !r && i < 5; i++)
        r = vka_plan_write(plan, in[i].name, in[i].data, in[i].bytes);
    if (!r && !(r = vka_plan_run(plan)))
        r = vka_plan_read(plan, "o", got, on * 4);
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    free(half);
    return r;
}

/* An additive mask (SCHEMES.md §1) in each broadcast shape, with −inf entries and a row
 * masked whole (0), against the reference: both kernels, one pass and split, both
 * classes, an f16 mask; and against an oracle sharing no mask code — a mask of 0 before
 * key L and −inf from it equals kv_len = L. */
static void additive_mask(void)
{
    if (!test_class_contexts(contexts))
        return;
    const shape s = {.batch = 2, .heads = 3, .kv_heads = 3, .d = 16, .dv = 8};
    const uint32_t nq = 6, nk = 39;
    size_t qn = (size_t)s.batch * s.heads * nq * s.d, kn = (size_t)s.batch * s.heads * nk * s.d,
           vn = (size_t)s.batch * s.heads * nk * s.dv, on = (size_t)s.batch * s.heads * nq * s.dv,
           mn = (size_t)s.batch * s.heads * nq * nk;
    float *q = malloc(qn * 4), *k = malloc(kn * 4), *v = malloc(vn * 4), *mask = malloc(mn * 4), *ref = malloc(on * 4),
          *got = malloc(on * 4);
    int32_t lens[2] = {39, 30};
    test_seed(45);
    test_fill_normal(q, qn, 1.0f);
    test_fill_normal(k, kn, 1.0f);
    test_fill_normal(v, vn, 1.0f);
    test_fill_normal(mask, mn, 2.0f);
    for (size_t i = 0; i < mn; i += 7)
        mask[i] = -INFINITY;
    for (uint32_t j = 0; j < nk; j++) /* query row 4 of the first mask slice: every key masked */
        mask[4 * nk + j] = -INFINITY;
    static const uint32_t mask_shapes[][2] = {{2, 3}, {2, 1}, {1, 1}, {1, 3}};
    static const vka_op_param variants[][3] = {
        {{"kernel", "flash"}, {"split_k", "1"}}, {{"kernel", "flash"}, {"split_k", "3"}}, {{"kernel", "materialized"}}};
    for (int cls = 0; cls < 2; cls++)
        for (size_t m = 0; m < COUNT(mask_shapes); m++)
            for (size_t i = 0; i < COUNT(variants); i++) {
                vka_context *ctx = contexts[cls];
                vka_dtype dtype = m == 3 && i == 0 ? VKA_DTYPE_F16 : VKA_DTYPE_F32;
                char what[96];
                snprintf(what, sizeof what, "class %d mask [%u, %u] %s %s%s", cls, mask_shapes[m][0], mask_shapes[m][1],
                         variants[i][0].value, variants[i][1].key ? variants[i][1].value : "",
                         dtype == VKA_DTYPE_F16 ? " f16" : "");
                vka_result r =
                    masked_run(ctx, &s, nq, nk, mask_shapes[m], dtype, variants[i], q, k, v, mask, lens, got, ref);
                if (r) {
                    CHECK_MSG(0, "%s: %s", what, vka_last_error(ctx));
                    continue;
                }
                /* an f16 mask: the reference sees the same rounded values */
                test_close(what, got, ref, on, 2e-5, 2e-4);
                for (uint32_t c = 0; c < s.dv; c++) /* batch 0, head 0, row 4: every key masked */
                    CHECK_MSG(got[4 * s.dv + c] == 0.0f, "%s: a row masked whole is not 0", what);
            }
    /* 0 before key 25, −inf from it, as one [1, 1] mask: kv_len = 25 for every batch. */
    for (uint32_t i = 0; i < nq; i++)
        for (uint32_t j = 0; j < nk; j++)
            mask[i * nk + j] = j < 25 ? 0.0f : -INFINITY;
    int32_t all[2] = {39, 39}, cut[2] = {25, 25};
    float *by_len = malloc(on * 4);
    for (int cls = 0; cls < 2; cls++) {
        vka_context *ctx = contexts[cls];
        CHECK_OK(ctx,
                 masked_run(ctx, &s, nq, nk, (uint32_t[]){1, 1}, VKA_DTYPE_F32, NULL, q, k, v, mask, all, got, NULL));
        for (uint32_t i = 0; i < nq; i++)
            for (uint32_t j = 0; j < nk; j++)
                mask[nq * nk + i * nk + j] = 0.0f; /* (a second slice, unused by a [1, 1] mask) */
        float *zero_mask = calloc(mn, 4);
        CHECK_OK(ctx, masked_run(ctx, &s, nq, nk, (uint32_t[]){1, 1}, VKA_DTYPE_F32, NULL, q, k, v, zero_mask, cut,
                                 by_len, NULL));
        test_close("mask of -inf from key 25 vs kv_len 25", got, by_len, on, 1e-6, 1e-6);
        free(zero_mask);
    }
    /* A mask of another batch count is refused naming the shapes (before any data is read). */
    vka_result r =
        masked_run(contexts[0], &s, nq, nk, (uint32_t[]){3, 3}, VKA_DTYPE_F32, NULL, q, k, v, mask, all, got, NULL);
    CHECK_MSG(r == VKA_ERROR_SHAPE_MISMATCH && strstr(vka_last_error(contexts[0]), "mask is [3, 3, 6, 39]"),
              "a [3, 3] mask: %s", vka_last_error(contexts[0]));
    test_check_validation(contexts[0]);
    test_check_validation(contexts[1]);
    free(by_len);
    free(q);
    free(k);
    free(v);
    free(mask);
    free(ref);
    free(got);
}

/* f16 q, k, v: the caches hold f16 (NAME.k reads back as 2-byte elements) and each run's
 * rows pass SCHEMES.md's f16 gate against the double reference of the batch form on the
 * same (rounded) inputs; grouped heads, four tokens per run. */
static void f16_cache(void)
{
    if (!test_class_contexts(contexts))
        return;
    const shape s = {.batch = 1, .heads = 2, .kv_heads = 1, .d = 16, .dv = 16};
    const uint32_t n = 20, rows = 4;
    sequence x;
    CHECK(sequence_make(&x, &s, n, 12));
    size_t qn = (size_t)s.heads * n * s.d, kn = (size_t)s.kv_heads * n * s.d, on = (size_t)s.heads * n * s.dv;
    float *seq[3] = {x.q, x.k, x.v};
    size_t counts[3] = {qn, kn, kn};
    for (int i = 0; i < 3; i++) /* the reference sees the rounded values */
        for (size_t e = 0; e < counts[i]; e++) {
            uint16_t h;
            vka_f16_from_f32(&seq[i][e], &h, 1);
            vka_f32_from_f16(&h, &seq[i][e], 1);
        }
    float *ref = malloc(on * 4);
    vka_graph *g = softmax_graph(contexts[0], &s, n, n, false, NULL, (vka_op_number[]){{"causal", 1}, {0}});
    vka_host_tensor in[3] = {{"q", x.q, qn * 4}, {"k", x.k, kn * 4}, {"v", x.v, kn * 4}};
    if (g)
        CHECK_OK(contexts[0], vka_graph_reference(g, in, 3, &(vka_host_tensor){"o", ref, on * 4}, 1));
    vka_graph_destroy(g);
    for (int cls = 0; cls < 2; cls++) {
        vka_context *ctx = contexts[cls];
        vka_graph *dg = NULL;
        vka_tensor q, k, v, o;
        vka_plan *plan = NULL;
        CHECK_OK(ctx, vka_graph_create(ctx, &dg));
        vka_graph_input(dg, &(vka_tensor_desc){"q", VKA_DTYPE_F16, 4, {1, s.heads, rows, s.d}}, &q);
        vka_graph_input(dg, &(vka_tensor_desc){"k", VKA_DTYPE_F16, 4, {1, s.kv_heads, rows, s.d}}, &k);
        vka_graph_input(dg, &(vka_tensor_desc){"v", VKA_DTYPE_F16, 4, {1, s.kv_heads, rows, s.dv}}, &v);
        CHECK_OK(ctx, vka_graph_op(dg,
                                   &(vka_op_desc){.op = "softmax",
                                                  .inputs = {{"q", q}, {"k", k}, {"v", v}},
                                                  .params = {{"decode", "1"}, {"capacity", "20"}, {"state", "c"}},
                                                  .numbers = {{"causal", 1}}},
                                   &o));
        CHECK_OK(ctx, vka_graph_output(dg, "o", o));
        CHECK_OK(ctx, vka_plan_create(dg, NULL, &plan));
        vka_graph_destroy(dg);
        float *got = malloc(on * 4);
        for (uint32_t t0 = 0; plan && t0 < n; t0 += rows) {
            const char *names[3] = {"q", "k", "v"};
            uint32_t heads[3] = {s.heads, s.kv_heads, s.kv_heads};
            for (int i = 0; i < 3; i++) {
                uint16_t chunk[2 * 4 * 16];
                for (uint32_t h = 0; h < heads[i]; h++)
                    vka_f16_from_f32(seq[i] + ((size_t)h * n + t0) * s.d, chunk + (size_t)h * rows * s.d,
                                     (size_t)rows * s.d);
                CHECK_OK(ctx, vka_plan_write(plan, names[i], chunk, (size_t)heads[i] * rows * s.d * 2));
            }
            uint16_t out[2 * 4 * 16];
            CHECK_OK(ctx, vka_plan_run(plan));
            CHECK_OK(ctx, vka_plan_read(plan, "o", out, sizeof out));
            for (uint32_t h = 0; h < s.heads; h++)
                vka_f32_from_f16(out + (size_t)h * rows * s.dv, got + ((size_t)h * n + t0) * s.dv, (size_t)rows * s.dv);
        }
        char what[48];
        snprintf(what, sizeof what, "class %d f16 decoding", cls);
        if (plan)
            test_f16_gate(what, got, ref, on);
        uint16_t cache_k[20 * 16];
        CHECK_MSG(plan && vka_plan_read(plan, "c.k", cache_k, sizeof cache_k) == VKA_SUCCESS,
                  "the f16 cache does not read back as f16: %s", vka_last_error(ctx));
        vka_plan_destroy(plan);
        free(got);
        test_check_validation(ctx);
    }
    free(ref);
    sequence_free(&x);
}

/* `vkattn bench --decode` on a small shape: every step and prefill row ran and reached the
 * JSON file (the tool's own program, not a timing test). */
static void bench_decode_rows(void)
{
    char json[] = "/tmp/vkattn_bench_decode_XXXXXX", command[1024];
    int fd = mkstemp(json);
    if (fd < 0) {
        CHECK_MSG(0, "mkstemp failed");
        return;
    }
    close(fd);
    snprintf(command, sizeof command,
             "VKATTN_VALIDATION=1 '%s' bench --decode --quick --n 128,256 --heads 2 --kv-heads 1 --d 16 --json '%s' "
             ">/dev/null 2>&1",
             VKATTN_CLI_PATH, json);
    CHECK_MSG(system(command) == 0, "failed: %s", command);
    static char text[65536];
    test_read_text(json, text, sizeof text);
    static const char *const needles[] = {"\"copy_gbps\":",
                                          "\"scheme\":\"softmax\",\"variant\":\"split\",\"kind\":\"step\"",
                                          "\"scheme\":\"softmax\",\"variant\":\"one pass\"",
                                          "\"scheme\":\"gla\"",
                                          "\"scheme\":\"retention\"",
                                          "\"scheme\":\"deltanet\"",
                                          "\"scheme\":\"aaren\"",
                                          "\"kind\":\"prefill\"",
                                          "\"context\":256",
                                          NULL};
    CHECK_MSG(test_contains_all(text, needles), "bench --decode JSON lacks rows: %.400s", text);
    CHECK_MSG(!strstr(text, "\"ran\":false"), "a bench --decode row did not run");
    remove(json);
}

/* Every misuse refused when the graph is built, naming the parameter. */
static void bad_parameters(void)
{
    vka_context *ctx = test_context(NULL);
    if (!ctx)
        return;
    struct {
        vka_op_param params[4];
        int causal;
        uint32_t nq, nk;
        const char *needle;
    } cases[] = {
        {{{"decode", "1"}}, 1, 4, 4, "decode=1 needs capacity"},
        {{{"decode", "1"}, {"capacity", "8"}}, 0, 4, 4, "needs causal=1"},
        {{{"decode", "1"}, {"capacity", "8"}, {"kernel", "materialized"}}, 1, 4, 4, "kernel=materialized"},
        {{{"decode", "1"}, {"capacity", "8"}}, 1, 4, 5, "same new tokens"},
        {{{"decode", "1"}, {"capacity", "3"}}, 1, 4, 4, "exceed the cache's capacity 3"},
        {{{"capacity", "8"}}, 1, 4, 4, "capacity applies only with decode=1"},
        {{{"decode", "1"}, {"capacity", "8"}, {"causal_align", "top_left"}}, 1, 4, 4, "causal_align"},
        {{{"decode", "1"}, {"capacity", "0"}}, 1, 4, 4, "capacity"},
        {{{"split_k", "257"}}, 0, 4, 4, "split_k"},
        {{{"causal_align", "middle"}}, 1, 4, 4, "causal_align"},
        {{{"softcap", "-1"}}, 1, 4, 4, "softcap"},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        vka_graph *g = NULL;
        vka_tensor q, k, v, o;
        CHECK_OK(ctx, vka_graph_create(ctx, &g));
        vka_graph_input(g, &(vka_tensor_desc){"q", .rank = 4, .dims = {1, 2, cases[i].nq, 8}}, &q);
        vka_graph_input(g, &(vka_tensor_desc){"k", .rank = 4, .dims = {1, 2, cases[i].nk, 8}}, &k);
        vka_graph_input(g, &(vka_tensor_desc){"v", .rank = 4, .dims = {1, 2, cases[i].nk, 8}}, &v);
        vka_op_desc op = {
            .op = "softmax", .inputs = {{"q", q}, {"k", k}, {"v", v}}, .numbers = {{"causal", cases[i].causal}}};
        memcpy(op.params, cases[i].params, sizeof cases[i].params);
        vka_result r = vka_graph_op(g, &op, &o);
        CHECK_MSG(r != VKA_SUCCESS && strstr(vka_last_error(ctx), cases[i].needle), "case %zu: %s (wanted '%s')", i,
                  r ? vka_last_error(ctx) : "accepted", cases[i].needle);
        vka_graph_destroy(g);
    }
    test_context_done(ctx);
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"chunks_match_batch", chunks_match_batch},
        {"one_token_steps", one_token_steps},
        {"overflow_reset_save_restore", overflow_reset_save_restore},
        {"split_k_equals_one_pass", split_k_equals_one_pass},
        {"top_left_alignment", top_left_alignment},
        {"sinks_and_softcap", sinks_and_softcap},
        {"head_dim_512", head_dim_512},
        {"additive_mask", additive_mask},
        {"bad_parameters", bad_parameters},
        {"cli_decode", cli_decode},
        {"f16_cache", f16_cache},
        {"bench_decode_rows", bench_decode_rows},
    };
    int status = test_main(argc, argv, cases, sizeof cases / sizeof *cases);
    for (int i = 0; i < 2; i++)
        test_context_done(contexts[i]);
    return status;
}
