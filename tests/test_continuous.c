/* ∞-former continuous attention: `continuous` against the double-precision reference
 * (engine/ref/continuous.c, which solves the ridge system by Gaussian elimination where
 * the engine uses Cholesky) over shapes, basis sizes, widths, λ and scale; the public fit
 * matrix against the normal equations it solves; with λ → 0 and L = N the fit
 * interpolates; bad parameters and a singular fit are refused with messages. Both kernel
 * classes, validation layer on. */
#include "harness.h"

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
    CHECK(vka_continuous_fit_matrix(L, N, NULL, 0, lambda, g) == VKA_SUCCESS);
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
    CHECK(vka_continuous_fit_matrix(L, L, widths, 1, 1e-12, g) == VKA_SUCCESS);
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
    CHECK(vka_continuous_fit_matrix(0, 4, NULL, 0, 0.5, psi) == VKA_ERROR_INVALID_ARGUMENT);
    test_check_validation(ctx);
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"shapes_against_the_reference", shapes_against_the_reference},
        {"fit_matrix_solves_the_ridge_system", fit_matrix_solves_the_ridge_system},
        {"small_lambda_interpolates", small_lambda_interpolates},
        {"bad_parameters_are_refused", bad_parameters_are_refused},
    };
    int status = test_main(argc, argv, cases, sizeof cases / sizeof *cases);
    for (int i = 0; i < 2; i++)
        vka_context_destroy(contexts[i]);
    return status;
}
