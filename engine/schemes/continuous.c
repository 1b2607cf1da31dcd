/* `continuous` — ∞-former continuous attention, SCHEMES.md §6 (Martins et al. 2021). The L
 * keys and values are a signal over [0, 1] (token i at (i + 0.5) / L), fitted by ridge
 * regression onto N Gaussian RBFs: Kᵐ = Gᵀk, Vᵐ = Gᵀv with G = Fᵀ(F Fᵀ + λI)⁻¹ computed
 * on the host in double (basis.c) and cached by the context. Each query then attends with
 * a Gaussian density over [0, 1] whose mean and variance come from its scores against Kᵐ,
 * reading Vᵐ through the closed-form expectations of the basis functions:
 *
 *   s = Kᵐ q · scale,  μ = sigmoid(w_μ·s),  σ² = max(softplus(w_σ·s), 1e-4),
 *   r_j = 𝒩(μ; μ_j, σ_j² + σ²),  O = Vᵐᵀ r
 *
 * Lowered to two transposed products (G bound whole), the scores product, the density
 * kernel (in place over the scores) and the output product: O(N·(L + Nq)) time and memory. */
#include "basis.h"
#include "lowering/matmul.h"
#include "common/random.h"
#include "lowering/rows.h"
#include "graph/op.h"
#include "graph/params.h"
#include "lowering/shapes.h"

#include "graph/lower.h"
#include "ref/ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROLE_Q, ROLE_W_MU, ROLE_W_SIGMA, ROLE_K, ROLE_V }; /* k, v optional in the update */

#define MAX_BASIS 4096

typedef struct continuous_params {
    uint32_t batch, heads, nq, length, d, dv; /* length: of k and v (the update's chunk; 0: none) */
    vka_rbf_basis basis;
    double lambda;
    float scale;
    /* continuous_update */
    uint32_t samples;
    double tau;
    char state[48];
    bool sticky; /* samples ∝ the previous run's attention (a host step between runs) */
    uint32_t seed;
    double sticky_floor; /* the fraction of sticky samples placed evenly */
} continuous_params;

#define WEIGHTS(SHAPE)                                                                                                 \
    VKA_IN("w_mu", VKA_INPUT_LEARNED, SHAPE, "per head: a query's density centre, sigmoid(w_mu·q)"),                   \
        VKA_IN("w_sigma", VKA_INPUT_LEARNED, SHAPE, "per head: its width, softplus(w_sigma·q)")
static const vka_input_info roles[] = {VKA_IN_Q, WEIGHTS("1,H,1,Nb=256"), VKA_IN_K, VKA_IN_V, {0}};
static const vka_input_info update_roles[] = {
    VKA_IN_Q,
    WEIGHTS("1,H,1,Nb=256"),
    VKA_IN_OPTIONAL("k", VKA_INPUT_TOKENS, "B,H,Nk,D", "this run's chunk of keys"),
    VKA_IN_OPTIONAL("v", VKA_INPUT_TOKENS, "B,H,Nk,Dv", "this run's chunk of values"),
    {0},
};
#define BASIS_PARAMS                                                                                                   \
    {"nbasis", VKA_PARAM_INT, "basis functions N", NULL, "w_mu's axis 3", 1, MAX_BASIS, NULL},                         \
        {"lambda", VKA_PARAM_FLOAT, "the ridge penalty of the fit", "0.5", NULL, 0, 1e300, NULL},                      \
        {"widths",                                                                                                     \
         VKA_PARAM_LIST,                                                                                               \
         "the RBF widths, comma-separated (N splits evenly among them)",                                               \
         "0.01,0.05",                                                                                                  \
         NULL,                                                                                                         \
         0,                                                                                                            \
         0,                                                                                                            \
         NULL},                                                                                                        \
        VKA_PARAM_SCALE
static const vka_param_info params[] = {BASIS_PARAMS, {0}};
static const vka_param_info update_params[] = {
    BASIS_PARAMS,
    {"samples", VKA_PARAM_INT, "points the old signal is sampled at when refitted", "512", NULL, 1, 1u << 16, NULL},
    {"tau", VKA_PARAM_FLOAT, "the share of [0, 1] the old signal keeps", "0.5", NULL, 0, 1, NULL},
    {"state", VKA_PARAM_NAME, "the persistent coefficients' name", "memory", NULL, 0, 0, NULL},
    {"dv", VKA_PARAM_INT, "value width (when no v is given)", NULL, "v's axis 3, else q's", 1, 1u << 16, NULL},
    {"sticky", VKA_PARAM_BOOL, "sample the old signal where attention went (sticky memories)", "0", NULL, 0, 1, NULL},
    VKA_PARAM_SEED("draws the sticky samples"),
    {"sticky_floor", VKA_PARAM_FLOAT, "the share of sticky samples placed evenly", "0", NULL, 0, 1, NULL},
    {0},
};

/* ------------------------------------------------------------------ build */

static const vka_axis_rule axis_rules[] = {
    {ROLE_K, 0, "batch", ROLE_Q, 0},           {ROLE_K, 1, "heads", ROLE_Q, 1},
    {ROLE_V, 0, "batch", ROLE_Q, 0},           {ROLE_V, 1, "heads", ROLE_Q, 1},
    {ROLE_K, 3, "head dim", ROLE_Q, 3},        {ROLE_V, 2, "tokens", ROLE_K, 2},
    {ROLE_W_MU, 1, "heads", ROLE_Q, 1},        {ROLE_W_SIGMA, 1, "heads", ROLE_Q, 1},
    {ROLE_W_SIGMA, 3, "nbasis", ROLE_W_MU, 3},
};

/* widths=a,b,… (default 0.01,0.05): positive numbers, at most VKA_RBF_MAX_WIDTHS. */
static vka_result parse_widths(vka_op_build *b, vka_rbf_basis *basis)
{
    char text[256], *end;
    vka_result r = vka_param_text(b->params, "widths", text, sizeof text);
    basis->width_count = 0;
    for (const char *at = text; r == VKA_SUCCESS && *at;) {
        double w = strtod(at, &end);
        if (end == at || !(w > 0) || w > 1e6 || (*end && *end != ',') || basis->width_count == VKA_RBF_MAX_WIDTHS)
            return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT,
                            "%s: widths='%s' must be 1 to %d positive numbers separated by commas", b->op, text,
                            VKA_RBF_MAX_WIDTHS);
        basis->widths[basis->width_count++] = w;
        at = *end ? end + 1 : end;
    }
    return r;
}

/* What both forms check: q, the per-head weights, the basis and the scale. */
static vka_result build_common(vka_op_build *b, continuous_params *p)
{
    const char *weights = "[1, heads, 1, nbasis]";
    vka_result r;
    double lambda;
    if ((r = vka_expect_tensor(b, ROLE_Q, 4, VKA_DTYPE_F32, "[batch, heads, tokens, head_dim]")) ||
        (r = vka_expect_tensor(b, ROLE_W_MU, 4, VKA_DTYPE_F32, weights)) ||
        (r = vka_expect_tensor(b, ROLE_W_SIGMA, 4, VKA_DTYPE_F32, weights)) ||
        (b->inputs[ROLE_K] &&
         (r = vka_expect_tensor(b, ROLE_K, 4, VKA_DTYPE_F32, "[batch, heads, tokens, head_dim]"))) ||
        (b->inputs[ROLE_V] &&
         (r = vka_expect_tensor(b, ROLE_V, 4, VKA_DTYPE_F32, "[batch, heads, tokens, value_dim]"))) ||
        (r = vka_expect_axes(b, axis_rules, VKA_ARRAY_LEN(axis_rules))))
        return r;
    const uint32_t *q = b->inputs[ROLE_Q]->dims, *w = b->inputs[ROLE_W_MU]->dims;
    if (w[0] != 1 || w[2] != 1)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: w_mu is [%u, %u, %u, %u]; it must be %s", b->op, w[0],
                        w[1], w[2], w[3], weights);
    if ((r = vka_param_int_or(b->params, "nbasis", w[3], &p->basis.count)) ||
        (r = vka_param_float(b->params, "lambda", &lambda)) || (r = parse_widths(b, &p->basis)) ||
        (r = vka_param_scale(b->params, "scale", q[3], &p->scale)))
        return r;
    if (p->basis.count != w[3])
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: nbasis=%u but w_mu and w_sigma have %u entries (axis 3)",
                        b->op, p->basis.count, w[3]);
    if (p->basis.count % p->basis.width_count)
        return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: nbasis=%u is not a multiple of the %u widths", b->op,
                        p->basis.count, p->basis.width_count);
    p->lambda = lambda;
    p->batch = q[0];
    p->heads = q[1];
    p->nq = q[2];
    p->d = q[3];
    p->length = b->inputs[ROLE_K] ? b->inputs[ROLE_K]->dims[2] : 0;
    p->dv = b->inputs[ROLE_V] ? b->inputs[ROLE_V]->dims[3] : p->d;
    return VKA_SUCCESS;
}

static void set_output(vka_op_build *b, const continuous_params *p)
{
    b->output_rank = 4;
    memcpy(b->output_dims, (uint32_t[4]){p->batch, p->heads, p->nq, p->dv}, sizeof b->output_dims);
}

static vka_result build(vka_op_build *b)
{
    continuous_params *p = b->parsed;
    vka_result r = build_common(b, p);
    if (r == VKA_SUCCESS)
        set_output(b, p);
    return r;
}

static vka_result build_update(vka_op_build *b)
{
    continuous_params *p = b->parsed;
    vka_result r = build_common(b, p);
    uint32_t dv;
    if (r == VKA_SUCCESS && !b->inputs[ROLE_K] != !b->inputs[ROLE_V])
        r = vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: give both k and v (a new chunk) or neither", b->op);
    if (r != VKA_SUCCESS || (r = vka_param_int(b->params, "samples", &p->samples)) ||
        (r = vka_param_float(b->params, "tau", &p->tau)) ||
        (r = vka_param_text(b->params, "state", p->state, sizeof p->state)) ||
        (r = vka_param_int_or(b->params, "dv", p->dv, &dv)) || (r = vka_param_bool(b->params, "sticky", &p->sticky)) ||
        (r = vka_param_int(b->params, "seed", &p->seed)) ||
        (r = vka_param_float(b->params, "sticky_floor", &p->sticky_floor)))
        return r;
    if (b->inputs[ROLE_V] && dv != p->dv)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: dv=%u but v's axis 3 is %u", b->op, dv, p->dv);
    p->dv = dv;
    if (!(p->tau > 0 && p->tau <= 1) || (p->length && p->tau >= 1))
        return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "%s: tau=%g must lie in (0, 1), or be 1 when no chunk (k, v) is given: the old signal is "
                        "contracted into [0, tau] and the new tokens fill (tau, 1]",
                        b->op, p->tau);
    set_output(b, p);
    return VKA_SUCCESS;
}

/* ------------------------------------------------------------------ lowering */

/* The fit matrix G [L, N] of the tokens over [0, 1]. */
static vka_result fit_constant(vka_lowering *lw, const continuous_params *p, uint32_t *g)
{
    float *fit = malloc((size_t)p->length * p->basis.count * sizeof *fit);
    vka_result r = fit ? vka_rbf_fit_cached(vka_lower_context(lw), &p->basis, p->length, p->lambda, fit)
                       : vka_fail(vka_lower_context(lw), VKA_ERROR_OUT_OF_HOST_MEMORY,
                                  "out of host memory fitting %u tokens", p->length);
    if (r == VKA_SUCCESS)
        r = vka_lower_constant(lw, "fit", VKA_DTYPE_F32, 2, (uint32_t[]){p->length, p->basis.count}, fit, g);
    free(fit);
    return r;
}

/* c (= or +=) op(a) x for a shared by every slice: a [N, rows] (or [rows, N] when
 * transposed), x [rows, width] per slice, c [N, width] per slice. */
static vka_result lower_shared_product(vka_lowering *lw, const continuous_params *p, uint32_t a, bool transposed,
                                       uint32_t x, uint32_t rows, uint32_t width, uint32_t c, bool accumulate)
{
    return vka_lower_matmul(lw, &(vka_matmul_desc){.a = a,
                                                   .b = x,
                                                   .c = c,
                                                   .slices = p->batch * p->heads,
                                                   .m = p->basis.count,
                                                   .n = width,
                                                   .k = rows,
                                                   .alpha = 1.0f,
                                                   .trans_a = transposed,
                                                   .a_whole = true,
                                                   .accumulate = accumulate});
}

/* The density kernel's push fields: the shapes and the basis (its widths). */
static vka_continuous_density_push density_push(const continuous_params *p, bool keep_moments)
{
    vka_continuous_density_push push = {
        .rows = p->nq,
        .n = p->basis.count,
        .heads = p->heads,
        .per_group = p->basis.count / p->basis.width_count,
        .keep_moments = keep_moments,
    };
    for (uint32_t i = 0; i < p->basis.width_count && i < VKA_ARRAY_LEN(push.widths); i++)
        push.widths[i] = (float)p->basis.widths[i];
    return push;
}

/* The queries read the memory (km, vm): scores, densities in place (each query's μ, σ²
 * into `moments` when given), output. */
static vka_result lower_attention(vka_lowering *lw, const vka_op_node *node, const continuous_params *p, uint32_t km,
                                  uint32_t vm, uint32_t moments)
{
    uint32_t n = p->basis.count, slices = p->batch * p->heads, scores, unused = 0;
    vka_result r = moments ? VKA_SUCCESS : vka_lower_dummy(lw, &unused);
    if (r == VKA_SUCCESS)
        r = vka_lower_intermediate(lw, "density", VKA_DTYPE_F32, 4, (uint32_t[]){p->batch, p->heads, p->nq, n},
                                   &scores);
    if (r == VKA_SUCCESS) /* s = q Kᵐᵀ · scale */
        r = vka_lower_matmul(lw, &(vka_matmul_desc){.a = vka_lower_input(lw, node, ROLE_Q),
                                                    .b = km,
                                                    .c = scores,
                                                    .slices = slices,
                                                    .m = p->nq,
                                                    .n = n,
                                                    .k = p->d,
                                                    .alpha = p->scale,
                                                    .trans_b = true});
    if (r == VKA_SUCCESS) {
        vka_dispatch_desc density = {
            .kernel = VKA_KERNEL_CONTINUOUS_DENSITY,
            .spec.continuous_density = {.workgroup_size = 64},
            .push.continuous_density = density_push(p, moments != 0),
            .groups_x = vka_div_up(p->nq, 64),
            .groups_y = 1,
            .slices = slices,
            .bindings = {{.tensor = scores, .access = VKA_READ_WRITE, .whole = false},
                         {.tensor = vka_lower_input(lw, node, ROLE_W_MU), .access = VKA_READ, .whole = true},
                         {.tensor = vka_lower_input(lw, node, ROLE_W_SIGMA), .access = VKA_READ, .whole = true},
                         {.tensor = moments ? moments : unused, .access = VKA_WRITE, .whole = !moments}},
        };
        r = vka_lower_dispatch(lw, &density);
    }
    if (r == VKA_SUCCESS) /* O = r Vᵐ */
        r = vka_lower_matmul(lw, &(vka_matmul_desc){.a = scores,
                                                    .b = vm,
                                                    .c = vka_lower_result(lw, node),
                                                    .slices = slices,
                                                    .m = p->nq,
                                                    .n = p->dv,
                                                    .k = n,
                                                    .alpha = 1.0f});
    return r;
}

static vka_result lower(vka_lowering *lw, const vka_op_node *node)
{
    const continuous_params *p = node->params;
    uint32_t n = p->basis.count, g, km = 0, vm = 0;
    vka_result r = fit_constant(lw, p, &g);
    if (r == VKA_SUCCESS)
        r = vka_lower_intermediate(lw, "keys", VKA_DTYPE_F32, 4, (uint32_t[]){p->batch, p->heads, n, p->d}, &km);
    if (r == VKA_SUCCESS)
        r = vka_lower_intermediate(lw, "values", VKA_DTYPE_F32, 4, (uint32_t[]){p->batch, p->heads, n, p->dv}, &vm);
    /* Kᵐ = Gᵀ k, Vᵐ = Gᵀ v */
    if (r == VKA_SUCCESS)
        r = lower_shared_product(lw, p, g, true, vka_lower_input(lw, node, ROLE_K), p->length, p->d, km, false);
    if (r == VKA_SUCCESS)
        r = lower_shared_product(lw, p, g, true, vka_lower_input(lw, node, ROLE_V), p->length, p->dv, vm, false);
    return r == VKA_SUCCESS ? lower_attention(lw, node, p, km, vm, 0) : r;
}

/* ------------------------------------------------------------------ the unbounded memory */

/* The refit of one update as two matrices, for sample points u_s of the old signal
 * (placed at τ·u_s; uniform (s + 0.5) / S, or drawn when the memories are sticky) and the
 * chunk at τ + (1 − τ)(i + 0.5) / L:
 *   B_new = M_old B_old + M_new X,  M_old = Gᵀ[:, :S] Ψ(u) (N × N),  M_new = Gᵀ[:, S:] (N × L)
 * with Gᵀ the fit at all S + L points. In double on the host. */
static vka_result update_matrices(vka_context *ctx, const continuous_params *p, const double *u, float *m_old,
                                  float *m_new)
{
    uint32_t n = p->basis.count, s = p->samples, points = s + p->length;
    double *positions = malloc(points * sizeof *positions), *gt = malloc((size_t)n * points * sizeof *gt);
    double *psi = malloc((size_t)s * n * sizeof *psi);
    if (!positions || !gt || !psi) {
        free(positions);
        free(gt);
        free(psi);
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory refitting the memory");
    }
    for (uint32_t i = 0; i < points; i++) {
        double sample = i < s ? (u ? u[i] : (i + 0.5) / s) : 0;
        positions[i] = i < s ? p->tau * sample : p->tau + (1 - p->tau) * (i - s + 0.5) / p->length;
        if (i < s)
            vka_rbf_eval(&p->basis, sample, psi + (size_t)i * n);
    }
    vka_result r = vka_rbf_fit(ctx, &p->basis, positions, points, p->lambda, gt);
    for (uint32_t j = 0; r == VKA_SUCCESS && j < n; j++) {
        for (uint32_t k = 0; k < n; k++) {
            double sum = 0;
            for (uint32_t i = 0; i < s; i++)
                sum += gt[(size_t)j * points + i] * psi[(size_t)i * n + k];
            m_old[(size_t)j * n + k] = (float)sum;
        }
        for (uint32_t i = 0; i < p->length; i++)
            m_new[(size_t)j * p->length + i] = (float)gt[(size_t)j * points + s + i];
    }
    free(positions);
    free(gt);
    free(psi);
    return r;
}

/* ------------------------------------------------------------------ sticky memories */

enum { STICKY_BINS = 128 };

typedef struct sticky_step_state {
    continuous_params p;
} sticky_step_state;

static double normal_cdf(double x)
{
    return 0.5 * erfc(-x * 0.7071067811865476);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* S sample points in [0, 1] ∝ the attention densities of one batch's queries (all heads):
 * a 128-bin histogram of their Gaussians' mass, bins drawn by mass, points uniform inside
 * a bin, sorted. A share `sticky_floor` of the points is placed evenly instead: with narrow
 * densities the histogram alone leaves most of [0, τ] without a sample, the refit there is
 * unconstrained, and the memory grows without bound run after run (seen: by 1e8 in 20
 * runs of the stream demo with floor 0). False when the densities hold no mass (then the
 * caller samples evenly). */
static bool sticky_samples(const continuous_params *p, const float *moments, uint32_t batch, uint64_t run, double *u)
{
    double mass[STICKY_BINS] = {0}, total = 0;
    for (uint32_t h = 0; h < p->heads; h++)
        for (uint32_t i = 0; i < p->nq; i++) {
            const float *m = moments + (((size_t)batch * p->heads + h) * p->nq + i) * 2;
            double mu = m[0], sigma = sqrt(fmax(m[1], 1e-12)), below = normal_cdf((0 - mu) / sigma);
            for (uint32_t k = 0; k < STICKY_BINS; k++) {
                double above = normal_cdf(((k + 1.0) / STICKY_BINS - mu) / sigma);
                mass[k] += above - below;
                below = above;
            }
        }
    for (uint32_t k = 0; k < STICKY_BINS; k++)
        total += mass[k];
    if (!(total > 1e-300))
        return false;
    /* Deterministic from the seed, the run and the batch. */
    vka_rng rng = {p->seed * 0x9E3779B97F4A7C15ull ^ (run + 1) * 0xBF58476D1CE4E5B9ull ^ (batch + 1) * 0x94D049BBull};
    uint32_t even = (uint32_t)lround(p->sticky_floor * p->samples);
    for (uint32_t s = 0; s < even; s++)
        u[s] = (s + 0.5) / even;
    for (uint32_t s = even; s < p->samples; s++) {
        double target = vka_rng_uniform(&rng) * total, cumulative = 0;
        uint32_t k = 0;
        while (k + 1 < STICKY_BINS && cumulative + mass[k] < target)
            cumulative += mass[k++];
        u[s] = (k + vka_rng_uniform(&rng)) / STICKY_BINS;
    }
    qsort(u, p->samples, sizeof *u, by_value);
    return true;
}

/* Before each run: per batch, the refit matrices for samples drawn from the previous run's
 * attention (even samples on a plan's first run after a reset). */
static vka_result sticky_step(vka_context *ctx, void *state, uint64_t run, const float *const *reads,
                              float *const *writes)
{
    const continuous_params *p = &((const sticky_step_state *)state)->p;
    uint32_t n = p->basis.count;
    double *u = malloc(p->samples * sizeof *u);
    vka_result r = u ? VKA_SUCCESS : vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory sampling");
    for (uint32_t b = 0; r == VKA_SUCCESS && b < p->batch; b++) {
        bool drawn = run > 0 && sticky_samples(p, reads[0], b, run, u);
        r = update_matrices(ctx, p, drawn ? u : NULL, writes[0] + (size_t)b * n * n,
                            p->length ? writes[1] + (size_t)b * n * p->length : NULL);
    }
    free(u);
    return r;
}

/* ------------------------------------------------------------------ lowering the update */

/* One memory (keys or values, `width` wide): next = M_old·memory (+ M_new·x), then the
 * state takes it. The refit matrices are shared, or one per batch when sticky. */
static vka_result lower_memory_update(vka_lowering *lw, const continuous_params *p, const char *name, uint32_t width,
                                      uint32_t m_old, uint32_t m_new, uint32_t x, uint32_t *next)
{
    uint32_t n = p->basis.count, memory, dims[4] = {p->batch, p->heads, n, width};
    char state[64], scratch[64];
    snprintf(state, sizeof state, "%s.%s", p->state, name);
    snprintf(scratch, sizeof scratch, "next_%s", name);
    vka_result r = vka_lower_state(lw, state, VKA_DTYPE_F32, 4, dims, NULL, &memory);
    if (r == VKA_SUCCESS)
        r = vka_lower_intermediate(lw, scratch, VKA_DTYPE_F32, 4, dims, next);
    vka_matmul_desc refit = {.b = memory,
                             .c = *next,
                             .slices = p->batch * p->heads,
                             .m = n,
                             .n = width,
                             .alpha = 1.0f,
                             .a_whole = !p->sticky,
                             .a_slice_divisor = p->sticky ? p->heads : 0};
    if (r == VKA_SUCCESS) {
        refit.a = m_old;
        refit.k = n;
        r = vka_lower_matmul(lw, &refit);
    }
    if (r == VKA_SUCCESS && x) {
        refit.a = m_new;
        refit.b = x;
        refit.k = p->length;
        refit.accumulate = true;
        r = vka_lower_matmul(lw, &refit);
    }
    if (r == VKA_SUCCESS)
        r = vka_lower_copy_rows(
            lw, &(vka_copy_desc){
                    .src = *next, .dst = memory, .slices = p->batch * p->heads, .count = n * vka_div_up(width, 4)});
    return r;
}

/* The refit matrices as constants — [N, N] and [N, L] shared, or [B, N, N] and [B, N, L]
 * rewritten before every run by the sticky host step — starting as the even sampling. */
static vka_result refit_constants(vka_lowering *lw, const continuous_params *p, uint32_t *m_old, uint32_t *m_new)
{
    uint32_t n = p->basis.count, copies = p->sticky ? p->batch : 1, length = p->length ? p->length : 1;
    float *old = malloc((size_t)copies * n * n * sizeof *old);
    float *fresh = malloc((size_t)copies * n * length * sizeof *fresh);
    vka_result r = old && fresh ? update_matrices(vka_lower_context(lw), p, NULL, old, fresh)
                                : vka_fail(vka_lower_context(lw), VKA_ERROR_OUT_OF_HOST_MEMORY,
                                           "out of host memory planning the memory update");
    for (uint32_t b = 1; r == VKA_SUCCESS && b < copies; b++) {
        memcpy(old + (size_t)b * n * n, old, (size_t)n * n * sizeof *old);
        memcpy(fresh + (size_t)b * n * length, fresh, (size_t)n * length * sizeof *fresh);
    }
    uint32_t old_dims[3] = {copies, n, n}, new_dims[3] = {copies, n, length};
    uint32_t rank = p->sticky ? 3 : 2, offset = p->sticky ? 0 : 1;
    if (r == VKA_SUCCESS)
        r = vka_lower_constant(lw, "refit_old", VKA_DTYPE_F32, rank, old_dims + offset, old, m_old);
    if (r == VKA_SUCCESS && p->length)
        r = vka_lower_constant(lw, "refit_new", VKA_DTYPE_F32, rank, new_dims + offset, fresh, m_new);
    free(old);
    free(fresh);
    return r;
}

static vka_result lower_update(vka_lowering *lw, const vka_op_node *node)
{
    const continuous_params *p = node->params;
    uint32_t m_old, m_new = 0, km = 0, vm = 0, moments = 0;
    vka_result r = refit_constants(lw, p, &m_old, &m_new);
    if (r == VKA_SUCCESS && p->sticky) {
        char name[64];
        snprintf(name, sizeof name, "%s.moments", p->state);
        r = vka_lower_state(lw, name, VKA_DTYPE_F32, 4, (uint32_t[]){p->batch, p->heads, p->nq, 2}, NULL, &moments);
        sticky_step_state step = {.p = *p};
        if (r == VKA_SUCCESS)
            r = vka_lower_host_step(lw, &(vka_host_step_desc){.fn = sticky_step,
                                                              .state = &step,
                                                              .state_bytes = sizeof step,
                                                              .reads = {moments},
                                                              .writes = {m_old, m_new}});
    }
    if (r == VKA_SUCCESS)
        r = lower_memory_update(lw, p, "keys", p->d, m_old, m_new, vka_lower_input(lw, node, ROLE_K), &km);
    if (r == VKA_SUCCESS)
        r = lower_memory_update(lw, p, "values", p->dv, m_old, m_new, vka_lower_input(lw, node, ROLE_V), &vm);
    return r == VKA_SUCCESS ? lower_attention(lw, node, p, km, vm, moments) : r;
}

/* ------------------------------------------------------------------ reference, flops */

static vka_result reference(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    const continuous_params *p = node->params;
    bool ok = vka_ref_continuous(&(vka_ref_continuous_problem){.batch = p->batch,
                                                               .heads = p->heads,
                                                               .nq = p->nq,
                                                               .length = p->length,
                                                               .d = p->d,
                                                               .dv = p->dv,
                                                               .nbasis = p->basis.count,
                                                               .widths = p->basis.widths,
                                                               .width_count = p->basis.width_count,
                                                               .lambda = p->lambda,
                                                               .scale = p->scale,
                                                               .q = in[ROLE_Q].data,
                                                               .k = in[ROLE_K].data,
                                                               .v = in[ROLE_V].data,
                                                               .w_mu = in[ROLE_W_MU].data,
                                                               .w_sigma = in[ROLE_W_SIGMA].data,
                                                               .out = out->data,
                                                               .update = node->cls->lower == lower_update,
                                                               .samples = p->samples,
                                                               .tau = p->tau});
    return ok ? VKA_SUCCESS
              : vka_fail(ctx, VKA_ERROR_UNSUPPORTED,
                         "the continuous reference could not solve the ridge system (or ran out of memory)");
}

/* The two fits, the scores and the output products (the density pass is ~N per query). */
static double flops(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    const continuous_params *p = node->params;
    double n = p->basis.count;
    return 2.0 * p->batch * p->heads * n * ((double)p->length * (p->d + p->dv) + (double)p->nq * (p->d + p->dv));
}

/* The refit (2·N² per column) besides the chunk's fit and the queries. */
static double update_flops(const vka_graph *g, const vka_op_node *node)
{
    const continuous_params *p = node->params;
    return flops(g, node) + 2.0 * p->batch * p->heads * (double)p->basis.count * p->basis.count * (p->d + p->dv);
}

VKA_OP_CLASS(continuous) = {
    .name = "continuous",
    .summary = "∞-former continuous attention: k, v fitted onto nbasis Gaussian RBFs, each query a Gaussian density "
               "(w_mu, w_sigma [1,H,1,N])",
    .inputs = roles,
    .output_shape = "B,H,Nq,Dv",
    .rows_independent = true,
    .params = params,
    .params_size = sizeof(continuous_params),
    .build = build,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};

VKA_OP_CLASS(continuous_update) = {
    .name = "continuous_update",
    .summary = "∞-former unbounded memory: each run folds the chunk k, v into a persistent state (state=NAME: "
               "NAME.keys, NAME.values) by sampling the old signal into [0, tau], then q attends as `continuous`",
    .inputs = update_roles,
    .output_shape = "B,H,Nq,Dv",
    .params = update_params,
    .params_size = sizeof(continuous_params),
    .build = build_update,
    .lower = lower_update,
    .reference = reference,
    .flops = update_flops,
};
