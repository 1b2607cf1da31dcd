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
#include "matmul.h"
#include "op.h"
#include "shapes.h"

#include "../graph/lower.h"
#include "../ref/ref.h"

#include <stdlib.h>
#include <string.h>

enum { ROLE_Q, ROLE_K, ROLE_V, ROLE_W_MU, ROLE_W_SIGMA };

#define MAX_BASIS 4096

typedef struct continuous_params {
    uint32_t batch, heads, nq, length, d, dv;
    vka_rbf_basis basis;
    double lambda;
    float scale;
} continuous_params;

static const char *const roles[] = {"q", "k", "v", "w_mu", "w_sigma", NULL};
static const char *const keys[] = {"nbasis", "lambda", "widths", "scale", NULL};

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
    vka_result r = vka_param_name(b->params, "widths", "0.01,0.05", text, sizeof text);
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

static vka_result build(vka_op_build *b)
{
    continuous_params *p = b->parsed;
    const char *layout = "[batch, heads, tokens, head_dim]", *weights = "[1, heads, 1, nbasis]";
    vka_result r;
    double lambda;
    if ((r = vka_expect_tensor(b, ROLE_Q, 4, VKA_DTYPE_F32, layout)) ||
        (r = vka_expect_tensor(b, ROLE_K, 4, VKA_DTYPE_F32, layout)) ||
        (r = vka_expect_tensor(b, ROLE_V, 4, VKA_DTYPE_F32, layout)) ||
        (r = vka_expect_tensor(b, ROLE_W_MU, 4, VKA_DTYPE_F32, weights)) ||
        (r = vka_expect_tensor(b, ROLE_W_SIGMA, 4, VKA_DTYPE_F32, weights)) ||
        (r = vka_expect_axes(b, axis_rules, VKA_ARRAY_LEN(axis_rules))))
        return r;
    const uint32_t *q = b->inputs[ROLE_Q]->dims, *w = b->inputs[ROLE_W_MU]->dims;
    if (w[0] != 1 || w[2] != 1)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: w_mu is [%u, %u, %u, %u]; it must be %s", b->op, w[0],
                        w[1], w[2], w[3], weights);
    if ((r = vka_param_uint(b->params, "nbasis", w[3], 1, MAX_BASIS, &p->basis.count)) ||
        (r = vka_param_number(b->params, "lambda", 0.5, &lambda)) || (r = parse_widths(b, &p->basis)) ||
        (r = vka_param_scale(b->params, "scale", q[3], &p->scale)))
        return r;
    if (p->basis.count != w[3])
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: nbasis=%u but w_mu and w_sigma have %u entries (axis 3)",
                        b->op, p->basis.count, w[3]);
    if (p->basis.count % p->basis.width_count)
        return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: nbasis=%u is not a multiple of the %u widths", b->op,
                        p->basis.count, p->basis.width_count);
    if (!(lambda >= 0))
        return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: lambda=%g must be ≥ 0", b->op, lambda);
    p->lambda = lambda;
    p->batch = q[0];
    p->heads = q[1];
    p->nq = q[2];
    p->d = q[3];
    p->length = b->inputs[ROLE_K]->dims[2];
    p->dv = b->inputs[ROLE_V]->dims[3];
    b->output_dtype = VKA_DTYPE_F32;
    b->output_rank = 4;
    memcpy(b->output_dims, (uint32_t[4]){p->batch, p->heads, p->nq, p->dv}, sizeof b->output_dims);
    return VKA_SUCCESS;
}

/* ------------------------------------------------------------------ lowering */

/* The fit matrix G [L, N] and the basis table [N, 2] (μ_j, σ_j²) as plan constants. */
static vka_result basis_constants(vka_lowering *lw, const continuous_params *p, uint32_t *g, uint32_t *table)
{
    uint32_t n = p->basis.count;
    float *fit = malloc((size_t)p->length * n * sizeof *fit), *centres = malloc((size_t)n * 2 * sizeof *centres);
    vka_result r = fit && centres ? vka_rbf_fit_cached(vka_lower_context(lw), &p->basis, p->length, p->lambda, fit)
                                  : vka_fail(vka_lower_context(lw), VKA_ERROR_OUT_OF_HOST_MEMORY,
                                             "out of host memory building the basis");
    for (uint32_t j = 0; r == VKA_SUCCESS && j < n; j++) {
        double mu, sigma;
        vka_rbf_centre(&p->basis, j, &mu, &sigma);
        centres[2 * j] = (float)mu;
        centres[2 * j + 1] = (float)(sigma * sigma);
    }
    if (r == VKA_SUCCESS)
        r = vka_lower_constant(lw, "fit", VKA_DTYPE_F32, 2, (uint32_t[]){p->length, n}, fit, g);
    if (r == VKA_SUCCESS)
        r = vka_lower_constant(lw, "basis", VKA_DTYPE_F32, 2, (uint32_t[]){n, 2}, centres, table);
    free(fit);
    free(centres);
    return r;
}

/* coefficients (N × width per slice) = Gᵀ x: the signal x fitted onto the basis. */
static vka_result lower_fit(vka_lowering *lw, const continuous_params *p, uint32_t g, uint32_t x, uint32_t width,
                            uint32_t coefficients)
{
    return vka_lower_matmul(lw, &(vka_matmul_desc){.a = g,
                                                   .b = x,
                                                   .c = coefficients,
                                                   .slices = p->batch * p->heads,
                                                   .m = p->basis.count,
                                                   .n = width,
                                                   .k = p->length,
                                                   .alpha = 1.0f,
                                                   .trans_a = true,
                                                   .a_whole = true});
}

static vka_result lower(vka_lowering *lw, const vka_op_node *node)
{
    const continuous_params *p = node->params;
    uint32_t n = p->basis.count, slices = p->batch * p->heads, g, table, km, vm, scores;
    vka_result r = basis_constants(lw, p, &g, &table);
    if (r == VKA_SUCCESS)
        r = vka_lower_intermediate(lw, "keys", VKA_DTYPE_F32, 4, (uint32_t[]){p->batch, p->heads, n, p->d}, &km);
    if (r == VKA_SUCCESS)
        r = vka_lower_intermediate(lw, "values", VKA_DTYPE_F32, 4, (uint32_t[]){p->batch, p->heads, n, p->dv}, &vm);
    if (r == VKA_SUCCESS)
        r = vka_lower_intermediate(lw, "density", VKA_DTYPE_F32, 4, (uint32_t[]){p->batch, p->heads, p->nq, n},
                                   &scores);
    if (r == VKA_SUCCESS)
        r = lower_fit(lw, p, g, vka_lower_input(lw, node, ROLE_K), p->d, km);
    if (r == VKA_SUCCESS)
        r = lower_fit(lw, p, g, vka_lower_input(lw, node, ROLE_V), p->dv, vm);
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
    if (r == VKA_SUCCESS)
        r = vka_lower_dispatch(lw, &(vka_dispatch_desc){
                                       .kernel = VKA_KERNEL_CONTINUOUS_DENSITY,
                                       .spec = {64},
                                       .push = {p->nq, n, p->heads},
                                       .groups_x = vka_div_up(p->nq, 64),
                                       .groups_y = 1,
                                       .slices = slices,
                                       .bindings = {{scores, VKA_READ_WRITE, false},
                                                    {vka_lower_input(lw, node, ROLE_W_MU), VKA_READ, true},
                                                    {vka_lower_input(lw, node, ROLE_W_SIGMA), VKA_READ, true},
                                                    {table, VKA_READ, true}},
                                   });
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
                                                               .out = out->data});
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

const vka_op_class vka_op_continuous = {
    .name = "continuous",
    .summary = "∞-former continuous attention: k, v fitted onto nbasis Gaussian RBFs, each query a Gaussian density "
               "(w_mu, w_sigma [1,H,1,N])",
    .input_roles = roles,
    .required_inputs = 5,
    .param_keys = keys,
    .params_size = sizeof(continuous_params),
    .build = build,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};
