/* Transformer Neural Processes as graphs (the efficient-TNP chapter's six models:
 * research/tnp-tables.md §1–2): TNP, LinearTNP, HyperMixNP, PT-TNP (IST order),
 * TETNP and PT-TETNP, from PyTorch-named weights. Nothing here is a kernel: the model is
 * `dense`, `layernorm`, `add`, `relu`, the scheme's attention and the likelihood head.
 *
 *   tokens      context [x, y, 0], target [x, 0, 1]  (TE models: [y, 0], [0, 1])
 *   embedder    fc1 → relu → fc2 → relu → fc3, shared by both
 *   schedule    steps "update ← block(update, kv)": a pre-norm layer (hq = norm1(zq),
 *               hk = norm1(zkv); zq += attn(hq, hk); zq += fc2 relu fc1 norm2 zq)
 *   decoder     fc1 → relu → fc2 → relu → fc3 on the targets;
 *               mean = out[..., :dy], std = sqrt(softplus(out[..., dy:]))
 *
 * Steps whose result nothing reads afterwards are left out (the last IST layer's
 * context update). The tokens' [x, y, flag] never exist: fc1 is split by columns into
 * products with x and y, the flag's column folded into the bias. */
#include "common/common.h" /* vka_fail: the library's error sink */

#include "vkattn/io.h"
#include "vkattn/models.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const arch_names[VKA_TNP_ARCH_COUNT] = {"tnp",    "linear_tnp", "hypermix_np",
                                                           "pt_tnp", "tetnp",      "pt_tetnp"};

const char *vka_tnp_arch_name(vka_tnp_arch arch)
{
    return (unsigned)arch < VKA_TNP_ARCH_COUNT ? arch_names[arch] : NULL;
}

vka_result vka_tnp_arch_named(const char *name, vka_tnp_arch *out)
{
    for (int i = 0; name && out && i < VKA_TNP_ARCH_COUNT; i++)
        if (strcmp(name, arch_names[i]) == 0) {
            *out = (vka_tnp_arch)i;
            return VKA_SUCCESS;
        }
    return vka_fail(NULL, VKA_ERROR_NOT_FOUND,
                    "unknown TNP architecture '%s' (tnp, linear_tnp, hypermix_np, pt_tnp, tetnp, pt_tetnp)",
                    name ? name : "(null)");
}

/* ------------------------------------------------------------------ the builder */

typedef struct builder {
    vka_graph *g;
    vka_context *ctx;
    const vka_tnp_desc *d;
    bool te, pseudo;
    uint32_t dx, dy, width, heads;
    double scale, eps, linear_eps; /* attention scale, LayerNorm eps, linear attention's eps */
    vka_tensor fc1_x, fc1_y, fc1_bias_context, fc1_bias_target, target_h1; /* split_fc1 */
} builder;

static bool te_arch(vka_tnp_arch a)
{
    return a == VKA_TNP_ARCH_TETNP || a == VKA_TNP_ARCH_PT_TETNP;
}

static bool pseudo_arch(vka_tnp_arch a)
{
    return a == VKA_TNP_ARCH_PT_TNP || a == VKA_TNP_ARCH_PT_TETNP;
}

/* The file's entry `name`, which must have `rank` and (where non-zero) `dims`. */
static vka_result entry(builder *b, const char *name, uint32_t rank, const uint32_t *dims, vka_safetensors_entry *e)
{
    if (vka_safetensors_find(b->d->weights, name, e) != VKA_SUCCESS)
        return vka_fail(b->ctx, VKA_ERROR_NOT_FOUND, "%s: the weights have no tensor '%s'", arch_names[b->d->arch],
                        name);
    bool ok = e->rank == rank;
    for (uint32_t i = 0; ok && i < rank; i++)
        ok = !dims || !dims[i] || e->dims[i] == dims[i];
    if (ok)
        return VKA_SUCCESS;
    char want[64] = "[", got[64] = "[";
    for (uint32_t i = 0; i < rank; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%u", i ? ", " : "", dims ? dims[i] : 0);
    for (uint32_t i = 0; i < e->rank; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%u", i ? ", " : "", e->dims[i]);
    return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: tensor '%s' is %s] but the model needs %s] (0: any)",
                    arch_names[b->d->arch], name, got, want);
}

static vka_dtype model_dtype(const builder *b)
{
    return b->d->dtype == VKA_DTYPE_F16 ? VKA_DTYPE_F16 : VKA_DTYPE_F32;
}

/* A weight of the file as a graph constant, once per name (TETNP's context and target
 * steps share a layer's): the graph's constant of that name if it has one. */
static vka_result weight(builder *b, const char *name, uint32_t rank, uint32_t d0, uint32_t d1, vka_tensor *out)
{
    if (vka_graph_find(b->g, name, out) == VKA_SUCCESS)
        return VKA_SUCCESS;
    vka_safetensors_entry e;
    vka_result r = entry(b, name, rank, (uint32_t[]){d0, d1}, &e);
    return r ? r : vka_graph_constant_from_file_as(b->g, b->d->weights, name, model_dtype(b), out);
}

static vka_result weightf(builder *b, vka_tensor *out, uint32_t rank, uint32_t d0, uint32_t d1, const char *fmt,
                          const char *prefix)
{
    char name[160];
    snprintf(name, sizeof name, fmt, prefix);
    return weight(b, name, rank, d0, d1, out);
}

/* The file's values of `name` (rows × cols floats, malloc'ed) or NULL with the error set. */
static float *values(builder *b, const char *name, uint32_t rank, uint32_t rows, uint32_t cols)
{
    vka_safetensors_entry e;
    if (entry(b, name, rank, (uint32_t[]){rows, cols}, &e) != VKA_SUCCESS)
        return NULL;
    float *v = malloc(e.elements * sizeof *v);
    if (!v)
        vka_fail(b->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory reading '%s'", name);
    else if (vka_safetensors_read_f32(b->d->weights, name, v, e.elements) != VKA_SUCCESS) {
        free(v);
        v = NULL;
    }
    return v;
}

/* A constant computed on the host, in the model's type. */
static vka_result constant(builder *b, const char *name, uint32_t rank, const uint32_t *dims, const float *data,
                           vka_tensor *out)
{
    vka_tensor_desc t = {.name = name, .dtype = model_dtype(b), .rank = rank};
    memcpy(t.dims, dims, rank * sizeof *dims);
    size_t n = 1;
    for (uint32_t i = 0; i < rank; i++)
        n *= dims[i];
    if (t.dtype != VKA_DTYPE_F16)
        return vka_graph_constant(b->g, &t, data, n * sizeof *data, out);
    uint16_t *halves = malloc(n * sizeof *halves);
    if (!halves)
        return vka_fail(b->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory converting '%s'", name);
    vka_f16_from_f32(data, halves, n);
    vka_result r = vka_graph_constant(b->g, &t, halves, n * sizeof *halves, out);
    free(halves);
    return r;
}

/* ------------------------------------------------------------------ op helpers */

static vka_result dense(builder *b, vka_tensor x, vka_tensor w, vka_tensor bias, vka_tensor *out)
{
    vka_op_desc op = {.op = "dense", .inputs = {{"x", x}, {"weight", w}}, .params = {{"weight_layout", "out_in"}}};
    if (bias.id)
        op.inputs[2] = (vka_op_input){"bias", bias};
    return vka_graph_op(b->g, &op, out);
}

static vka_result unary(builder *b, const char *op, vka_tensor x, vka_tensor *out)
{
    return vka_graph_op(b->g, &(vka_op_desc){.op = op, .inputs = {{"x", x}}}, out);
}

static vka_result add(builder *b, vka_tensor x, vka_tensor y, vka_tensor *out)
{
    return vka_graph_op(b->g, &(vka_op_desc){.op = "add", .inputs = {{"a", x}, {"b", y}}}, out);
}

static vka_result layernorm(builder *b, vka_tensor x, const char *prefix, const char *norm, vka_tensor *out)
{
    vka_tensor w, bias;
    char name[160];
    vka_result r;
    snprintf(name, sizeof name, "%s.%s.weight", prefix, norm);
    if ((r = weight(b, name, 1, b->width, 0, &w)))
        return r;
    snprintf(name, sizeof name, "%s.%s.bias", prefix, norm);
    if ((r = weight(b, name, 1, b->width, 0, &bias)))
        return r;
    return vka_graph_op(b->g,
                        &(vka_op_desc){.op = "layernorm",
                                       .inputs = {{"x", x}, {"weight", w}, {"bias", bias}},
                                       .numbers = {{"eps", b->eps}}},
                        out);
}

/* ------------------------------------------------------------------ tokens and embedder */

/* fc1 of the embedder split by columns into graph constants: W_x [D, dx] (plain models),
 * W_y [D, dy], the bias for context tokens (flag 0) and for targets (flag 1: b + W_flag). */
static vka_result split_fc1(builder *b)
{
    uint32_t in = b->te ? b->dy + 1 : b->dx + b->dy + 1, D = b->width, x0 = 0, y0 = b->te ? 0 : b->dx, flag = in - 1;
    float *w = values(b, "embedder.fc1.weight", 2, D, in), *bias = values(b, "embedder.fc1.bias", 1, D, 0);
    float *wx = malloc((size_t)D * b->dx * sizeof *wx), *wy = malloc((size_t)D * b->dy * sizeof *wy);
    float *bt = malloc(D * sizeof *bt);
    vka_result r = VKA_SUCCESS;
    if (!w || !bias)
        r = VKA_ERROR_NOT_FOUND; /* the message is set */
    else if (!wx || !wy || !bt)
        r = vka_fail(b->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory building the embedder");
    for (uint32_t o = 0; r == VKA_SUCCESS && o < D; o++) {
        for (uint32_t c = 0; !b->te && c < b->dx; c++) /* TE tokens carry no x */
            wx[(size_t)o * b->dx + c] = w[(size_t)o * in + x0 + c];
        for (uint32_t c = 0; c < b->dy; c++)
            wy[(size_t)o * b->dy + c] = w[(size_t)o * in + y0 + c];
        bt[o] = bias[o] + w[(size_t)o * in + flag];
    }
    if (r == VKA_SUCCESS && !b->te)
        r = constant(b, "embedder.fc1.weight[x]", 2, (uint32_t[]){D, b->dx}, wx, &b->fc1_x);
    if (r == VKA_SUCCESS)
        r = constant(b, "embedder.fc1.weight[y]", 2, (uint32_t[]){D, b->dy}, wy, &b->fc1_y);
    if (r == VKA_SUCCESS)
        r = constant(b, "embedder.fc1.bias[context]", 1, &D, bias, &b->fc1_bias_context);
    if (r == VKA_SUCCESS && !b->te)
        r = constant(b, "embedder.fc1.bias[target]", 1, &D, bt, &b->fc1_bias_target);
    if (r == VKA_SUCCESS && b->te) {
        /* every TE target token is [0, 1]: relu(b + W_flag) for each target */
        size_t rows = (size_t)b->d->batch * b->d->nt;
        float *all = malloc(rows * D * sizeof *all);
        if (!all)
            r = vka_fail(b->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory building the embedder");
        for (size_t i = 0; all && i < rows; i++)
            for (uint32_t o = 0; o < D; o++)
                all[i * D + o] = bt[o] > 0 ? bt[o] : 0.0f;
        if (all)
            r = constant(b, "embedder.fc1[target]", 3, (uint32_t[]){b->d->batch, b->d->nt, D}, all, &b->target_h1);
        free(all);
    }
    free(w);
    free(bias);
    free(wx);
    free(wy);
    free(bt);
    return r;
}

/* relu(fc1 [x, y, flag]) for one set: x W_xᵀ + y W_yᵀ + b (context), x W_xᵀ + b_t (targets). */
static vka_result first_layer(builder *b, vka_tensor x, vka_tensor y, bool target, vka_tensor *out)
{
    vka_tensor h, hy;
    vka_result r;
    if (b->te && target) {
        *out = b->target_h1;
        return VKA_SUCCESS;
    }
    if (b->te)
        r = dense(b, y, b->fc1_y, b->fc1_bias_context, &h);
    else if (target)
        r = dense(b, x, b->fc1_x, b->fc1_bias_target, &h);
    else if ((r = dense(b, x, b->fc1_x, b->fc1_bias_context, &h)) == VKA_SUCCESS &&
             (r = dense(b, y, b->fc1_y, (vka_tensor){0}, &hy)) == VKA_SUCCESS)
        r = add(b, h, hy, &h);
    return r ? r : unary(b, "relu", h, out);
}

/* fc2, fc3 of the embedder after its first layer. */
static vka_result embed(builder *b, vka_tensor x, vka_tensor y, bool target, vka_tensor *out)
{
    vka_tensor h, w, bias;
    vka_result r = first_layer(b, x, y, target, &h);
    for (int i = 2; r == VKA_SUCCESS && i <= 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "embedder.fc%d.weight", i);
        if ((r = weight(b, name, 2, b->width, b->width, &w)))
            break;
        snprintf(name, sizeof name, "embedder.fc%d.bias", i);
        if ((r = weight(b, name, 1, b->width, 0, &bias)) || (r = dense(b, h, w, bias, &h)))
            break;
        if (i == 2)
            r = unary(b, "relu", h, &h);
    }
    *out = h;
    return r;
}

/* ------------------------------------------------------------------ attention */

static vka_result mha(builder *b, const char *prefix, vka_tensor hq, vka_tensor hk, vka_tensor *out)
{
    vka_mha_desc m = {.x_q = hq, .x_kv = hk, .heads = b->heads, .weights_out_in = true};
    vka_result r;
    if ((r = weightf(b, &m.w_q, 2, b->width, b->width, "%s.attn.wq.weight", prefix)) ||
        (r = weightf(b, &m.w_k, 2, b->width, b->width, "%s.attn.wk.weight", prefix)) ||
        (r = weightf(b, &m.w_v, 2, b->width, b->width, "%s.attn.wv.weight", prefix)) ||
        (r = weightf(b, &m.w_o, 2, b->width, b->width, "%s.attn.wo.weight", prefix)) ||
        (r = weightf(b, &m.b_o, 1, b->width, 0, "%s.attn.wo.bias", prefix)))
        return r;
    if (b->d->arch == VKA_TNP_ARCH_LINEAR_TNP) {
        m.scheme = "linear";
        m.numbers[0] = (vka_op_number){"eps", b->linear_eps};
    } else {
        m.numbers[0] = (vka_op_number){"scale", b->scale};
    }
    return vka_graph_mha(b->g, &m, out);
}

/* LayerNorm_norm(Wq GELU(Wkᵀ hk)) with v = hk: one head, no projections. HyperMixNP's
 * tokens are kept as one head, [B, 1, N, D], from the embedder to the decoder (the same
 * bytes as [B, N, D]), so `hypermixer` takes them without a copy per layer. */
static vka_result hypermix(builder *b, const char *prefix, vka_tensor hq, vka_tensor hk, vka_tensor *out)
{
    static const char *const names[6] = {"mlp_k1", "mlp_k2", "mlp_k2_bias", "mlp_q1", "mlp_q2", "mlp_q2_bias"};
    vka_op_desc op = {.op = "hypermixer", .params = {{"weight_layout", "out_in"}}};
    vka_tensor mixed;
    vka_result r;
    vka_safetensors_entry e;
    char name[160];
    snprintf(name, sizeof name, "%s.attn.mlp_k2.weight", prefix);
    if ((r = entry(b, name, 2, (uint32_t[]){0, b->width}, &e)))
        return r;
    uint32_t p = e.dims[0];
    for (int i = 0; i < 6; i++) {
        bool bias = i % 3 == 2;
        snprintf(name, sizeof name, "%s.attn.%.6s.%s", prefix, names[i], bias ? "bias" : "weight");
        op.inputs[3 + i].role = names[i];
        if ((r = weight(b, name, bias ? 1 : 2, bias || i % 3 == 1 ? p : b->width, bias ? 0 : b->width,
                        &op.inputs[3 + i].tensor)))
            return r;
    }
    op.inputs[0] = (vka_op_input){"q", hq};
    op.inputs[1] = (vka_op_input){"k", hk};
    op.inputs[2] = (vka_op_input){"v", hk};
    if ((r = vka_graph_op(b->g, &op, &mixed)))
        return r;
    snprintf(name, sizeof name, "%s.attn", prefix);
    return layernorm(b, mixed, name, "norm", out);
}

static vka_result te_attention(builder *b, const char *prefix, vka_tensor hq, vka_tensor hk, vka_tensor xq,
                               vka_tensor xk, vka_tensor *out)
{
    static const char *const roles[6] = {"fc1", "fc2", "fc3", "fc1_bias", "fc2_bias", "fc3_bias"};
    vka_tensor wq, wk, wv, wo, bo, q, k, v, o;
    vka_result r;
    if ((r = weightf(b, &wq, 2, b->width, b->width, "%s.attn.wq.weight", prefix)) ||
        (r = weightf(b, &wk, 2, b->width, b->width, "%s.attn.wk.weight", prefix)) ||
        (r = weightf(b, &wv, 2, b->width, b->width, "%s.attn.wv.weight", prefix)) ||
        (r = weightf(b, &wo, 2, b->width, b->width, "%s.attn.wo.weight", prefix)) ||
        (r = weightf(b, &bo, 1, b->width, 0, "%s.attn.wo.bias", prefix)) ||
        (r = dense(b, hq, wq, (vka_tensor){0}, &q)) || (r = dense(b, hk, wk, (vka_tensor){0}, &k)) ||
        (r = dense(b, hk, wv, (vka_tensor){0}, &v)))
        return r;
    vka_op_desc op = {.op = "te_attention",
                      .inputs = {{"q", q}, {"k", k}, {"v", v}, {"xq", xq}, {"xk", xk}},
                      .params = {{"kernel", b->d->te_kernel ? b->d->te_kernel : "flash"}},
                      .numbers = {{"scale", b->scale}}};
    for (int i = 0; i < 6; i++) {
        char name[160];
        snprintf(name, sizeof name, "%s.attn.kernel.fc%d.%s", prefix, i % 3 + 1, i < 3 ? "weight" : "bias");
        op.inputs[5 + i].role = roles[i];
        uint32_t out_dim = i % 3 == 2 ? b->heads : 0, in_dim = i == 0 ? b->dx + b->heads : 0;
        if ((r = weight(b, name, i < 3 ? 2 : 1, out_dim, in_dim, &op.inputs[5 + i].tensor)))
            return r;
    }
    if ((r = vka_graph_op(b->g, &op, &o)))
        return r;
    return dense(b, o, wo, bo, out);
}

/* ------------------------------------------------------------------ a layer and the schedule */

typedef struct sets {
    vka_tensor z[3], x[3]; /* by vka_tnp_set */
} sets;

static vka_result layer(builder *b, const char *prefix, sets *s, vka_tnp_set update, vka_tnp_set kv)
{
    vka_tensor zq = s->z[update], hq, hk, a, h, w1, b1, w2, b2, f;
    vka_result r;
    if ((r = layernorm(b, zq, prefix, "norm1", &hq)))
        return r;
    hk = hq;
    if (kv != update && (r = layernorm(b, s->z[kv], prefix, "norm1", &hk)))
        return r;
    if (b->te)
        r = te_attention(b, prefix, hq, hk, s->x[update], s->x[kv], &a);
    else if (b->d->arch == VKA_TNP_ARCH_HYPERMIX_NP)
        r = hypermix(b, prefix, hq, hk, &a);
    else
        r = mha(b, prefix, hq, hk, &a);
    vka_tensor_desc ff; /* its width: fc1's out */
    if (r || (r = add(b, zq, a, &zq)) || (r = layernorm(b, zq, prefix, "norm2", &h)) ||
        (r = weightf(b, &w1, 2, 0, b->width, "%s.ff.fc1.weight", prefix)) || (r = vka_graph_tensor_desc(b->g, w1, &ff)))
        return r;
    if ((r = weightf(b, &b1, 1, ff.dims[0], 0, "%s.ff.fc1.bias", prefix)) ||
        (r = weightf(b, &w2, 2, b->width, ff.dims[0], "%s.ff.fc2.weight", prefix)) ||
        (r = weightf(b, &b2, 1, b->width, 0, "%s.ff.fc2.bias", prefix)) || (r = dense(b, h, w1, b1, &f)) ||
        (r = unary(b, "relu", f, &f)) || (r = dense(b, f, w2, b2, &f)) || (r = add(b, zq, f, &zq)))
        return r;
    s->z[update] = zq;
    return VKA_SUCCESS;
}

/* The architecture's own schedule into steps (names into `names`, 48 bytes each). */
static uint32_t default_schedule(vka_tnp_arch arch, uint32_t layers, vka_tnp_step *steps, char (*names)[48])
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < layers; i++) {
        if (pseudo_arch(arch)) {
            static const char *const kind[3] = {"ctoq", "qtoc", "qtot"};
            static const vka_tnp_set upd[3] = {VKA_TNP_PSEUDO, VKA_TNP_CONTEXT, VKA_TNP_TARGET};
            static const vka_tnp_set kv[3] = {VKA_TNP_CONTEXT, VKA_TNP_PSEUDO, VKA_TNP_PSEUDO};
            for (int k = 0; k < 3; k++, n++) {
                snprintf(names[n], 48, "layers.%u.%s", i, kind[k]);
                steps[n] = (vka_tnp_step){names[n], upd[k], kv[k]};
            }
        } else {
            for (int k = 0; k < 2; k++, n++) {
                if (arch == VKA_TNP_ARCH_TETNP) /* one layer for both */
                    snprintf(names[n], 48, "layers.%u", i);
                else
                    snprintf(names[n], 48, "layers.%u.%s", i, k ? "ca" : "sa");
                steps[n] = (vka_tnp_step){names[n], k ? VKA_TNP_TARGET : VKA_TNP_CONTEXT, VKA_TNP_CONTEXT};
            }
        }
    }
    return n;
}

static vka_result check_schedule(builder *b, const vka_tnp_step *steps, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        const vka_tnp_step *s = &steps[i];
        if (!s->block || (unsigned)s->update > VKA_TNP_PSEUDO || (unsigned)s->kv > VKA_TNP_PSEUDO)
            return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: schedule step %u is malformed",
                            arch_names[b->d->arch], i);
        if (!b->pseudo && (s->update == VKA_TNP_PSEUDO || s->kv == VKA_TNP_PSEUDO))
            return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT,
                            "%s: schedule step %u (%s) uses pseudo-tokens, which this architecture has none of",
                            arch_names[b->d->arch], i, s->block);
        if (s->kv == VKA_TNP_TARGET)
            return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT,
                            "%s: schedule step %u (%s) attends to the targets; a neural process never does",
                            arch_names[b->d->arch], i, s->block);
    }
    return VKA_SUCCESS;
}

static vka_result run_schedule(builder *b, sets *s, const vka_tnp_step *steps, uint32_t count)
{
    bool *needed = calloc(count ? count : 1, sizeof *needed);
    if (!needed)
        return vka_fail(b->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory planning the schedule");
    bool live[3] = {false, true, false}; /* read later: the targets at the end */
    for (uint32_t i = count; i-- > 0;)
        if (live[steps[i].update]) {
            needed[i] = true;
            live[steps[i].kv] = true;
        }
    vka_result r = VKA_SUCCESS;
    for (uint32_t i = 0; r == VKA_SUCCESS && i < count; i++)
        if (needed[i])
            r = layer(b, steps[i].block, s, steps[i].update, steps[i].kv);
    free(needed);
    return r;
}

/* ------------------------------------------------------------------ inputs, pseudo-tokens, decoder */

/* The sizes from the weights: width from the embedder, dy from the decoder, dx from fc1
 * (plain) or the TE kernel's fc1 (TE: its inputs are dx + heads). */
static vka_result infer_sizes(builder *b, const vka_tnp_step *first)
{
    vka_safetensors_entry e, dec;
    vka_result r;
    if ((r = entry(b, "embedder.fc3.weight", 2, NULL, &e)))
        return r;
    b->width = e.dims[0];
    if ((r = entry(b, "decoder.fc3.weight", 2, (uint32_t[]){0, b->width}, &dec)))
        return r;
    if (dec.dims[0] % 2)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                        "%s: decoder.fc3 gives %u outputs; a Gaussian head needs 2·dim_y", arch_names[b->d->arch],
                        dec.dims[0]);
    b->dy = dec.dims[0] / 2;
    if ((r = entry(b, "embedder.fc1.weight", 2, (uint32_t[]){b->width, 0}, &e)))
        return r;
    if (b->te) {
        char name[160];
        vka_safetensors_entry k;
        snprintf(name, sizeof name, "%s.attn.kernel.fc1.weight", first ? first->block : "layers.0");
        if ((r = entry(b, name, 2, NULL, &k)))
            return r;
        vka_safetensors_entry logits;
        snprintf(name, sizeof name, "%s.attn.kernel.fc3.weight", first ? first->block : "layers.0");
        if ((r = entry(b, name, 2, NULL, &logits)))
            return r;
        if (logits.dims[0] != b->heads) /* the kernel MLP gives a logit per head */
            return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                            "%s: num_heads is %u but %s gives %u logits (one per head): the weights are for %u heads",
                            arch_names[b->d->arch], b->heads, name, logits.dims[0], logits.dims[0]);
        b->dx = k.dims[1] > b->heads ? k.dims[1] - b->heads : 0;
        if (e.dims[1] != b->dy + 1)
            return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                            "%s: embedder.fc1 takes %u inputs; TE tokens [y, flag] have %u", arch_names[b->d->arch],
                            e.dims[1], b->dy + 1);
    } else {
        b->dx = e.dims[1] > b->dy + 1 ? e.dims[1] - b->dy - 1 : 0;
    }
    if (b->dx == 0)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: the weights leave no input dimensions (dim_x = 0)",
                        arch_names[b->d->arch]);
    if (b->width % b->heads)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: %u heads do not divide the model width %u",
                        arch_names[b->d->arch], b->heads, b->width);
    return VKA_SUCCESS;
}

/* [M, D] of the file as [batch, M, D] (a shared set broadcast over the batch). */
static vka_result per_batch(builder *b, const char *name, uint32_t cols, vka_tensor *out)
{
    vka_safetensors_entry e;
    vka_result r = entry(b, name, 2, (uint32_t[]){0, cols}, &e);
    float *v = r == VKA_SUCCESS ? values(b, name, 2, e.dims[0], cols) : NULL;
    if (!v)
        return r ? r : VKA_ERROR_OUT_OF_HOST_MEMORY;
    char batched[160];
    snprintf(batched, sizeof batched, "%s[1]", name);
    r = constant(b, batched, 3, (uint32_t[]){1, e.dims[0], cols}, v, out);
    free(v);
    if (r == VKA_SUCCESS && b->d->batch > 1)
        r = vka_graph_op(
            b->g, &(vka_op_desc){.op = "broadcast", .inputs = {{"x", *out}}, .numbers = {{"batch", b->d->batch}}}, out);
    return r;
}

/* [B, N, D] ↔ [B, 1, N, D] (one head) */
static vka_result heads_op(builder *b, const char *op, vka_tensor x, vka_tensor *out)
{
    vka_op_desc d = {.op = op, .inputs = {{"x", x}}};
    if (strcmp(op, "split_heads") == 0)
        d.numbers[0] = (vka_op_number){"heads", 1};
    return vka_graph_op(b->g, &d, out);
}

static vka_result decode(builder *b, vka_tensor zt, vka_tensor *mean, vka_tensor *std)
{
    vka_tensor h = zt, w, bias;
    vka_result r = VKA_SUCCESS;
    for (int i = 1; r == VKA_SUCCESS && i <= 2; i++) {
        char name[64];
        snprintf(name, sizeof name, "decoder.fc%d.weight", i);
        if ((r = weight(b, name, 2, b->width, b->width, &w)))
            break;
        snprintf(name, sizeof name, "decoder.fc%d.bias", i);
        if ((r = weight(b, name, 1, b->width, 0, &bias)) || (r = dense(b, h, w, bias, &h)))
            break;
        r = unary(b, "relu", h, &h);
    }
    if (r != VKA_SUCCESS)
        return r;
    /* fc3's rows: the first dy give the mean, the next dy the std's pre-activation */
    uint32_t dy = b->dy, D = b->width;
    float *w3 = values(b, "decoder.fc3.weight", 2, 2 * dy, D), *b3 = values(b, "decoder.fc3.bias", 1, 2 * dy, 0);
    if (!w3 || !b3) {
        free(w3);
        free(b3);
        return VKA_ERROR_NOT_FOUND;
    }
    vka_tensor wm, bm, ws, bs, raw;
    if (!(r = constant(b, "decoder.fc3.weight[mean]", 2, (uint32_t[]){dy, D}, w3, &wm)) &&
        !(r = constant(b, "decoder.fc3.bias[mean]", 1, &dy, b3, &bm)) &&
        !(r = constant(b, "decoder.fc3.weight[std]", 2, (uint32_t[]){dy, D}, w3 + (size_t)dy * D, &ws)) &&
        !(r = constant(b, "decoder.fc3.bias[std]", 1, &dy, b3 + dy, &bs)) && !(r = dense(b, h, wm, bm, mean)))
        r = dense(b, h, ws, bs, &raw);
    free(w3);
    free(b3);
    if (r == VKA_SUCCESS)
        r = unary(b, "sqrt_softplus", raw, std);
    if (r == VKA_SUCCESS && b->d->arch == VKA_TNP_ARCH_HYPERMIX_NP && !(r = heads_op(b, "merge_heads", *mean, mean)))
        r = heads_op(b, "merge_heads", *std, std);
    return r;
}

static vka_result inputs(builder *b, sets *s)
{
    const vka_tnp_desc *d = b->d;
    vka_result r;
    vka_dtype t = model_dtype(b);
    if ((r = vka_graph_input(b->g, &(vka_tensor_desc){"xc", t, 3, {d->batch, d->nc, b->dx}}, &s->x[VKA_TNP_CONTEXT])) ||
        (r = vka_graph_input(b->g, &(vka_tensor_desc){"yc", t, 3, {d->batch, d->nc, b->dy}}, &s->z[VKA_TNP_CONTEXT])) ||
        (r = vka_graph_input(b->g, &(vka_tensor_desc){"xt", t, 3, {d->batch, d->nt, b->dx}}, &s->x[VKA_TNP_TARGET])))
        return r;
    vka_tensor yc = s->z[VKA_TNP_CONTEXT];
    if ((r = split_fc1(b)) || (r = embed(b, s->x[VKA_TNP_CONTEXT], yc, false, &s->z[VKA_TNP_CONTEXT])) ||
        (r = embed(b, s->x[VKA_TNP_TARGET], (vka_tensor){0}, true, &s->z[VKA_TNP_TARGET])))
        return r;
    if (d->arch == VKA_TNP_ARCH_HYPERMIX_NP)
        for (int set = VKA_TNP_CONTEXT; r == VKA_SUCCESS && set <= VKA_TNP_TARGET; set++)
            r = heads_op(b, "split_heads", s->z[set], &s->z[set]);
    if (r != VKA_SUCCESS || d->arch == VKA_TNP_ARCH_HYPERMIX_NP)
        return r;
    if (d->arch == VKA_TNP_ARCH_PT_TNP)
        return per_batch(b, "latents", b->width, &s->z[VKA_TNP_PSEUDO]);
    if (d->arch != VKA_TNP_ARCH_PT_TETNP)
        return VKA_SUCCESS;
    vka_tensor offsets;
    if ((r = per_batch(b, "latent_tokens", b->width, &s->z[VKA_TNP_PSEUDO])) ||
        (r = weight(b, "latent_inputs", 2, 0, b->dx, &offsets)))
        return r;
    /* pseudo-locations: learned offsets around the context's mean location */
    return vka_graph_op(
        b->g, &(vka_op_desc){.op = "mean_tokens", .inputs = {{"x", s->x[VKA_TNP_CONTEXT]}, {"offset", offsets}}},
        &s->x[VKA_TNP_PSEUDO]);
}

vka_result vka_graph_tnp(vka_graph *g, const vka_tnp_desc *d, vka_tensor *mean, vka_tensor *std)
{
    vka_context *ctx = vka_graph_context(g);
    if (!g || !d || !mean || !std || !d->weights)
        return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "vka_graph_tnp: NULL argument (graph, desc, weights, outputs)");
    if ((unsigned)d->arch >= VKA_TNP_ARCH_COUNT || d->batch == 0 || d->nc == 0 || d->nt == 0)
        return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "vka_graph_tnp: arch %d unknown or a size is 0 (batch %u, nc %u, nt %u): all must be ≥ 1",
                        (int)d->arch, d->batch, d->nc, d->nt);
    if (d->dtype != VKA_DTYPE_DEFAULT && d->dtype != VKA_DTYPE_F32 && d->dtype != VKA_DTYPE_F16)
        return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_graph_tnp: dtype %d; a model is float32 or float16",
                        (int)d->dtype);
    const struct {
        const char *name;
        float value;
    } reals[] = {
        {"attention_scale", d->attention_scale}, {"layernorm_eps", d->layernorm_eps}, {"linear_eps", d->linear_eps}};
    for (int i = 0; i < 3; i++) /* 0 is the default; anything else must be a usable positive number */
        if (!(reals[i].value >= 0) || isinf(reals[i].value))
            return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT,
                            "vka_graph_tnp: %s is %g; it must be a finite number > 0 (or 0: the default)",
                            reals[i].name, reals[i].value);
    builder *b = calloc(1, sizeof *b);
    if (!b)
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory building a TNP");
    *b = (builder){.g = g, .ctx = ctx, .d = d, .te = te_arch(d->arch), .pseudo = pseudo_arch(d->arch)};
    b->heads = d->heads ? d->heads : d->arch == VKA_TNP_ARCH_HYPERMIX_NP ? 1 : 8;
    b->eps = d->layernorm_eps > 0 ? d->layernorm_eps : 1e-5;
    b->linear_eps = d->linear_eps > 0 ? d->linear_eps : 1e-6;
    vka_tnp_step own[3 * 64];
    char names[3 * 64][48];
    const vka_tnp_step *steps = d->schedule;
    uint32_t count = d->schedule_length, layers = d->layers ? d->layers : 5;
    vka_result r = VKA_SUCCESS;
    if (!steps && layers > 64)
        r = vka_fail(ctx, VKA_ERROR_UNSUPPORTED, "vka_graph_tnp: %u layers; the default schedule takes at most 64",
                     layers);
    if (r == VKA_SUCCESS && !steps) {
        count = default_schedule(d->arch, layers, own, names);
        steps = own;
    }
    sets s = {0};
    if (r == VKA_SUCCESS && (r = check_schedule(b, steps, count)) == VKA_SUCCESS &&
        (r = infer_sizes(b, count ? &steps[0] : NULL)) == VKA_SUCCESS) {
        uint32_t head_dim = b->width / b->heads;
        b->scale = d->attention_scale > 0 ? d->attention_scale : 1.0 / sqrt((double)head_dim);
        if ((r = inputs(b, &s)) == VKA_SUCCESS && (r = run_schedule(b, &s, steps, count)) == VKA_SUCCESS)
            r = decode(b, s.z[VKA_TNP_TARGET], mean, std);
    }
    free(b);
    return r;
}
