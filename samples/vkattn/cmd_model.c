/* vkattn model DIR xc=… yc=… xt=… [yt=…] [mean=…] [std=…] [te_kernel=flash|materialized] [dtype=f16]
 *              [stats=1]
 * vkattn model DIR --gp rbf|matern52|periodic|--sawtooth [--nc N] [--nt N] [--batch B] [--seed S] …
 * vkattn model --memory-table DIR… [--json FILE]
 *
 * Runs a Transformer Neural Process described by DIR/model.json with the weights of
 * DIR/weights.safetensors (PyTorch names and layout) on one batch — .npy files, or a
 * synthetic batch (tnp_data.c): the graph comes from vka_graph_tnp with model.json's
 * architecture, sizes and schedule. With targets' y it prints the mean Gaussian negative
 * log-likelihood per target value. dtype=f16 runs the model in f16 (inputs, weights and
 * activations: vka_tnp_desc.dtype; files and NLL stay f32). --memory-table plans (does not run) each model at
 * batch 1 for the eight (N_c, N_t) cells of the efficient-TNP chapter's Table 0.5.2 and
 * prints the planned peak device memory beside the chapter's figures and a PyTorch CPU
 * measurement. */
#include "cli.h"
#include "model_config.h"
#include "provenance.h"
#include "tnp_data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool read_config(const char *dir, model_config *m)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/model.json", dir);
    size_t n = 0;
    char *text = cli_read_file(path, &n);
    if (!text) {
        cli_fail("%s: cannot read it", path);
        return false;
    }
    bool ok = model_config_parse(text, n, path, m);
    free(text);
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

/* One batch, from files or drawn. */
typedef struct model_inputs {
    uint32_t batch, nc, nt;
    const float *xc, *yc, *xt, *yt; /* yt may be NULL */
    size_t xc_bytes, yc_bytes, xt_bytes, yt_count;
    vka_npy files[4];
    tnp_batch drawn;
} model_inputs;

typedef struct model_args {
    const char *dirs[16];
    uint32_t dir_count;
    const char *xc, *yc, *xt, *yt, *mean, *std, *te_kernel, *json;
    bool stats, memory_table, synthetic;
    vka_dtype dtype; /* dtype=: the model's (DEFAULT: f32) */
    uint32_t runs;   /* the last one is timed (the first pays each pipeline's JIT) */
    tnp_dataset dataset;
    uint32_t nc, nt, batch;
    uint64_t seed;
} model_args;

/* file's axis `axis` must be `want` (what `what` says it is). */
static bool expect_axis(const char *name, const char *path, const vka_npy *file, uint32_t axis, uint32_t want,
                        const char *what)
{
    if (file->dims[axis] == want)
        return true;
    cli_fail("model: %s (%s) is [%u, %u, %u]: axis %u is %u but must be %u (%s)", name, path, file->dims[0],
             file->dims[1], file->dims[2], axis, file->dims[axis], want, what);
    return false;
}

/* xc [B, Nc, dx], yc [B, Nc, dy], xt [B, Nt, dx], yt [B, Nt, dy]: checked by axis, so a
 * transposed file with the right byte count is refused rather than misread. */
static bool inputs_agree(const model_args *a, uint32_t dim_x, const vka_npy *f)
{
    const vka_npy *xc = &f[0], *yc = &f[1], *xt = &f[2], *yt = &f[3];
    return expect_axis("xc", a->xc, xc, 2, dim_x, "the model's dim_x") &&
           expect_axis("yc", a->yc, yc, 0, xc->dims[0], "xc's batch") &&
           expect_axis("yc", a->yc, yc, 1, xc->dims[1], "xc's context points") &&
           expect_axis("xt", a->xt, xt, 0, xc->dims[0], "xc's batch") &&
           expect_axis("xt", a->xt, xt, 2, dim_x, "the model's dim_x") &&
           (!a->yt || (expect_axis("yt", a->yt, yt, 0, xc->dims[0], "xc's batch") &&
                       expect_axis("yt", a->yt, yt, 1, xt->dims[1], "xt's target points") &&
                       expect_axis("yt", a->yt, yt, 2, yc->dims[2], "yc's dim_y")));
}

static bool read_inputs(vka_context *ctx, const model_args *a, uint32_t dim_x, model_inputs *in)
{
    if (a->synthetic) {
        if (!tnp_batch_draw(a->dataset, a->batch, a->nc, a->nt, dim_x, a->seed, &in->drawn)) {
            cli_fail("model: could not draw the synthetic batch (out of memory)");
            return false;
        }
        tnp_batch *d = &in->drawn;
        *in = (model_inputs){.batch = d->batch,
                             .nc = d->nc,
                             .nt = d->nt,
                             .xc = d->xc,
                             .yc = d->yc,
                             .xt = d->xt,
                             .yt = d->yt,
                             .xc_bytes = (size_t)d->batch * d->nc * dim_x * 4,
                             .yc_bytes = (size_t)d->batch * d->nc * 4,
                             .xt_bytes = (size_t)d->batch * d->nt * dim_x * 4,
                             .yt_count = (size_t)d->batch * d->nt,
                             .drawn = *d};
        return true;
    }
    if (!load_input(ctx, "xc", a->xc, &in->files[0]) || !load_input(ctx, "yc", a->yc, &in->files[1]) ||
        !load_input(ctx, "xt", a->xt, &in->files[2]) || (a->yt && !load_input(ctx, "yt", a->yt, &in->files[3])) ||
        !inputs_agree(a, dim_x, in->files))
        return false;
    in->batch = in->files[0].dims[0];
    in->nc = in->files[0].dims[1];
    in->nt = in->files[2].dims[1];
    in->xc = in->files[0].data, in->xc_bytes = in->files[0].bytes;
    in->yc = in->files[1].data, in->yc_bytes = in->files[1].bytes;
    in->xt = in->files[2].data, in->xt_bytes = in->files[2].bytes;
    in->yt = a->yt ? in->files[3].data : NULL, in->yt_count = in->files[3].bytes / 4;
    return true;
}

static void free_inputs(model_inputs *in)
{
    for (int i = 0; i < 4; i++)
        vka_npy_free(&in->files[i]);
    tnp_batch_free(&in->drawn);
}

/* The model of `dir` with its weights open; false with the message printed. */
static bool open_model(vka_context *ctx, const char *dir, model_config *m, vka_safetensors **weights)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    if (!read_config(dir, m))
        return false;
    if (vka_safetensors_open(ctx, path, weights) != VKA_SUCCESS) {
        cli_fail("model: %s", vka_last_error(ctx));
        return false;
    }
    m->desc.weights = *weights;
    return true;
}

/* The graph of the model at the desc's sizes with outputs "mean" and "std", planned. */
static vka_result plan_model(vka_context *ctx, const vka_tnp_desc *desc, bool memory_only, vka_graph **g,
                             vka_plan **plan, vka_tensor_desc *out)
{
    vka_tensor tm, ts;
    vka_result r = vka_graph_create(ctx, g);
    if (r == VKA_SUCCESS)
        r = vka_graph_tnp(*g, desc, &tm, &ts);
    if (r == VKA_SUCCESS && !(r = vka_graph_output(*g, "mean", tm)) && !(r = vka_graph_output(*g, "std", ts)))
        r = vka_graph_tensor_desc(*g, tm, out);
    if (r == VKA_SUCCESS)
        r = vka_plan_create(*g, &(vka_plan_desc){.memory_only = memory_only}, plan);
    return r;
}

static int run(vka_context *ctx, const model_args *a)
{
    model_config *m = calloc(1, sizeof *m);
    model_inputs in = {0};
    vka_safetensors *weights = NULL;
    vka_graph *g = NULL;
    vka_plan *plan = NULL;
    float *mean = NULL, *std = NULL;
    int status = 1;
    if (!m || !open_model(ctx, a->dirs[0], m, &weights) || !read_inputs(ctx, a, m->dim_x, &in))
        goto done;
    m->desc.batch = in.batch;
    m->desc.nc = in.nc;
    m->desc.nt = in.nt;
    m->desc.te_kernel = a->te_kernel;
    m->desc.dtype = a->dtype;
    vka_tensor_desc out;
    vka_result r = plan_model(ctx, &m->desc, false, &g, &plan, &out);
    /* the inputs' shapes are checked against the graph's by vka_plan_write */
    if (r == VKA_SUCCESS && !(r = cli_plan_write_f32(plan, "xc", in.xc, in.xc_bytes / 4, a->dtype)) &&
        !(r = cli_plan_write_f32(plan, "yc", in.yc, in.yc_bytes / 4, a->dtype)))
        r = cli_plan_write_f32(plan, "xt", in.xt, in.xt_bytes / 4, a->dtype);
    size_t count = r == VKA_SUCCESS ? (size_t)out.dims[0] * out.dims[1] * out.dims[2] : 0;
    if (r == VKA_SUCCESS && (!(mean = malloc(count * 4)) || !(std = malloc(count * 4))))
        r = VKA_ERROR_OUT_OF_HOST_MEMORY;
    for (uint32_t i = 0; r == VKA_SUCCESS && i < a->runs; i++)
        r = vka_plan_run(plan);
    if (r == VKA_SUCCESS && !(r = cli_plan_read_f32(plan, "mean", mean, count, a->dtype)))
        r = cli_plan_read_f32(plan, "std", std, count, a->dtype);
    if (r == VKA_SUCCESS && a->mean)
        r = vka_npy_save(ctx, a->mean, VKA_DTYPE_F32, 3, out.dims, mean);
    if (r == VKA_SUCCESS && a->std)
        r = vka_npy_save(ctx, a->std, VKA_DTYPE_F32, 3, out.dims, std);
    if (r != VKA_SUCCESS) {
        cli_fail_result(ctx, r, "model");
        goto done;
    }
    if (in.yt) {
        if (in.yt_count != count) {
            cli_fail("model: yt has %zu values but the model predicts %zu", in.yt_count, count);
            goto done;
        }
        printf("mean NLL %.6f over %zu target values\n", mean_nll(in.yt, mean, std, count), count);
    }
    if (a->stats) {
        vka_plan_stats s;
        vka_plan_stats_get(plan, &s);
        printf("%s (%s): batch %u, N_c %u, N_t %u: peak device memory %.2f MiB, %u dispatches, run %u of %u: %.1f ms "
               "(wall), %.1f ms (gpu)\n",
               vka_tnp_arch_name(m->desc.arch), a->dtype == VKA_DTYPE_F16 ? "f16" : "f32", m->desc.batch, m->desc.nc,
               m->desc.nt, s.peak_device_bytes / 1048576.0, s.dispatch_count, a->runs, a->runs, s.last_run_wall_ms,
               s.last_run_gpu_ms);
        /* the same as one self-describing JSON line, as `vkattn run … stats=1` prints */
        vka_device_info info;
        vka_context_device_info(ctx, &info);
        printf("{\"model\":\"%s\",\"dtype\":\"%s\",\"te_kernel\":\"%s\",\"batch\":%u,\"nc\":%u,\"nt\":%u,"
               "\"peak_device_bytes\":%llu,\"dispatches\":%u,\"runs\":%u,\"wall_ms\":%.4f,\"gpu_ms\":%.4f,",
               vka_tnp_arch_name(m->desc.arch), a->dtype == VKA_DTYPE_F16 ? "f16" : "f32",
               a->te_kernel ? a->te_kernel : "flash", m->desc.batch, m->desc.nc, m->desc.nt,
               (unsigned long long)s.peak_device_bytes, s.dispatch_count, a->runs, s.last_run_wall_ms,
               s.last_run_gpu_ms);
        provenance_write_json(stdout, &info);
        printf("}\n");
    }
    status = 0;
done:
    free(mean);
    free(std);
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    vka_safetensors_close(weights);
    free_inputs(&in);
    free(m);
    return status;
}

/* ------------------------------------------------------------------ the memory table */

/* Table 0.5.2's cells and figures: the chapter's (MB, GPU, PyTorch) and an independent
 * PyTorch CPU measurement (MiB: weights + inputs + peak allocated, no autograd), as the
 * issue gives them. The chapter's PT-TNP column is compared with both pseudo-token
 * models; the PyTorch measurement is of PT-TETNP. 0: no figure. */
static const uint32_t cells[8][2] = {{10, 10},   {100, 10},   {1000, 10},   {5000, 10},
                                     {10, 1000}, {100, 1000}, {1000, 1000}, {5000, 1000}};
static const struct {
    const char *arch;
    double chapter[8], torch[8];
} figures[] = {
    {"hypermix_np", {16, 16, 23, 69, 19, 19, 24, 70}, {4.2, 4.4, 7.1, 18.9, 7.0, 7.1, 8.1, 19.4}},
    {"linear_tnp", {16, 16, 31, 109, 25, 31, 32, 109}, {4.1, 4.5, 8.5, 26.3, 7.1, 7.3, 9.5, 26.8}},
    {"pt_tnp", {19, 19, 50, 190, 51, 51, 51, 191}, {0}},
    {"pt_tetnp", {19, 19, 50, 190, 51, 51, 51, 191}, {7.5, 10.6, 42.7, 185, 42.3, 42.3, 43.2, 186}},
    {"tetnp", {13, 23, 984, 24082, 26, 113, 985, 24083}, {2.6, 13.3, 1058, 26400, 14.5, 110, 1059, 26400}},
};

static void figure_text(char *out, size_t size, double v)
{
    if (v > 0)
        snprintf(out, size, "%.1f", v);
    else
        snprintf(out, size, "-");
}

static int memory_table(vka_context *ctx, const model_args *a)
{
    FILE *json = NULL;
    if (a->json && !(json = fopen(a->json, "w")))
        return cli_fail("model: cannot write %s", a->json);
    if (json)
        fputs("[\n", json);
    printf("%-12s %5s %5s %12s %12s %10s  %s\n", "model", "N_c", "N_t", "engine MiB", "chapter MB", "torch MiB",
           "engine / smaller");
    int status = 0;
    bool first = true;
    vka_device_info info;
    vka_context_device_info(ctx, &info);
    for (uint32_t d = 0; d < a->dir_count && status == 0; d++) {
        model_config *m = calloc(1, sizeof *m);
        vka_safetensors *weights = NULL;
        if (!m || !open_model(ctx, a->dirs[d], m, &weights))
            status = 1;
        const char *arch = status ? "" : vka_tnp_arch_name(m->desc.arch);
        int fig = -1;
        for (int f = 0; !status && f < (int)(sizeof figures / sizeof *figures); f++)
            if (strcmp(figures[f].arch, arch) == 0)
                fig = f;
        for (int c = 0; !status && c < 8; c++) {
            vka_graph *g = NULL;
            vka_plan *plan = NULL;
            vka_tensor_desc out;
            vka_plan_stats s = {0};
            m->desc.batch = 1, m->desc.nc = cells[c][0], m->desc.nt = cells[c][1];
            vka_result r = plan_model(ctx, &m->desc, true, &g, &plan, &out);
            if (r == VKA_SUCCESS)
                r = vka_plan_stats_get(plan, &s);
            if (r != VKA_SUCCESS)
                status = cli_fail_result(ctx, r, "model --memory-table");
            double mib = s.peak_device_bytes / 1048576.0;
            double chapter = fig >= 0 ? figures[fig].chapter[c] : 0, torch = fig >= 0 ? figures[fig].torch[c] : 0;
            double smaller = chapter > 0 && torch > 0 ? fmin(chapter, torch) : chapter > 0 ? chapter : torch;
            char ch[16], to[16], ratio[16];
            figure_text(ch, sizeof ch, chapter);
            figure_text(to, sizeof to, torch);
            if (smaller > 0)
                snprintf(ratio, sizeof ratio, "%.3f", mib / smaller);
            else
                snprintf(ratio, sizeof ratio, "-");
            if (!status)
                printf("%-12s %5u %5u %12.2f %12s %10s  %s\n", arch, cells[c][0], cells[c][1], mib, ch, to, ratio);
            if (!status && json) {
                fprintf(json,
                        "%s  {\"model\": \"%s\", \"nc\": %u, \"nt\": %u, \"engine_mib\": %.4f, \"peak_device_bytes\": "
                        "%llu, \"chapter_mb\": %s, \"torch_mib\": %s, ",
                        first ? "" : ",\n", arch, cells[c][0], cells[c][1], mib,
                        (unsigned long long)s.peak_device_bytes, chapter > 0 ? ch : "null", torch > 0 ? to : "null");
                provenance_write_json(json, &info);
                fputc('}', json);
                first = false;
            }
            vka_plan_destroy(plan);
            vka_graph_destroy(g);
        }
        vka_safetensors_close(weights);
        free(m);
    }
    if (json) {
        fputs("\n]\n", json);
        fclose(json);
    }
    return status;
}

/* ------------------------------------------------------------------ arguments */

/* --options; *i moves past a value. Non-zero: the exit status of a bad option. */
static int option(int argc, char **argv, int *i, model_args *a)
{
    const char *o = argv[*i], *value = *i + 1 < argc ? argv[*i + 1] : NULL;
    static const char *const known[] = {"--memory-table", "--sawtooth", "--gp",   "--json", "--nc",
                                        "--nt",           "--batch",    "--seed", NULL};
    bool is_known = false;
    for (int k = 0; known[k]; k++)
        is_known = is_known || strcmp(o, known[k]) == 0;
    if (!is_known)
        return cli_fail("model: unknown option '%s' (--gp, --sawtooth, --nc, --nt, --batch, --seed, --memory-table, "
                        "--json)",
                        o);
    bool takes_value = strcmp(o, "--memory-table") != 0 && strcmp(o, "--sawtooth") != 0;
    if (takes_value && !value)
        return cli_fail("model: %s needs a value", o);
    if (takes_value)
        (*i)++;
    if (strcmp(o, "--memory-table") == 0)
        a->memory_table = true;
    else if (strcmp(o, "--sawtooth") == 0)
        a->synthetic = true, a->dataset = TNP_SAWTOOTH;
    else if (strcmp(o, "--gp") == 0) {
        if (!tnp_dataset_named(value, &a->dataset) || a->dataset == TNP_SAWTOOTH)
            return cli_fail("model: --gp takes rbf, matern52 or periodic, not '%s'", value);
        a->synthetic = true;
    } else if (strcmp(o, "--json") == 0)
        a->json = value;
    else if (strcmp(o, "--nc") == 0 || strcmp(o, "--nt") == 0 || strcmp(o, "--batch") == 0) {
        uint32_t *slot = o[2] == 'b' ? &a->batch : o[3] == 'c' ? &a->nc : &a->nt;
        if (!cli_whole_number(value, 1, 1u << 20, slot))
            return cli_fail("model: %s takes a whole number in 1..1048576, not '%s'", o, value);
    } else if (strcmp(o, "--seed") == 0) {
        uint32_t seed;
        if (!cli_whole_number(value, 0, UINT32_MAX, &seed))
            return cli_fail("model: --seed takes a whole number, not '%s'", value);
        a->seed = seed;
    } else
        return cli_fail("model: unknown option '%s' (--gp, --sawtooth, --nc, --nt, --batch, --seed, "
                        "--memory-table, --json)",
                        o);
    return 0;
}

static int argument(char *arg, model_args *a)
{
    char *key, *value;
    cli_split_pair(arg, &key, &value);
    const char **slot = strcmp(key, "xc") == 0          ? &a->xc
                        : strcmp(key, "yc") == 0        ? &a->yc
                        : strcmp(key, "xt") == 0        ? &a->xt
                        : strcmp(key, "yt") == 0        ? &a->yt
                        : strcmp(key, "mean") == 0      ? &a->mean
                        : strcmp(key, "std") == 0       ? &a->std
                        : strcmp(key, "te_kernel") == 0 ? &a->te_kernel
                                                        : NULL;
    if (strcmp(key, "stats") == 0)
        a->stats = strcmp(value, "0") != 0;
    else if (strcmp(key, "dtype") == 0) {
        if (strcmp(value, "f16") != 0 && strcmp(value, "f32") != 0)
            return cli_fail("model: dtype takes f16 or f32, not '%s'", value);
        a->dtype = value[1] == '1' ? VKA_DTYPE_F16 : VKA_DTYPE_F32;
    } else if (strcmp(key, "runs") == 0) {
        if (!cli_whole_number(value, 1, 1000, &a->runs))
            return cli_fail("model: runs takes a whole number in 1..1000, not '%s'", value);
    } else if (!slot)
        return cli_fail("model: unknown argument '%s' (xc, yc, xt, yt, mean, std, te_kernel, dtype, stats, runs)", key);
    else
        *slot = value;
    return 0;
}

/* The GP datasets factor an (nc + nt)² covariance per set: 3.6 s for 2000 points on
 * lavapipe's 2-core machine (model run included), 20 s for 4000. */
#define GP_MAX_POINTS 2048

int cmd_model(int argc, char **argv)
{
    model_args a = {.nc = 100, .nt = 100, .batch = 1, .runs = 1};
    for (int i = 0; i < argc; i++) {
        int bad = strncmp(argv[i], "--", 2) == 0 ? option(argc, argv, &i, &a)
                  : strchr(argv[i], '=')         ? argument(argv[i], &a)
                  : a.dir_count < 16             ? (a.dirs[a.dir_count++] = argv[i], 0)
                                                 : cli_fail("model: at most 16 model folders");
        if (bad)
            return bad;
    }
    if (a.dir_count == 0)
        return cli_fail("model: give the model's folder (with model.json and weights.safetensors)");
    if (!a.memory_table && a.dir_count > 1)
        return cli_fail("model: one model folder to run (several only with --memory-table)");
    if (a.synthetic && (a.xc || a.yc || a.xt || a.yt))
        return cli_fail("model: give xc/yc/xt/yt files or --gp/--sawtooth, not both");
    if (a.synthetic && a.dataset != TNP_SAWTOOTH && a.nc + a.nt > GP_MAX_POINTS)
        return cli_fail("model: --gp draws each set from a dense covariance (a Cholesky factor, O(n^3) time, O(n^2) "
                        "memory): --nc + --nt is %u, at most %d",
                        a.nc + a.nt, GP_MAX_POINTS);
    vka_context *ctx;
    vka_result r = vka_context_create(&(vka_context_desc){0}, &ctx);
    if (r != VKA_SUCCESS)
        return cli_fail_result(NULL, r, "model: creating the context");
    int status = a.memory_table ? memory_table(ctx, &a) : run(ctx, &a);
    if (!status && vka_context_validation_message_count(ctx)) /* as run and bench count them */
        status = cli_fail("validation: %s", vka_context_first_validation_message(ctx));
    vka_context_destroy(ctx);
    return status;
}
