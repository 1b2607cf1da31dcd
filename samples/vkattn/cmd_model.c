/* vkattn model DIR xc=… yc=… xt=… mean=… std=… [yt=…] [te_kernel=flash|materialized] [stats=1]
 *
 * Runs a Transformer Neural Process described by DIR/model.json with the weights of
 * DIR/weights.safetensors (PyTorch names and layout) on one batch of .npy files: the
 * graph comes from vka_graph_tnp with model.json's architecture, sizes and schedule. With
 * yt it prints the mean Gaussian negative log-likelihood per target value. */
#include "cli.h"
#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_STEPS = 256 };

typedef struct model_config {
    vka_tnp_desc desc;
    vka_tnp_step steps[MAX_STEPS];
    char blocks[MAX_STEPS][96];
} model_config;

static bool number_field(const json_value *root, const char *key, double *out, const char *path)
{
    const json_value *v = json_member(root, key);
    if (!v || v->type == JSON_NULL)
        return true; /* absent: the default */
    if (v->type != JSON_NUMBER) {
        cli_fail("%s: \"%s\" must be a number", path, key);
        return false;
    }
    *out = v->number;
    return true;
}

/* "zc" / "zt" / "zp" (and the TE locations "xc" / "xt" / "xp", which must match). */
static bool set_named(const json_value *step, const char *key, char prefix, vka_tnp_set *out)
{
    const json_value *v = json_member(step, key);
    static const char sets[3] = {'c', 't', 'p'};
    if (!v || v->type != JSON_STRING || strlen(v->string) != 2 || v->string[0] != prefix)
        return false;
    for (int i = 0; i < 3; i++)
        if (v->string[1] == sets[i]) {
            *out = (vka_tnp_set)i;
            return true;
        }
    return false;
}

static bool parse_schedule(const json_value *schedule, model_config *m, const char *path)
{
    if (!schedule || schedule->type != JSON_ARRAY || schedule->count == 0 || schedule->count > MAX_STEPS) {
        cli_fail("%s: \"schedule\" must be a list of 1..%d steps", path, MAX_STEPS);
        return false;
    }
    for (size_t i = 0; i < schedule->count; i++) {
        const json_value *s = &schedule->items[i], *block = json_member(s, "block");
        vka_tnp_step *step = &m->steps[i];
        vka_tnp_set xq, xk;
        if (!block || block->type != JSON_STRING || strlen(block->string) >= sizeof m->blocks[0] ||
            !set_named(s, "update", 'z', &step->update) || !set_named(s, "kv", 'z', &step->kv)) {
            cli_fail("%s: schedule step %zu needs \"block\", \"update\" and \"kv\" (zc, zt or zp)", path, i);
            return false;
        }
        if ((json_member(s, "xq") && (!set_named(s, "xq", 'x', &xq) || xq != step->update)) ||
            (json_member(s, "xk") && (!set_named(s, "xk", 'x', &xk) || xk != step->kv))) {
            cli_fail("%s: schedule step %zu: the locations xq/xk must be those of update/kv", path, i);
            return false;
        }
        snprintf(m->blocks[i], sizeof m->blocks[i], "%s", block->string);
        step->block = m->blocks[i];
    }
    m->desc.schedule = m->steps;
    m->desc.schedule_length = (uint32_t)schedule->count;
    return true;
}

static bool read_config(const char *dir, model_config *m)
{
    char path[1024], error[160];
    snprintf(path, sizeof path, "%s/model.json", dir);
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (text = malloc((size_t)n + 1)) && fread(text, 1, (size_t)n, f) == (size_t)n)
        text[n] = '\0';
    else {
        free(text);
        text = NULL;
    }
    if (f)
        fclose(f);
    if (!text) {
        cli_fail("%s: cannot read it", path);
        return false;
    }
    json_value *root = json_parse(text, error, sizeof error);
    free(text);
    if (!root || root->type != JSON_OBJECT) {
        cli_fail("%s: not a JSON object (%s)", path, root ? "another value" : error);
        json_free(root);
        return false;
    }
    const json_value *arch = json_member(root, "arch");
    double heads = 0, layers = 0, scale = 0, eps = 0, linear_eps = 0;
    bool ok = true;
    if (!arch || arch->type != JSON_STRING || vka_tnp_arch_named(arch->string, &m->desc.arch) != VKA_SUCCESS) {
        cli_fail("%s: \"arch\" must be one of tnp, linear_tnp, hypermix_np, pt_tnp, tetnp, pt_tetnp (got %s)", path,
                 arch && arch->type == JSON_STRING ? arch->string : "none");
        ok = false;
    }
    ok = ok && number_field(root, "num_heads", &heads, path) && number_field(root, "num_layers", &layers, path) &&
         number_field(root, "attention_scale", &scale, path) && number_field(root, "layernorm_eps", &eps, path) &&
         number_field(root, "linear_attention_eps", &linear_eps, path) &&
         parse_schedule(json_member(root, "schedule"), m, path);
    if (ok && (heads < 0 || heads > 1024 || heads != floor(heads))) {
        cli_fail("%s: \"num_heads\" must be a whole number in 1..1024", path);
        ok = false;
    }
    m->desc.heads = (uint32_t)heads;
    m->desc.layers = (uint32_t)layers;
    m->desc.attention_scale = (float)scale;
    m->desc.layernorm_eps = (float)eps;
    m->desc.linear_eps = (float)linear_eps;
    json_free(root);
    return ok;
}

static bool load_input(vka_context *ctx, const char *name, const char *path, vka_npy *out)
{
    if (!path) {
        cli_fail("model: %s=FILE.npy is required", name);
        return false;
    }
    if (vka_npy_load(ctx, path, out) != VKA_SUCCESS) {
        cli_fail("model: %s", vka_last_error(ctx));
        return false;
    }
    if (out->dtype != VKA_DTYPE_F32 || out->rank != 3) {
        cli_fail("model: %s (%s) must be float32 [batch, points, dims]", name, path);
        return false;
    }
    return true;
}

/* Mean over every target value of ½ln 2π + ln σ + (y − μ)² / 2σ². */
static double mean_nll(const float *y, const float *mu, const float *sigma, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double z = ((double)y[i] - mu[i]) / sigma[i];
        sum += 0.5 * log(2 * 3.14159265358979323846) + log((double)sigma[i]) + 0.5 * z * z;
    }
    return sum / (double)n;
}

typedef struct model_args {
    const char *dir, *xc, *yc, *xt, *yt, *mean, *std, *te_kernel;
    bool stats;
} model_args;

static int run(vka_context *ctx, const model_args *a)
{
    model_config *m = calloc(1, sizeof *m);
    vka_npy xc = {0}, yc = {0}, xt = {0}, yt = {0};
    vka_safetensors *weights = NULL;
    vka_graph *g = NULL;
    vka_plan *plan = NULL;
    float *mean = NULL, *std = NULL;
    int status = 1;
    char path[1024];
    snprintf(path, sizeof path, "%s/weights.safetensors", a->dir);
    if (!m || !read_config(a->dir, m) || !load_input(ctx, "xc", a->xc, &xc) || !load_input(ctx, "yc", a->yc, &yc) ||
        !load_input(ctx, "xt", a->xt, &xt) || (a->yt && !load_input(ctx, "yt", a->yt, &yt)))
        goto done;
    if (vka_safetensors_open(ctx, path, &weights) != VKA_SUCCESS) {
        cli_fail("model: %s", vka_last_error(ctx));
        goto done;
    }
    m->desc.weights = weights;
    m->desc.batch = xc.dims[0];
    m->desc.nc = xc.dims[1];
    m->desc.nt = xt.dims[1];
    m->desc.te_kernel = a->te_kernel;
    vka_tensor tm, ts;
    vka_result r = vka_graph_create(ctx, &g);
    if (r == VKA_SUCCESS)
        r = vka_graph_tnp(g, &m->desc, &tm, &ts);
    if (r == VKA_SUCCESS && !(r = vka_graph_output(g, "mean", tm)))
        r = vka_graph_output(g, "std", ts);
    if (r == VKA_SUCCESS)
        r = vka_plan_create(g, &(vka_plan_desc){0}, &plan);
    /* the inputs' shapes are checked against the graph's by vka_plan_write */
    if (r == VKA_SUCCESS && !(r = vka_plan_write(plan, "xc", xc.data, xc.bytes)) &&
        !(r = vka_plan_write(plan, "yc", yc.data, yc.bytes)))
        r = vka_plan_write(plan, "xt", xt.data, xt.bytes);
    vka_tensor_desc out;
    if (r == VKA_SUCCESS)
        r = vka_graph_tensor_desc(g, tm, &out);
    size_t count = r == VKA_SUCCESS ? (size_t)out.dims[0] * out.dims[1] * out.dims[2] : 0;
    if (r == VKA_SUCCESS && (!(mean = malloc(count * 4)) || !(std = malloc(count * 4))))
        r = VKA_ERROR_OUT_OF_HOST_MEMORY;
    if (r == VKA_SUCCESS && !(r = vka_plan_run(plan)) && !(r = vka_plan_read(plan, "mean", mean, count * 4)))
        r = vka_plan_read(plan, "std", std, count * 4);
    if (r == VKA_SUCCESS && a->mean)
        r = vka_npy_save(ctx, a->mean, VKA_DTYPE_F32, 3, out.dims, mean);
    if (r == VKA_SUCCESS && a->std)
        r = vka_npy_save(ctx, a->std, VKA_DTYPE_F32, 3, out.dims, std);
    if (r != VKA_SUCCESS) {
        cli_fail_result(ctx, r, "model");
        goto done;
    }
    if (a->yt) {
        if (yt.bytes != count * 4) {
            cli_fail("model: yt has %zu values but the model predicts %zu", yt.bytes / 4, count);
            goto done;
        }
        printf("mean NLL %.6f over %zu target values\n", mean_nll(yt.data, mean, std, count), count);
    }
    if (a->stats) {
        vka_plan_stats s;
        vka_plan_stats_get(plan, &s);
        printf("%s: batch %u, N_c %u, N_t %u: peak device memory %.2f MiB, %u dispatches, run %.1f ms (wall)\n",
               vka_tnp_arch_name(m->desc.arch), m->desc.batch, m->desc.nc, m->desc.nt, s.peak_device_bytes / 1048576.0,
               s.dispatch_count, s.last_run_wall_ms);
    }
    status = 0;
done:
    free(mean);
    free(std);
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    vka_safetensors_close(weights);
    vka_npy_free(&xc);
    vka_npy_free(&yc);
    vka_npy_free(&xt);
    vka_npy_free(&yt);
    free(m);
    return status;
}

int cmd_model(int argc, char **argv)
{
    model_args a = {0};
    for (int i = 0; i < argc; i++) {
        char *key, *value;
        if (!strchr(argv[i], '=')) {
            if (a.dir)
                return cli_fail("model: one model folder, then key=value arguments (got '%s' too)", argv[i]);
            a.dir = argv[i];
            continue;
        }
        cli_split_pair(argv[i], &key, &value);
        const char **slot = strcmp(key, "xc") == 0          ? &a.xc
                            : strcmp(key, "yc") == 0        ? &a.yc
                            : strcmp(key, "xt") == 0        ? &a.xt
                            : strcmp(key, "yt") == 0        ? &a.yt
                            : strcmp(key, "mean") == 0      ? &a.mean
                            : strcmp(key, "std") == 0       ? &a.std
                            : strcmp(key, "te_kernel") == 0 ? &a.te_kernel
                                                            : NULL;
        if (strcmp(key, "stats") == 0)
            a.stats = strcmp(value, "0") != 0;
        else if (!slot)
            return cli_fail("model: unknown argument '%s' (xc, yc, xt, yt, mean, std, te_kernel, stats)", key);
        else
            *slot = value;
    }
    if (!a.dir)
        return cli_fail("model: give the model's folder (with model.json and weights.safetensors)");
    vka_context *ctx;
    vka_result r = vka_context_create(&(vka_context_desc){0}, &ctx);
    if (r != VKA_SUCCESS)
        return cli_fail_result(NULL, r, "model: creating the context");
    int status = run(ctx, &a);
    vka_context_destroy(ctx);
    return status;
}
