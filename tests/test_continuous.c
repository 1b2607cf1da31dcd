/* ∞-former continuous attention: `continuous` against the double-precision reference
 * (engine/ref/continuous.c, which solves the ridge system by Gaussian elimination where
 * the engine uses Cholesky) over shapes, basis sizes, widths, λ and scale; the public fit
 * matrix against the normal equations it solves; with λ → 0 and L = N the fit
 * interpolates; bad parameters and a singular fit are refused with messages. Both kernel
 * classes, validation layer on. */
#include "harness.h"

#include "vkattn/embed.h" /* vka_plan_record */
#include "vkattn/continuous.h"

#include <math.h>

static vka_context *contexts[2]; /* CPU class, GPU class */

typedef struct continuous_case {
    uint32_t batch, heads, nq, length, d, dv, nbasis;
    const char *widths, *lambda, *scale; /* NULL: defaults */
    uint32_t width_count;                /* of widths (2 for the default) */
    uint64_t seed;
} continuous_case;

typedef struct continuous_data {
    float *q, *k, *v, *w_mu, *w_sigma, *out, *ref;
    size_t q_bytes, k_bytes, v_bytes, w_bytes, out_bytes;
} continuous_data;

static void data_free(continuous_data *x)
{
    free(x->q);
    free(x->k);
    free(x->v);
    free(x->w_mu);
    free(x->w_sigma);
    free(x->out);
    free(x->ref);
}

static bool data_make(const continuous_case *c, continuous_data *x)
{
    size_t bh = (size_t)c->batch * c->heads;
    x->q_bytes = bh * c->nq * c->d * 4;
    x->k_bytes = bh * c->length * c->d * 4;
    x->v_bytes = bh * c->length * c->dv * 4;
    x->w_bytes = (size_t)c->heads * c->nbasis * 4;
    x->out_bytes = bh * c->nq * c->dv * 4;
    x->q = malloc(x->q_bytes);
    x->k = malloc(x->k_bytes);
    x->v = malloc(x->v_bytes);
    x->w_mu = malloc(x->w_bytes);
    x->w_sigma = malloc(x->w_bytes);
    x->out = malloc(x->out_bytes);
    x->ref = malloc(x->out_bytes);
    if (!x->q || !x->k || !x->v || !x->w_mu || !x->w_sigma || !x->out || !x->ref)
        return false;
    test_seed(c->seed);
    test_fill_normal(x->q, x->q_bytes / 4, 1.0f);
    test_fill_normal(x->k, x->k_bytes / 4, 1.0f);
    test_fill_normal(x->v, x->v_bytes / 4, 1.0f);
    /* w·s of order 1: s has nbasis entries of order 1. */
    test_fill_normal(x->w_mu, x->w_bytes / 4, 1.0f / sqrtf((float)c->nbasis));
    test_fill_normal(x->w_sigma, x->w_bytes / 4, 1.0f / sqrtf((float)c->nbasis));
    return true;
}

static vka_graph *make_graph(vka_context *ctx, const continuous_case *c)
{
    vka_graph *g;
    if (vka_graph_create(ctx, &g) != VKA_SUCCESS)
        return NULL;
    vka_op_desc op = {.op = "continuous"};
    const char *names[5] = {"q", "k", "v", "w_mu", "w_sigma"};
    const uint32_t dims[5][4] = {{c->batch, c->heads, c->nq, c->d},
                                 {c->batch, c->heads, c->length, c->d},
                                 {c->batch, c->heads, c->length, c->dv},
                                 {1, c->heads, 1, c->nbasis},
                                 {1, c->heads, 1, c->nbasis}};
    bool ok = true;
    for (int i = 0; i < 5 && ok; i++) {
        vka_tensor_desc desc = {.name = names[i], .rank = 4};
        memcpy(desc.dims, dims[i], sizeof dims[i]);
        op.inputs[i].role = names[i];
        ok = vka_graph_input(g, &desc, &op.inputs[i].tensor) == VKA_SUCCESS;
    }
    char nbasis[16];
    snprintf(nbasis, sizeof nbasis, "%u", c->nbasis);
    uint32_t p = 0;
    op.params[p++] = (vka_op_param){"nbasis", nbasis};
    if (c->widths)
        op.params[p++] = (vka_op_param){"widths", c->widths};
    if (c->lambda)
        op.params[p++] = (vka_op_param){"lambda", c->lambda};
    if (c->scale)
        op.params[p++] = (vka_op_param){"scale", c->scale};
    vka_tensor o;
    if (!ok || vka_graph_op(g, &op, &o) != VKA_SUCCESS || vka_graph_output(g, "out", o) != VKA_SUCCESS) {
        vka_graph_destroy(g);
        return NULL;
    }
    return g;
}

static void host_inputs(const continuous_data *x, vka_host_tensor *in)
{
    in[0] = (vka_host_tensor){"q", x->q, x->q_bytes};
    in[1] = (vka_host_tensor){"k", x->k, x->k_bytes};
    in[2] = (vka_host_tensor){"v", x->v, x->v_bytes};
    in[3] = (vka_host_tensor){"w_mu", x->w_mu, x->w_bytes};
    in[4] = (vka_host_tensor){"w_sigma", x->w_sigma, x->w_bytes};
}

static void check_case(continuous_case c)
{
    if (!test_class_contexts(contexts))
        return;
    continuous_data x = {0};
    vka_host_tensor in[5];
    vka_graph *g = make_graph(contexts[0], &c);
    CHECK_MSG(g != NULL, "building the graph: %s", vka_last_error(contexts[0]));
    if (!g || !data_make(&c, &x)) {
        vka_graph_destroy(g);
        data_free(&x);
        return;
    }
    host_inputs(&x, in);
    CHECK_OK(contexts[0], vka_graph_reference(g, in, 5, &(vka_host_tensor){"out", x.ref, x.out_bytes}, 1));
    vka_graph_destroy(g);
    /* The fitted coefficients sum L terms of either sign: the absolute tolerance follows
     * the output's scale. */
    double scale = 0;
    for (size_t i = 0; i < x.out_bytes / 4; i++)
        scale = fmax(scale, fabs(x.ref[i]));
    for (int cls = 0; cls < 2; cls++) {
        vka_context *ctx = contexts[cls];
        vka_plan *plan = NULL;
        g = make_graph(ctx, &c);
        bool ok = g && vka_plan_create(g, NULL, &plan) == VKA_SUCCESS;
        for (int i = 0; ok && i < 5; i++)
            ok = vka_plan_write(plan, in[i].name, in[i].data, in[i].bytes) == VKA_SUCCESS;
        ok = ok && vka_plan_run(plan) == VKA_SUCCESS && vka_plan_read(plan, "out", x.out, x.out_bytes) == VKA_SUCCESS;
        CHECK_MSG(ok, "continuous on the device: %s", vka_last_error(ctx));
        char label[160];
        snprintf(label, sizeof label, "continuous B%u H%u Nq%u L%u D%u Dv%u N%u widths %s lambda %s %s", c.batch,
                 c.heads, c.nq, c.length, c.d, c.dv, c.nbasis, c.widths ? c.widths : "default",
                 c.lambda ? c.lambda : "default", cls ? "gpu" : "cpu");
        if (ok)
            test_close(label, x.out, x.ref, x.out_bytes / 4, fmax(1e-5, 2e-5 * scale), 1e-3);
        test_check_validation(ctx);
        vka_plan_destroy(plan);
        vka_graph_destroy(g);
    }
    data_free(&x);
}

static void shapes_against_the_reference(void)
{
    const continuous_case cases[] = {
        {.batch = 1, .heads = 2, .nq = 16, .length = 200, .d = 32, .dv = 32, .nbasis = 64, .seed = 1},
        {.batch = 2, .heads = 1, .nq = 5, .length = 1000, .d = 16, .dv = 16, .nbasis = 256, .seed = 2},
        {.batch = 1,
         .heads = 3,
         .nq = 33,
         .length = 7,
         .d = 6,
         .dv = 10,
         .nbasis = 12,
         .widths = "0.02,0.1,0.3",
         .lambda = "0.1",
         .seed = 3},
        {.batch = 2, .heads = 1, .nq = 1, .length = 1, .d = 4, .dv = 1, .nbasis = 2, .lambda = "1", .seed = 4},
        {.batch = 1,
         .heads = 2,
         .nq = 300,
         .length = 77,
         .d = 64,
         .dv = 40,
         .nbasis = 128,
         .widths = "0.03",
         .scale = "0.5",
         .seed = 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_case(cases[i]);
}

/* ------------------------------------------------------------------ the fit matrix */

/* F (nbasis × length) of the default basis at the tokens' positions. */
static void design_matrix(uint32_t length, uint32_t nbasis, const double *widths, uint32_t count, double *f)
{
    double *psi = malloc(nbasis * sizeof *psi);
    for (uint32_t i = 0; psi && i < length; i++) {
        CHECK(vka_continuous_basis((i + 0.5) / length, nbasis, widths, count, psi) == VKA_SUCCESS);
        for (uint32_t j = 0; j < nbasis; j++)
            f[(size_t)j * length + i] = psi[j];
    }
    free(psi);
}

/* G solves (F Fᵀ + λI) Gᵀ = F: the residual is at rounding level. */
static void fit_matrix_solves_the_ridge_system(void)
{
    enum { L = 200, N = 64 };
    const double lambda = 0.5;
    static double g[L * N], f[N * L];
    CHECK(vka_continuous_fit_matrix(L, NULL, N, NULL, 0, lambda, g) == VKA_SUCCESS);
    design_matrix(L, N, NULL, 0, f);
    double worst = 0, largest = 0;
    for (uint32_t j = 0; j < N; j++)
        for (uint32_t i = 0; i < L; i++) {
            double lhs = lambda * g[(size_t)i * N + j];
            for (uint32_t k = 0; k < N; k++) {
                double a = 0; /* (F Fᵀ)_{jk} */
                for (uint32_t t = 0; t < L; t++)
                    a += f[(size_t)j * L + t] * f[(size_t)k * L + t];
                lhs += a * g[(size_t)i * N + k];
            }
            worst = fmax(worst, fabs(lhs - f[(size_t)j * L + i]));
            largest = fmax(largest, fabs(f[(size_t)j * L + i]));
        }
    CHECK_MSG(worst <= 1e-9 * largest, "ridge residual %.3g (largest entry of F %.3g)", worst, largest);
}

/* L = N and λ → 0: F is square and the fit reproduces the signal at the tokens, Fᵀ Gᵀ = I. */
static void small_lambda_interpolates(void)
{
    enum { L = 16 };
    const double widths[] = {0.08};
    static double g[L * L], f[L * L];
    CHECK(vka_continuous_fit_matrix(L, NULL, L, widths, 1, 1e-12, g) == VKA_SUCCESS);
    design_matrix(L, L, widths, 1, f);
    double worst = 0;
    for (uint32_t i = 0; i < L; i++)
        for (uint32_t c = 0; c < L; c++) {
            double s = 0; /* (Fᵀ Gᵀ)_{ic} = Σ_j F_{ji} G_{cj} */
            for (uint32_t j = 0; j < L; j++)
                s += f[(size_t)j * L + i] * g[(size_t)c * L + j];
            worst = fmax(worst, fabs(s - (i == c)));
        }
    CHECK_MSG(worst < 1e-4, "Fᵀ Gᵀ differs from the identity by %.3g", worst);
}

/* ------------------------------------------------------------------ bad input */

static void bad_parameters_are_refused(void)
{
    if (!test_class_contexts(contexts))
        return;
    vka_context *ctx = contexts[0];
    struct {
        continuous_case c;
        const char *param_key, *param_value, *needle;
    } cases[] = {
        {{.batch = 1, .heads = 1, .nq = 2, .length = 8, .d = 4, .dv = 4, .nbasis = 6}, "nbasis", "8", "nbasis=8"},
        {{.batch = 1, .heads = 1, .nq = 2, .length = 8, .d = 4, .dv = 4, .nbasis = 6}, "widths", "0.1,x", "widths"},
        {{.batch = 1, .heads = 1, .nq = 2, .length = 8, .d = 4, .dv = 4, .nbasis = 6}, "widths", "0.1,-1", "widths"},
        {{.batch = 1, .heads = 1, .nq = 2, .length = 8, .d = 4, .dv = 4, .nbasis = 5}, NULL, NULL, "multiple"},
        {{.batch = 1, .heads = 1, .nq = 2, .length = 8, .d = 4, .dv = 4, .nbasis = 6}, "lambda", "-1", "lambda"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        continuous_case c = cases[i].c;
        vka_graph *g;
        CHECK_OK(ctx, vka_graph_create(ctx, &g));
        vka_op_desc op = {.op = "continuous"};
        const char *names[5] = {"q", "k", "v", "w_mu", "w_sigma"};
        const uint32_t dims[5][4] = {
            {1, 1, c.nq, c.d}, {1, 1, c.length, c.d}, {1, 1, c.length, c.dv}, {1, 1, 1, c.nbasis}, {1, 1, 1, c.nbasis}};
        for (int j = 0; j < 5; j++) {
            vka_tensor_desc desc = {.name = names[j], .rank = 4};
            memcpy(desc.dims, dims[j], sizeof dims[j]);
            op.inputs[j].role = names[j];
            vka_graph_input(g, &desc, &op.inputs[j].tensor);
        }
        if (cases[i].param_key)
            op.params[0] = (vka_op_param){cases[i].param_key, cases[i].param_value};
        vka_tensor o;
        vka_result r = vka_graph_op(g, &op, &o);
        CHECK_MSG(r != VKA_SUCCESS && strstr(vka_last_error(ctx), cases[i].needle), "case %zu: '%s'", i,
                  vka_last_error(ctx));
        vka_graph_destroy(g);
    }
    /* λ = 0 with fewer tokens than basis functions: F Fᵀ is singular, refused at planning. */
    continuous_case c = {.batch = 1, .heads = 1, .nq = 2, .length = 3, .d = 4, .dv = 4, .nbasis = 8, .lambda = "0"};
    vka_graph *g = make_graph(ctx, &c);
    vka_plan *plan = NULL;
    CHECK(g != NULL);
    if (g) {
        vka_result r = vka_plan_create(g, NULL, &plan);
        CHECK_MSG(r == VKA_ERROR_UNSUPPORTED && strstr(vka_last_error(ctx), "singular"), "'%s'", vka_last_error(ctx));
    }
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    double psi[4];
    CHECK(vka_continuous_basis(0.5, 3, NULL, 0, psi) == VKA_ERROR_INVALID_ARGUMENT); /* 3 is not a multiple of 2 */
    CHECK(vka_continuous_fit_matrix(0, NULL, 4, NULL, 0, 0.5, psi) == VKA_ERROR_INVALID_ARGUMENT);
    test_check_validation(ctx);
}

/* ------------------------------------------------------------------ the unbounded memory */

typedef struct stream_case {
    uint32_t batch, heads, nq, chunk, d, dv, nbasis, samples;
    double tau, lambda;
} stream_case;

/* continuous_update over q [B,H,Nq,D] (and a chunk k, v when chunk > 0), state "mem". */
static vka_graph *stream_graph_sticky(vka_context *ctx, const stream_case *c, char params[4][32], const char *sticky,
                                      const char *seed, const char *floor_share);

static vka_graph *stream_graph(vka_context *ctx, const stream_case *c, char params[4][32])
{
    return stream_graph_sticky(ctx, c, params, NULL, NULL, NULL);
}

static vka_graph *stream_graph_sticky(vka_context *ctx, const stream_case *c, char params[4][32], const char *sticky,
                                      const char *seed, const char *floor_share)
{
    vka_graph *g;
    if (vka_graph_create(ctx, &g) != VKA_SUCCESS)
        return NULL;
    const char *names[5] = {"q", "w_mu", "w_sigma", "k", "v"};
    const uint32_t dims[5][4] = {{c->batch, c->heads, c->nq, c->d},
                                 {1, c->heads, 1, c->nbasis},
                                 {1, c->heads, 1, c->nbasis},
                                 {c->batch, c->heads, c->chunk, c->d},
                                 {c->batch, c->heads, c->chunk, c->dv}};
    vka_op_desc op = {.op = "continuous_update"};
    bool ok = true;
    for (int i = 0; i < (c->chunk ? 5 : 3) && ok; i++) {
        vka_tensor_desc desc = {.name = names[i], .rank = 4};
        memcpy(desc.dims, dims[i], sizeof dims[i]);
        op.inputs[i].role = names[i];
        ok = vka_graph_input(g, &desc, &op.inputs[i].tensor) == VKA_SUCCESS;
    }
    snprintf(params[0], 32, "%u", c->samples);
    snprintf(params[1], 32, "%.17g", c->tau);
    snprintf(params[2], 32, "%.17g", c->lambda);
    snprintf(params[3], 32, "%u", c->dv);
    op.params[0] = (vka_op_param){"samples", params[0]};
    op.params[1] = (vka_op_param){"tau", params[1]};
    op.params[2] = (vka_op_param){"lambda", params[2]};
    op.params[3] = (vka_op_param){"state", "mem"};
    op.params[4] = (vka_op_param){"dv", params[3]};
    if (sticky) {
        op.params[5] = (vka_op_param){"sticky", sticky};
        op.params[6] = (vka_op_param){"seed", seed};
        op.params[7] = (vka_op_param){"sticky_floor", floor_share ? floor_share : "0.5"};
    }
    vka_tensor o;
    if (!ok || vka_graph_op(g, &op, &o) != VKA_SUCCESS || vka_graph_output(g, "out", o) != VKA_SUCCESS) {
        vka_graph_destroy(g); /* the callers report vka_last_error(ctx) */
        return NULL;
    }
    return g;
}

/* The host's account of the memory: per slice the coefficients (N × width), refitted per
 * chunk exactly as SCHEMES.md §6 says, in double. */
typedef struct host_memory {
    const stream_case *c;
    double *m_old, *m_new; /* N × N, N × chunk */
    double *keys, *values; /* [slice][N][D], [slice][N][Dv] */
} host_memory;

static bool host_memory_init(host_memory *h, const stream_case *c)
{
    uint32_t n = c->nbasis, s = c->samples, points = s + c->chunk;
    size_t slices = (size_t)c->batch * c->heads;
    *h = (host_memory){.c = c};
    h->m_old = calloc((size_t)n * n, sizeof *h->m_old);
    h->m_new = calloc((size_t)n * (c->chunk + 1), sizeof *h->m_new);
    h->keys = calloc(slices * n * c->d, sizeof *h->keys);
    h->values = calloc(slices * n * c->dv, sizeof *h->values);
    double *positions = malloc(points * sizeof *positions), *g = malloc((size_t)points * n * sizeof *g);
    double *psi = malloc(n * sizeof *psi);
    bool ok = h->m_old && h->m_new && h->keys && h->values && positions && g && psi;
    for (uint32_t i = 0; ok && i < points; i++)
        positions[i] = i < s ? c->tau * (i + 0.5) / s : c->tau + (1 - c->tau) * (i - s + 0.5) / c->chunk;
    ok = ok && vka_continuous_fit_matrix(points, positions, n, NULL, 0, c->lambda, g) == VKA_SUCCESS;
    for (uint32_t i = 0; ok && i < s; i++) { /* M_old = Gᵀ[:, :S] Ψ(u) */
        ok = vka_continuous_basis((i + 0.5) / s, n, NULL, 0, psi) == VKA_SUCCESS;
        for (uint32_t j = 0; j < n; j++)
            for (uint32_t k = 0; k < n; k++)
                h->m_old[(size_t)j * n + k] += g[(size_t)i * n + j] * psi[k];
    }
    for (uint32_t i = 0; ok && i < c->chunk; i++)
        for (uint32_t j = 0; j < n; j++)
            h->m_new[(size_t)j * c->chunk + i] = g[(size_t)(s + i) * n + j];
    free(positions);
    free(g);
    free(psi);
    return ok;
}

static void host_memory_free(host_memory *h)
{
    free(h->m_old);
    free(h->m_new);
    free(h->keys);
    free(h->values);
}

/* memory (N × width) ← M_old memory + M_new x (x: chunk × width floats). */
static void refit(const host_memory *h, double *memory, const float *x, uint32_t width)
{
    uint32_t n = h->c->nbasis;
    double *next = calloc((size_t)n * width, sizeof *next);
    for (uint32_t j = 0; next && j < n; j++)
        for (uint32_t e = 0; e < width; e++) {
            double sum = 0;
            for (uint32_t k = 0; k < n; k++)
                sum += h->m_old[(size_t)j * n + k] * memory[(size_t)k * width + e];
            for (uint32_t i = 0; x && i < h->c->chunk; i++)
                sum += h->m_new[(size_t)j * h->c->chunk + i] * x[(size_t)i * width + e];
            next[(size_t)j * width + e] = sum;
        }
    if (next)
        memcpy(memory, next, (size_t)n * width * sizeof *next);
    free(next);
}

/* One run: refit every slice, then the queries attend (out: [B,H,Nq,Dv]). */
static void host_step(host_memory *h, const float *q, const float *k, const float *v, const float *w_mu,
                      const float *w_sigma, float *out)
{
    const stream_case *c = h->c;
    uint32_t n = c->nbasis;
    double scale = 1.0 / sqrt((double)c->d), *r = malloc(n * sizeof *r);
    for (uint32_t slice = 0; r && slice < c->batch * c->heads; slice++) {
        double *km = h->keys + (size_t)slice * n * c->d, *vm = h->values + (size_t)slice * n * c->dv;
        refit(h, km, k ? k + (size_t)slice * c->chunk * c->d : NULL, c->d);
        refit(h, vm, v ? v + (size_t)slice * c->chunk * c->dv : NULL, c->dv);
        uint32_t head = slice % c->heads;
        for (uint32_t i = 0; i < c->nq; i++) {
            const float *qi = q + ((size_t)slice * c->nq + i) * c->d;
            double a = 0, b = 0;
            for (uint32_t j = 0; j < n; j++) {
                double sj = 0;
                for (uint32_t e = 0; e < c->d; e++)
                    sj += km[(size_t)j * c->d + e] * qi[e];
                a += w_mu[head * n + j] * sj * scale;
                b += w_sigma[head * n + j] * sj * scale;
            }
            double mu = 1 / (1 + exp(-a)), var = fmax(fmax(b, 0) + log1p(exp(-fabs(b))), 1e-4);
            for (uint32_t j = 0; j < n; j++) { /* centres linspace(0, 1, N/2), widths 0.01 then 0.05 */
                uint32_t per = n / 2;
                double mu_j = (double)(j % per) / (per - 1), sigma_j = j < per ? 0.01 : 0.05;
                double total = sigma_j * sigma_j + var;
                r[j] = exp(-0.5 * (mu - mu_j) * (mu - mu_j) / total) / sqrt(6.283185307179586 * total);
            }
            for (uint32_t e = 0; e < c->dv; e++) {
                double sum = 0;
                for (uint32_t j = 0; j < n; j++)
                    sum += vm[(size_t)j * c->dv + e] * r[j];
                out[((size_t)slice * c->nq + i) * c->dv + e] = (float)sum;
            }
        }
    }
    free(r);
}

/* The first run against the engine's reference; then a stream of chunks against the
 * host's account, run after run, on both kernel classes. */
static void stream_of_chunks(void)
{
    if (!test_class_contexts(contexts))
        return;
    const stream_case c = {.batch = 2,
                           .heads = 2,
                           .nq = 9,
                           .chunk = 50,
                           .d = 8,
                           .dv = 12,
                           .nbasis = 16,
                           .samples = 40,
                           .tau = 0.5,
                           .lambda = 0.5};
    enum { RUNS = 6 };
    size_t q_n = 2 * 2 * 9 * 8, k_n = 2 * 2 * 50 * 8, v_n = 2 * 2 * 50 * 12, w_n = 2 * 16, o_n = 2 * 2 * 9 * 12;
    float *q = malloc(q_n * 4), *k = malloc(RUNS * k_n * 4), *v = malloc(RUNS * v_n * 4), *w_mu = malloc(w_n * 4),
          *w_sigma = malloc(w_n * 4), *out = malloc(o_n * 4), *expected = malloc(o_n * 4);
    CHECK(q && k && v && w_mu && w_sigma && out && expected);
    test_seed(60);
    test_fill_normal(q, q_n, 1.0f);
    test_fill_normal(k, RUNS * k_n, 1.0f);
    test_fill_normal(v, RUNS * v_n, 1.0f);
    test_fill_normal(w_mu, w_n, 0.25f);
    test_fill_normal(w_sigma, w_n, 0.25f);
    char params[4][32];
    for (int cls = 0; cls < 2 && expected; cls++) {
        vka_context *ctx = contexts[cls];
        vka_graph *g = stream_graph(ctx, &c, params);
        vka_plan *plan = NULL;
        host_memory h;
        bool ok = g && host_memory_init(&h, &c) && vka_plan_create(g, NULL, &plan) == VKA_SUCCESS;
        CHECK_MSG(ok, "set-up: %s", vka_last_error(ctx));
        if (ok && cls == 0) { /* the first run from an empty memory: the engine's reference */
            vka_host_tensor in[] = {{"q", q, q_n * 4},
                                    {"w_mu", w_mu, w_n * 4},
                                    {"w_sigma", w_sigma, w_n * 4},
                                    {"k", k, k_n * 4},
                                    {"v", v, v_n * 4}};
            CHECK_OK(ctx, vka_graph_reference(g, in, 5, &(vka_host_tensor){"out", expected, o_n * 4}, 1));
            host_step(&h, q, k, v, w_mu, w_sigma, out);
            test_close("first run: host account vs engine reference", out, expected, o_n, 1e-6, 1e-5);
            host_memory_free(&h);
            ok = host_memory_init(&h, &c);
        }
        ok = ok && vka_plan_write(plan, "q", q, q_n * 4) == VKA_SUCCESS &&
             vka_plan_write(plan, "w_mu", w_mu, w_n * 4) == VKA_SUCCESS &&
             vka_plan_write(plan, "w_sigma", w_sigma, w_n * 4) == VKA_SUCCESS;
        for (int run = 0; ok && run < RUNS; run++) {
            ok = vka_plan_write(plan, "k", k + run * k_n, k_n * 4) == VKA_SUCCESS &&
                 vka_plan_write(plan, "v", v + run * v_n, v_n * 4) == VKA_SUCCESS &&
                 vka_plan_run(plan) == VKA_SUCCESS && vka_plan_read(plan, "out", out, o_n * 4) == VKA_SUCCESS;
            CHECK_MSG(ok, "run %d: %s", run, vka_last_error(ctx));
            host_step(&h, q, k + run * k_n, v + run * v_n, w_mu, w_sigma, expected);
            double scale = 0;
            for (size_t i = 0; i < o_n; i++)
                scale = fmax(scale, fabs(expected[i]));
            char label[64];
            snprintf(label, sizeof label, "chunk %d %s", run + 1, cls ? "gpu" : "cpu");
            if (ok)
                test_close(label, out, expected, o_n, 2e-5 * scale, 1e-3);
        }
        /* Reset: the memory is empty again, so the first chunk gives the first output. */
        if (ok && vka_plan_reset_states(plan) == VKA_SUCCESS && vka_plan_write(plan, "k", k, k_n * 4) == VKA_SUCCESS &&
            vka_plan_write(plan, "v", v, v_n * 4) == VKA_SUCCESS && vka_plan_run(plan) == VKA_SUCCESS &&
            vka_plan_read(plan, "out", out, o_n * 4) == VKA_SUCCESS) {
            host_memory_free(&h);
            host_memory_init(&h, &c);
            host_step(&h, q, k, v, w_mu, w_sigma, expected);
            test_close("after a reset", out, expected, o_n, 1e-5, 1e-3);
        }
        if (g && h.m_old)
            host_memory_free(&h);
        test_check_validation(ctx);
        vka_plan_destroy(plan);
        vka_graph_destroy(g);
    }
    free(q);
    free(k);
    free(v);
    free(w_mu);
    free(w_sigma);
    free(out);
    free(expected);
}

/* τ = 1 and no new tokens: the refit samples the old signal where it then fits it, so the
 * signal at the sample points comes back (λ small, more samples than basis functions). */
static void refit_without_tokens_keeps_the_signal(void)
{
    if (!test_class_contexts(contexts))
        return;
    enum { N = 16, S = 64, D = 4 };
    const stream_case c = {.batch = 1,
                           .heads = 1,
                           .nq = 1,
                           .chunk = 0,
                           .d = D,
                           .dv = D,
                           .nbasis = N,
                           .samples = S,
                           .tau = 1,
                           .lambda = 1e-7};
    static float before[N * D], after[N * D], w[N], q[D];
    test_seed(61);
    test_fill_normal(before, N * D, 1.0f);
    char params[4][32];
    vka_context *ctx = contexts[0];
    vka_graph *g = stream_graph(ctx, &c, params);
    vka_plan *plan = NULL;
    bool ok = g && vka_plan_create(g, NULL, &plan) == VKA_SUCCESS;
    ok = ok && vka_plan_write(plan, "q", q, sizeof q) == VKA_SUCCESS &&
         vka_plan_write(plan, "w_mu", w, sizeof w) == VKA_SUCCESS &&
         vka_plan_write(plan, "w_sigma", w, sizeof w) == VKA_SUCCESS &&
         vka_plan_write(plan, "mem.keys", before, sizeof before) == VKA_SUCCESS && vka_plan_run(plan) == VKA_SUCCESS &&
         vka_plan_read(plan, "mem.keys", after, sizeof after) == VKA_SUCCESS;
    CHECK_MSG(ok, "%s", vka_last_error(ctx));
    double psi[N], worst = 0, largest = 0;
    for (uint32_t s = 0; ok && s < S; s++) {
        CHECK(vka_continuous_basis((s + 0.5) / S, N, NULL, 0, psi) == VKA_SUCCESS);
        for (uint32_t e = 0; e < D; e++) {
            double x0 = 0, x1 = 0;
            for (uint32_t j = 0; j < N; j++) {
                x0 += psi[j] * before[j * D + e];
                x1 += psi[j] * after[j * D + e];
            }
            worst = fmax(worst, fabs(x1 - x0));
            largest = fmax(largest, fabs(x0));
        }
    }
    CHECK_MSG(worst <= 1e-4 * fmax(1.0, largest), "the signal moved by %.3g at the samples (largest value %.3g)", worst,
              largest);
    test_check_validation(ctx);
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
}

static void bad_update_parameters_are_refused(void)
{
    if (!test_class_contexts(contexts))
        return;
    vka_context *ctx = contexts[0];
    char params[4][32];
    const stream_case cases[] = {
        {.batch = 1,
         .heads = 1,
         .nq = 2,
         .chunk = 8,
         .d = 4,
         .dv = 4,
         .nbasis = 8,
         .samples = 16,
         .tau = 1,
         .lambda = 0.5}, /* no room for the chunk */
        {.batch = 1,
         .heads = 1,
         .nq = 2,
         .chunk = 8,
         .d = 4,
         .dv = 4,
         .nbasis = 8,
         .samples = 16,
         .tau = 0,
         .lambda = 0.5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        vka_graph *g = stream_graph(ctx, &cases[i], params);
        CHECK_MSG(g == NULL && strstr(vka_last_error(ctx), "tau"), "case %zu: '%s'", i, vka_last_error(ctx));
        vka_graph_destroy(g);
    }
    stream_case c = cases[0];
    c.tau = 0.5;
    vka_graph *g = stream_graph_sticky(ctx, &c, params, "1", "0", "1.5");
    CHECK_MSG(g == NULL && strstr(vka_last_error(ctx), "sticky_floor"), "'%s'", vka_last_error(ctx));
    vka_graph_destroy(g);
    test_check_validation(ctx);
}

/* Sticky memories: the first run samples evenly (as without), later ones from the previous
 * run's attention, deterministic in the seed; each query's (μ, σ²) is kept in
 * "mem.moments"; such a plan refuses to be recorded into a host's command buffer. */
static void sticky_memories(void)
{
    if (!test_class_contexts(contexts))
        return;
    const stream_case c = {.batch = 2,
                           .heads = 2,
                           .nq = 9,
                           .chunk = 50,
                           .d = 8,
                           .dv = 12,
                           .nbasis = 16,
                           .samples = 40,
                           .tau = 0.5,
                           .lambda = 0.5};
    enum { RUNS = 4, PLANS = 5 };
    size_t q_n = 2 * 2 * 9 * 8, k_n = 2 * 2 * 50 * 8, v_n = 2 * 2 * 50 * 12, w_n = 2 * 16, o_n = 2 * 2 * 9 * 12;
    static float q[2 * 2 * 9 * 8], k[RUNS * 2 * 2 * 50 * 8], v[RUNS * 2 * 2 * 50 * 12], w_mu[32], w_sigma[32];
    static float out[PLANS][RUNS][2 * 2 * 9 * 12], moments[2 * 2 * 9 * 2], expected[2 * 2 * 9 * 12];
    test_seed(62);
    test_fill_normal(q, q_n, 1.0f);
    test_fill_normal(k, RUNS * k_n, 1.0f);
    test_fill_normal(v, RUNS * v_n, 1.0f);
    test_fill_normal(w_mu, w_n, 2.0f); /* sharp, varied densities */
    test_fill_normal(w_sigma, w_n, 2.0f);
    /* plans: even, sticky seed 1, sticky seed 1 again, sticky seed 2, sticky with every sample even */
    const char *sticky[PLANS] = {NULL, "1", "1", "1", "1"}, *seeds[PLANS] = {NULL, "1", "1", "2", "1"};
    const char *floors[PLANS] = {NULL, "0.25", "0.25", "0.25", "1"};
    vka_context *ctx = contexts[1]; /* the GPU class: per-batch refits bound with a divisor */
    char params[4][32];
    for (int pl = 0; pl < PLANS; pl++) {
        vka_graph *g = stream_graph_sticky(ctx, &c, params, sticky[pl], seeds[pl], floors[pl]);
        vka_plan *plan = NULL;
        bool ok = g && vka_plan_create(g, NULL, &plan) == VKA_SUCCESS &&
                  vka_plan_write(plan, "q", q, sizeof q) == VKA_SUCCESS &&
                  vka_plan_write(plan, "w_mu", w_mu, sizeof w_mu) == VKA_SUCCESS &&
                  vka_plan_write(plan, "w_sigma", w_sigma, sizeof w_sigma) == VKA_SUCCESS;
        for (int run = 0; ok && run < RUNS; run++)
            ok = vka_plan_write(plan, "k", k + run * k_n, k_n * 4) == VKA_SUCCESS &&
                 vka_plan_write(plan, "v", v + run * v_n, v_n * 4) == VKA_SUCCESS &&
                 vka_plan_run(plan) == VKA_SUCCESS && vka_plan_read(plan, "out", out[pl][run], o_n * 4) == VKA_SUCCESS;
        CHECK_MSG(ok, "plan %d: %s", pl, vka_last_error(ctx));
        if (ok && pl == 1) {
            CHECK(vka_plan_read(plan, "mem.moments", moments, sizeof moments) == VKA_SUCCESS);
            /* μ is a sigmoid, σ² clamped at 1e-4. */
            bool sane = true;
            for (size_t i = 0; i < sizeof moments / 8; i++)
                sane = sane && moments[2 * i] > 0 && moments[2 * i] < 1 && moments[2 * i + 1] >= 1e-4f;
            CHECK_MSG(sane, "moments out of range");
            VkCommandBuffer none = (VkCommandBuffer)(uintptr_t)1; /* never used: refused first */
            CHECK(vka_plan_record(plan, none) == VKA_ERROR_UNSUPPORTED && strstr(vka_last_error(ctx), "vka_plan_run"));
        }
        vka_plan_destroy(plan);
        vka_graph_destroy(g);
    }
    test_close("sticky first run = even first run", out[1][0], out[0][0], o_n, 0, 0);
    for (int run = 0; run < RUNS; run++) {
        test_close("sticky, the same seed twice", out[2][run], out[1][run], o_n, 0, 0);
        test_close("sticky with every sample even = even", out[4][run], out[0][run], o_n, 0, 0);
    }
    double differs_even = 0, differs_seed = 0;
    for (size_t i = 0; i < o_n; i++) {
        differs_even = fmax(differs_even, fabs(out[1][RUNS - 1][i] - out[0][RUNS - 1][i]));
        differs_seed = fmax(differs_seed, fabs(out[3][RUNS - 1][i] - out[1][RUNS - 1][i]));
    }
    CHECK_MSG(differs_even > 1e-4 && differs_seed > 1e-6, "sticky vs even %.3g, seed 1 vs 2 %.3g", differs_even,
              differs_seed);
    /* The first run's kept moments are those of the host's account of the first run. */
    host_memory h;
    if (host_memory_init(&h, &c)) {
        host_step(&h, q, k, v, w_mu, w_sigma, expected);
        test_close("first run (even) against the host account", out[0][0], expected, o_n, 1e-5, 1e-3);
        host_memory_free(&h);
    }
    test_check_validation(ctx);
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"shapes_against_the_reference", shapes_against_the_reference},
        {"fit_matrix_solves_the_ridge_system", fit_matrix_solves_the_ridge_system},
        {"small_lambda_interpolates", small_lambda_interpolates},
        {"bad_parameters_are_refused", bad_parameters_are_refused},
        {"stream_of_chunks", stream_of_chunks},
        {"refit_without_tokens_keeps_the_signal", refit_without_tokens_keeps_the_signal},
        {"bad_update_parameters_are_refused", bad_update_parameters_are_refused},
        {"sticky_memories", sticky_memories},
    };
    int status = test_main(argc, argv, cases, sizeof cases / sizeof *cases);
    for (int i = 0; i < 2; i++)
        vka_context_destroy(contexts[i]);
    return status;
}
