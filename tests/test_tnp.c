/* The six TNP models (vka_graph_tnp) on the public vectors of ../shared/vectors/tnp/ (in a
 * clone alone: the one model bundled in tests/vectors/tnp, the others skipped, said so):
 * weights from PyTorch, a GP batch, and the means and stds an independent float64
 * PyTorch implementation computed: |out − expected| ≤ 1e-4 + 1e-3·|expected| everywhere.
 * Also: the outputs do not change when the context points are permuted; the TE models'
 * do not change when every location is shifted by one vector; TETNP's flash and
 * materialised TE kernels agree; the runner (`vkattn model DIR …`) writes the same
 * files; malformed model.json and weights are refused with messages that name them. */
#define _POSIX_C_SOURCE 200809L /* popen */
#include "harness.h"
#include "vkattn/io.h"
#include "vkattn/models.h"
#include "../samples/vkattn/tnp_data.h"

#include <unistd.h>

static vka_context *ctx;

static const char *const models[] = {"tnp", "linear_tnp", "hypermix_np", "pt_tnp", "tetnp", "pt_tetnp"};
enum { MODELS = 6 };

typedef struct batch {
    vka_npy xc, yc, xt, yt, mean, std;
} batch;

static void path_of(char *out, size_t size, const char *model, const char *file)
{
    snprintf(out, size, "%s/tnp/%s/%s", test_vectors_dir(NULL), model, file);
}

/* Whether the model's folder is in the vectors used. The full set must hold all six (a
 * missing one fails where it is read); the bundled subset holds one: the others are
 * skipped, once each said. */
static bool have(const char *model)
{
    bool full;
    test_vectors_dir(&full);
    char path[512];
    path_of(path, sizeof path, model, "model.json");
    FILE *f = full ? NULL : fopen(path, "r");
    if (f)
        fclose(f);
    if (!full && !f)
        printf("  %s: not in the bundled subset, skipped\n", model);
    return full || f;
}

static bool load_batch(const char *model, batch *b)
{
    static const char *const files[] = {"xc.npy",          "yc.npy", "xt.npy", "yt.npy", "expected_mean.npy",
                                        "expected_std.npy"};
    vka_npy *slots[] = {&b->xc, &b->yc, &b->xt, &b->yt, &b->mean, &b->std};
    for (int i = 0; i < 6; i++) {
        char path[512];
        path_of(path, sizeof path, model, files[i]);
        if (vka_npy_load(NULL, path, slots[i]) != VKA_SUCCESS) {
            CHECK_MSG(0, "%s: %s", path, vka_last_error(NULL));
            return false;
        }
    }
    return true;
}

static void free_batch(batch *b)
{
    vka_npy *slots[] = {&b->xc, &b->yc, &b->xt, &b->yt, &b->mean, &b->std};
    for (int i = 0; i < 6; i++)
        vka_npy_free(slots[i]);
}

/* The model's graph with outputs "mean" and "std"; d carries the sizes and options, and
 * gets the arch and the weights (*w, which the caller closes). */
static vka_result model_graph(const char *model, vka_tnp_desc *d, vka_safetensors **w, vka_graph **g)
{
    char path[512];
    path_of(path, sizeof path, model, "weights.safetensors");
    vka_tensor m, s;
    vka_result r = vka_tnp_arch_named(model, &d->arch);
    if (r == VKA_SUCCESS)
        r = vka_safetensors_open(ctx, path, w);
    d->weights = *w;
    if (r == VKA_SUCCESS)
        r = vka_graph_create(ctx, g);
    if (r == VKA_SUCCESS)
        r = vka_graph_tnp(*g, d, &m, &s);
    if (r == VKA_SUCCESS && !(r = vka_graph_output(*g, "mean", m)))
        r = vka_graph_output(*g, "std", s);
    return r;
}

/* The model in f16 (vka_tnp_desc.dtype): xc, yc, xt as halves in, mean and std as halves
 * out, from the device and (ref_mean, ref_std) from the reference on the same graph. */
static vka_result run_model_f16(const char *model, const vka_npy *in[3], uint16_t *out[2], uint16_t *ref[2])
{
    vka_safetensors *w = NULL;
    vka_graph *g = NULL;
    vka_plan *plan = NULL;
    vka_tnp_desc d = {.batch = in[0]->dims[0], .nc = in[0]->dims[1], .nt = in[2]->dims[1], .dtype = VKA_DTYPE_F16};
    size_t out_bytes = (size_t)in[2]->dims[0] * in[2]->dims[1] * in[1]->dims[2] * 2;
    static const char *const names[3] = {"xc", "yc", "xt"};
    vka_host_tensor host[3];
    uint16_t *halves[3] = {0};
    for (int i = 0; i < 3; i++) {
        size_t n = in[i]->bytes / 4;
        halves[i] = malloc(n * 2);
        vka_f16_from_f32(in[i]->data, halves[i], n);
        host[i] = (vka_host_tensor){names[i], halves[i], n * 2};
    }
    vka_result r = model_graph(model, &d, &w, &g);
    if (r == VKA_SUCCESS)
        r = vka_graph_reference(g, host, 3,
                                (vka_host_tensor[]){{"mean", ref[0], out_bytes}, {"std", ref[1], out_bytes}}, 2);
    if (r == VKA_SUCCESS)
        r = vka_plan_create(g, &(vka_plan_desc){0}, &plan);
    for (int i = 0; r == VKA_SUCCESS && i < 3; i++)
        r = vka_plan_write(plan, names[i], host[i].data, host[i].bytes);
    if (r == VKA_SUCCESS && !(r = vka_plan_run(plan)) && !(r = vka_plan_read(plan, "mean", out[0], out_bytes)))
        r = vka_plan_read(plan, "std", out[1], out_bytes);
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    vka_safetensors_close(w);
    for (int i = 0; i < 3; i++)
        free(halves[i]);
    return r;
}

/* Builds, plans and runs the model on (xc, yc, xt); mean and std hold B·Nt·dy floats. */
static vka_result run_model(const char *model, const char *te_kernel, const vka_npy *xc, const vka_npy *yc,
                            const vka_npy *xt, float *mean, float *std)
{
    vka_safetensors *w = NULL;
    vka_graph *g = NULL;
    vka_plan *plan = NULL;
    vka_tnp_desc d = {.batch = xc->dims[0], .nc = xc->dims[1], .nt = xt->dims[1], .te_kernel = te_kernel};
    size_t out_bytes = (size_t)xt->dims[0] * xt->dims[1] * yc->dims[2] * 4;
    vka_result r = model_graph(model, &d, &w, &g);
    if (r == VKA_SUCCESS)
        r = vka_plan_create(g, &(vka_plan_desc){0}, &plan);
    if (r == VKA_SUCCESS && !(r = vka_plan_write(plan, "xc", xc->data, xc->bytes)) &&
        !(r = vka_plan_write(plan, "yc", yc->data, yc->bytes)) &&
        !(r = vka_plan_write(plan, "xt", xt->data, xt->bytes)) && !(r = vka_plan_run(plan)) &&
        !(r = vka_plan_read(plan, "mean", mean, out_bytes)))
        r = vka_plan_read(plan, "std", std, out_bytes);
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    vka_safetensors_close(w);
    return r;
}

static bool ensure_context(void)
{
    if (!ctx)
        ctx = test_context(NULL);
    return ctx != NULL;
}

static void vectors(void)
{
    if (!ensure_context())
        return;
    for (int i = 0; i < MODELS; i++) {
        batch b = {0};
        if (!have(models[i]))
            continue;
        if (!load_batch(models[i], &b)) {
            free_batch(&b);
            continue;
        }
        size_t n = b.mean.bytes / 4;
        float *mean = malloc(n * 4), *std = malloc(n * 4);
        vka_result r = run_model(models[i], NULL, &b.xc, &b.yc, &b.xt, mean, std);
        {
            CHECK_MSG(r == VKA_SUCCESS, "%s: %s", models[i], vka_last_error(ctx));
            char label[64];
            snprintf(label, sizeof label, "%s mean", models[i]);
            if (r == VKA_SUCCESS)
                CHECK(test_close(label, mean, b.mean.data, n, 1e-4, 1e-3));
            snprintf(label, sizeof label, "%s std", models[i]);
            if (r == VKA_SUCCESS)
                CHECK(test_close(label, std, b.std.data, n, 1e-4, 1e-3));
        }
        test_check_validation(ctx);
        free(mean);
        free(std);
        free_batch(&b);
    }
}

/* NMSE against the reference, and the largest error against the f32 vectors (`exact`):
 * at most twice what rounding the inputs and weights to f16 alone costs the reference. */
static void check_sensitive(const char *label, const float *got, const float *ref16, const float *exact, size_t n)
{
    double err2 = 0, ref2 = 0, device = 0, reference = 0;
    for (size_t j = 0; j < n; j++) {
        err2 += ((double)got[j] - ref16[j]) * ((double)got[j] - ref16[j]);
        ref2 += (double)ref16[j] * ref16[j];
        device = fmax(device, fabs((double)got[j] - exact[j]));
        reference = fmax(reference, fabs((double)ref16[j] - exact[j]));
    }
    CHECK_MSG(err2 <= 5e-4 * ref2 && device <= 2 * reference, "%s: NMSE %.3g, error %.3g against f32 (reference %.3g)",
              label, err2 / ref2, device, reference);
}

/* Every model with f16 inputs, weights and activations against the f16 reference (the
 * double reference on the same f16 graph, rounded to f16), SCHEMES.md's f16 gate. One
 * model is too sensitive for the gate's max error: HyperMixer's hypernetwork turns f16
 * rounding of its inputs and weights alone into a 0.024 error on a mean of 0.45 (the f16
 * reference against the f32 vectors, measured), and rounding each activation adds as much
 * again; it is held to the NMSE and to twice that error. */
static bool sensitive_in_f16(const char *model)
{
    return strcmp(model, "hypermix_np") == 0;
}
static void models_in_f16(void)
{
    if (!ensure_context())
        return;
    for (int i = 0; i < MODELS; i++) {
        batch b = {0};
        if (!have(models[i]))
            continue;
        if (!load_batch(models[i], &b)) {
            free_batch(&b);
            continue;
        }
        size_t n = b.mean.bytes / 4;
        uint16_t *out[2] = {malloc(n * 2), malloc(n * 2)}, *ref[2] = {malloc(n * 2), malloc(n * 2)};
        float *got = malloc(n * 4), *want = malloc(n * 4);
        vka_result r = run_model_f16(models[i], (const vka_npy *[]){&b.xc, &b.yc, &b.xt}, out, ref);
        {
            CHECK_MSG(r == VKA_SUCCESS, "%s (f16): %s", models[i], vka_last_error(ctx));
            for (int k = 0; r == VKA_SUCCESS && k < 2; k++) {
                char label[64];
                snprintf(label, sizeof label, "%s %s (f16)", models[i], k ? "std" : "mean");
                vka_f32_from_f16(out[k], got, n);
                vka_f32_from_f16(ref[k], want, n);
                if (sensitive_in_f16(models[i]))
                    check_sensitive(label, got, want, k ? b.std.data : b.mean.data, n);
                else
                    CHECK(test_f16_gate(label, got, want, n));
            }
        }
        test_check_validation(ctx);
        for (int k = 0; k < 2; k++)
            free(out[k]), free(ref[k]);
        free(got);
        free(want);
        free_batch(&b);
    }
}

/* Reverses the order of the context points of every task. */
static void reverse_contexts(vka_npy *x)
{
    uint32_t b = x->dims[0], n = x->dims[1], w = x->dims[2];
    float *d = x->data, *row = malloc(w * 4);
    for (uint32_t t = 0; row && t < b; t++)
        for (uint32_t i = 0; i < n / 2; i++) {
            float *p = d + ((size_t)t * n + i) * w, *q = d + ((size_t)t * n + n - 1 - i) * w;
            memcpy(row, p, w * 4);
            memcpy(p, q, w * 4);
            memcpy(q, row, w * 4);
        }
    free(row);
}

/* Runs `model` with TE kernel `kernel0`, applies `change` (if any) to the batch, runs it
 * with `kernel1`: the outputs must agree. */
static void two_runs(const char *model, const char *what, const char *kernel0, const char *kernel1,
                     void (*change)(batch *b), double atol, double rtol)
{
    batch b = {0};
    if (!have(model) || !ensure_context() || !load_batch(model, &b)) {
        free_batch(&b);
        return;
    }
    size_t n = b.mean.bytes / 4;
    float *m0 = malloc(n * 4), *s0 = malloc(n * 4), *m1 = malloc(n * 4), *s1 = malloc(n * 4);
    vka_result r = run_model(model, kernel0, &b.xc, &b.yc, &b.xt, m0, s0);
    {
        CHECK_MSG(r == VKA_SUCCESS, "%s: %s", model, vka_last_error(ctx));
        if (change)
            change(&b);
        if (r == VKA_SUCCESS && (r = run_model(model, kernel1, &b.xc, &b.yc, &b.xt, m1, s1)) == VKA_SUCCESS) {
            char label[96];
            snprintf(label, sizeof label, "%s mean, %s", model, what);
            CHECK(test_close(label, m1, m0, n, atol, rtol));
            snprintf(label, sizeof label, "%s std, %s", model, what);
            CHECK(test_close(label, s1, s0, n, atol, rtol));
        }
        CHECK_MSG(r == VKA_SUCCESS, "%s, %s: %s", model, what, vka_last_error(ctx));
    }
    test_check_validation(ctx);
    free(m0);
    free(s0);
    free(m1);
    free(s1);
    free_batch(&b);
}

static void permute(batch *b)
{
    reverse_contexts(&b->xc);
    reverse_contexts(&b->yc);
}

/* Every location + (2.5, −1.75) (exact in f32 here). */
static void shift(batch *b)
{
    vka_npy *xs[2] = {&b->xc, &b->xt};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < xs[k]->bytes / 4; i++)
            ((float *)xs[k]->data)[i] += i % xs[k]->dims[2] ? -1.75f : 2.5f;
}

static void context_permutation(void)
{
    for (int i = 0; i < MODELS; i++)
        two_runs(models[i], "contexts reversed", NULL, NULL, permute, 2e-5, 2e-4);
}

static void translation_equivariance(void)
{
    two_runs("tetnp", "every location shifted", NULL, NULL, shift, 2e-5, 2e-4);
    two_runs("pt_tetnp", "every location shifted", NULL, NULL, shift, 2e-5, 2e-4);
}

/* TETNP with the materialised TE kernel: the same predictions as the flash kernel's. */
static void te_kernels_agree(void)
{
    two_runs("tetnp", "materialized vs flash", "flash", "materialized", NULL, 1e-5, 1e-4);
}

/* `vkattn model DIR …` writes the same predictions and prints the chapter's NLL. */
static void runner(void)
{
    bool full;
    test_vectors_dir(&full);
    const char *model = full ? "pt_tetnp" : "tnp"; /* tnp: the bundled subset's one model */
    char dir[512], cmd[4096];
    snprintf(dir, sizeof dir, "%s/tnp/%s", test_vectors_dir(NULL), model);
    snprintf(cmd, sizeof cmd,
             "'%s' model '%s' xc='%s/xc.npy' yc='%s/yc.npy' xt='%s/xt.npy' yt='%s/yt.npy' mean=runner_mean.npy "
             "std=runner_std.npy stats=1",
             VKATTN_CLI_PATH, dir, dir, dir, dir, dir);
    static char printed[8192];
    CHECK(test_command_output(cmd, printed, sizeof printed) == 0);
    double nll = 0;
    CHECK_MSG(sscanf(printed, "mean NLL %lf", &nll) == 1, "runner printed '%.200s'", printed);
    /* stats=1: the statistics as a self-describing JSON line too */
    static const char *const stats[] = {"{\"model\":\"",
                                        "\"peak_device_bytes\":",
                                        "\"tool\":{",
                                        "\"command\":\"vkattn model",
                                        "\"device\":{\"name\":",
                                        NULL};
    CHECK_MSG(test_contains_all(printed, stats), "runner printed '%.2000s'", printed);
    double expected = full ? 7.745905829292854 : 1.9333019225656007; /* model.json's case.expected_mean_nll */
    CHECK_MSG(fabs(nll - expected) < 1e-4 * (1 + fabs(expected)), "%s NLL %.6f, model.json says %.6f", model, nll,
              expected);
    batch b = {0};
    vka_npy m = {0}, s = {0};
    if (load_batch(model, &b) && vka_npy_load(NULL, "runner_mean.npy", &m) == VKA_SUCCESS &&
        vka_npy_load(NULL, "runner_std.npy", &s) == VKA_SUCCESS) {
        CHECK(m.bytes == b.mean.bytes && s.bytes == b.std.bytes);
        if (m.bytes == b.mean.bytes && s.bytes == b.std.bytes) {
            CHECK(test_close("runner mean", m.data, b.mean.data, m.bytes / 4, 1e-4, 1e-3));
            CHECK(test_close("runner std", s.data, b.std.data, s.bytes / 4, 1e-4, 1e-3));
        }
    } else
        CHECK_MSG(0, "runner outputs: %s", vka_last_error(NULL));
    vka_npy_free(&m);
    vka_npy_free(&s);
    free_batch(&b);
    remove("runner_mean.npy");
    remove("runner_std.npy");
}

/* Runs the CLI and returns its status; *err holds the start of what it printed. */
static int cli(const char *args, char *err, size_t size)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' model %s 2>&1", VKATTN_CLI_PATH, args);
    return test_command_output(cmd, err, size);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Inputs with the right byte counts but transposed axes: refused by file and axis (they
 * once gave a silently wrong NLL). */
static void transposed_inputs_are_refused(void)
{
    if (!ensure_context())
        return;
    char dir[512], args[4096], err[2048];
    snprintf(dir, sizeof dir, "%s/tnp/tnp", test_vectors_dir(NULL));
    const char *files[] = {"yc", "yt"};
    for (int i = 0; i < 2; i++) {
        char path[600], moved[32];
        snprintf(path, sizeof path, "%s/%s.npy", dir, files[i]);
        snprintf(moved, sizeof moved, "%s_transposed.npy", files[i]);
        vka_npy y = {0};
        CHECK_OK(NULL, vka_npy_load(NULL, path, &y));
        if (!y.data || y.dims[0] == y.dims[1])
            continue;
        uint32_t dims[3] = {y.dims[1], y.dims[0], y.dims[2]}; /* the same bytes, axes 0 and 1 swapped */
        CHECK_OK(NULL, vka_npy_save(NULL, moved, VKA_DTYPE_F32, 3, dims, y.data));
        snprintf(args, sizeof args, "'%s' xc='%s/xc.npy' yc='%s' xt='%s/xt.npy' yt='%s'", dir, dir,
                 i == 0 ? moved : path, dir, i == 1 ? moved : path);
        if (i == 1) /* yc stays the original */
            snprintf(args, sizeof args, "'%s' xc='%s/xc.npy' yc='%s/yc.npy' xt='%s/xt.npy' yt='%s'", dir, dir, dir, dir,
                     moved);
        int status = cli(args, err, sizeof err);
        CHECK_MSG(status != 0 && strstr(err, files[i]) && strstr(err, "axis 0"), "%s transposed: status %d, '%s'",
                  files[i], status, err);
        vka_npy_free(&y);
        remove(moved);
    }
}

/* The GP draw factors a dense covariance: sizes beyond its bound are refused at once. */
static void gp_draws_are_bounded(void)
{
    char err[2048], args[1200];
    snprintf(args, sizeof args, "'%s/tnp/tnp' --gp rbf --nc 20000 --nt 10", test_vectors_dir(NULL));
    int status = cli(args, err, sizeof err);
    CHECK_MSG(status != 0 && strstr(err, "at most 2048"), "status %d, '%s'", status, err);
}

/* Broken model folders: the runner and the API name what is wrong. */
static void malformed(void)
{
    if (!ensure_context())
        return;
    char dir[512], args[4096], err[2048];
    snprintf(dir, sizeof dir, "%s/tnp/tnp", test_vectors_dir(NULL));
    /* model.json: not JSON, an unknown arch, a schedule that reads the targets */
    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"{\"arch\": \"tnp\", ", "model.json"},
        {"{\"arch\": \"gpt\", \"schedule\": [{\"block\": \"layers.0.sa\", \"update\": \"zc\", \"kv\": \"zc\"}]}",
         "gpt"},
        {"{\"arch\": \"tnp\", \"schedule\": [{\"block\": \"layers.0.ca\", \"update\": \"zc\", \"kv\": \"zt\"}]}",
         "targets"},
        {"{\"arch\": \"tnp\", \"schedule\": [{\"block\": \"layers.9.sa\", \"update\": \"zt\", \"kv\": \"zc\"}]}",
         "layers.9.sa.norm1.weight"},
        /* strict JSON: what a lenient reader took as numbers, a key twice */
        {"{\"arch\": \"tnp\", \"num_heads\": 0x10}", "malformed number"},
        {"{\"arch\": \"tnp\", \"attention_scale\": -inf}", "unexpected character"},
        {"{\"arch\": \"tnp\", \"attention_scale\": 1.}", "no digits after"},
        {"{\"arch\": \"tnp\", \"num_heads\": 08}", "malformed number"},
        {"{\"arch\": \"tnp\", \"arch\": \"tnp\"}", "given twice"},
        {"{\"arch\": \"tnp\", \"layernorm_eps\": 1e999}", "too large"},
        /* values the model cannot use, refused rather than replaced by the defaults */
        {"{\"arch\": \"tnp\", \"schedule\": [{\"block\": \"layers.0.sa\", \"update\": \"zc\", \"kv\": \"zc\"}], "
         "\"attention_scale\": -1}",
         "attention_scale is -1"},
        {"{\"arch\": \"tnp\", \"schedule\": [{\"block\": \"layers.0.sa\", \"update\": \"zc\", \"kv\": \"zc\"}], "
         "\"layernorm_eps\": -0.5}",
         "layernorm_eps is -0.5"},
    };
    /* a folder of this process's own: the android run of this program runs beside it */
    char bad_dir[64], bad_file[128], command[1024];
    snprintf(bad_dir, sizeof bad_dir, "tnp_bad_%ld", (long)getpid());
    snprintf(command, sizeof command, "mkdir -p %s && cp \"%s/tnp/tnp/weights.safetensors\" %s/", bad_dir,
             test_vectors_dir(NULL), bad_dir);
    if (system(command) != 0)
        CHECK_MSG(0, "could not copy the weights");
    snprintf(bad_file, sizeof bad_file, "%s/model.json", bad_dir);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_file(bad_file, bad[i].json);
        snprintf(args, sizeof args, "%s xc='%s/xc.npy' yc='%s/yc.npy' xt='%s/xt.npy'", bad_dir, dir, dir, dir);
        int status = cli(args, err, sizeof err);
        CHECK_MSG(status != 0 && strstr(err, bad[i].needle), "model.json %zu: status %d, '%s'", i, status, err);
    }
    /* a NUL byte inside model.json: refused, not read as the end */
    FILE *nul = fopen(bad_file, "wb");
    if (nul) {
        fwrite("{\"arch\": \"tnp\"}\0{", 1, 17, nul);
        fclose(nul);
    }
    snprintf(args, sizeof args, "%s xc='%s/xc.npy' yc='%s/yc.npy' xt='%s/xt.npy'", bad_dir, dir, dir, dir);
    int nul_status = cli(args, err, sizeof err);
    CHECK_MSG(nul_status != 0 && strstr(err, "NUL byte"), "NUL: status %d, '%s'", nul_status, err);
    /* weights: a tensor of the wrong shape, through the API */
    char path[600];
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    vka_safetensors *w = NULL;
    CHECK_OK(ctx, vka_safetensors_open(ctx, path, &w));
    if (w) {
        uint32_t count = vka_safetensors_count(w);
        vka_safetensors_write *t = calloc(count, sizeof *t);
        float **data = calloc(count, sizeof *data);
        for (uint32_t i = 0; t && data && i < count; i++) {
            vka_safetensors_entry e;
            vka_safetensors_entry_at(w, i, &e);
            data[i] = malloc(e.elements * 4);
            vka_safetensors_read_f32(w, e.name, data[i], e.elements);
            t[i] = (vka_safetensors_write){.name = e.name, .rank = e.rank, .data = data[i]};
            memcpy(t[i].dims, e.dims, sizeof e.dims);
            if (strcmp(e.name, "layers.2.ca.attn.wk.weight") == 0) /* [128, 128] → [64, 256] */
                t[i].dims[0] = 64, t[i].dims[1] = 256;
        }
        snprintf(bad_file, sizeof bad_file, "%s/weights.safetensors", bad_dir);
        CHECK_OK(ctx, vka_safetensors_save(ctx, bad_file, t, count));
        for (uint32_t i = 0; data && i < count; i++)
            free(data[i]);
        free(data);
        free(t);
        vka_safetensors_close(w);
    }
    vka_safetensors *bad_w = NULL;
    vka_graph *g = NULL;
    vka_tensor m, s;
    snprintf(bad_file, sizeof bad_file, "%s/weights.safetensors", bad_dir);
    CHECK_OK(ctx, vka_safetensors_open(ctx, bad_file, &bad_w));
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    vka_tnp_desc d = {.arch = VKA_TNP_ARCH_TNP, .weights = bad_w, .batch = 1, .nc = 3, .nt = 2};
    CHECK(vka_graph_tnp(g, &d, &m, &s) == VKA_ERROR_SHAPE_MISMATCH &&
          strstr(vka_last_error(ctx), "layers.2.ca.attn.wk.weight"));
    vka_graph_destroy(g);
    /* the TNP's weights under another architecture: the first tensor it lacks, named */
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    d.arch = VKA_TNP_ARCH_PT_TNP;
    CHECK(vka_graph_tnp(g, &d, &m, &s) == VKA_ERROR_NOT_FOUND && strstr(vka_last_error(ctx), "latents"));
    vka_graph_destroy(g);
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    d.nc = 0;
    CHECK(vka_graph_tnp(g, &d, &m, &s) == VKA_ERROR_INVALID_ARGUMENT && strstr(vka_last_error(ctx), "nc 0"));
    vka_graph_destroy(g);
    vka_safetensors_close(bad_w);
    snprintf(command, sizeof command, "rm -rf %s", bad_dir);
    CHECK(system(command) == 0);
    test_check_validation(ctx);
}

/* A TE model's heads are the kernel MLP's logits: any other count is refused by name
 * (it once read past fc1's columns: heads 1, 2 and 4 under ASan). */
static void te_heads_must_match_the_weights(void)
{
    char path[600];
    if (!have("tetnp"))
        return;
    path_of(path, sizeof path, "tetnp", "weights.safetensors");
    vka_safetensors *w = NULL;
    CHECK_OK(ctx, vka_safetensors_open(ctx, path, &w));
    const uint32_t heads[] = {1, 2, 4, 16, 3};
    for (size_t i = 0; w && i < sizeof heads / sizeof *heads; i++) {
        vka_graph *g = NULL;
        vka_tensor m, s;
        CHECK_OK(ctx, vka_graph_create(ctx, &g));
        vka_tnp_desc d = {.arch = VKA_TNP_ARCH_TETNP, .weights = w, .batch = 1, .nc = 5, .nt = 3, .heads = heads[i]};
        vka_result r = vka_graph_tnp(g, &d, &m, &s);
        CHECK_MSG(r == VKA_ERROR_SHAPE_MISMATCH && strstr(vka_last_error(ctx), "weights are for 8 heads"),
                  "heads %u: %s: %s", heads[i], vka_result_string(r), vka_last_error(ctx));
        vka_graph_destroy(g);
    }
    vka_safetensors_close(w);
}

/* The runner's synthetic batches (samples/vkattn/tnp_data.c): locations in their squares;
 * GP values of variance 1 + 0.01 (the kernels have no output scale) and nearby points
 * correlated; sawtooth values in [0, 1) up to the 0.025 noise; the same seed, the same
 * batch. And `vkattn model DIR --gp rbf …` runs a model on one. */
static void synthetic_data(void)
{
    static const char *const sets[] = {"rbf", "matern52", "periodic", "sawtooth"};
    for (int k = 0; k < 4; k++) {
        tnp_dataset set;
        tnp_batch b = {0}, again = {0};
        CHECK(tnp_dataset_named(sets[k], &set));
        bool ok = tnp_batch_draw(set, 400, 12, 8, 2, 11 + k, &b) && tnp_batch_draw(set, 400, 12, 8, 2, 11 + k, &again);
        CHECK_MSG(ok, "%s: could not draw", sets[k]);
        if (!ok)
            continue;
        CHECK(memcmp(b.yt, again.yt, 400 * 8 * 4) == 0 && memcmp(b.xc, again.xc, 400 * 12 * 2 * 4) == 0);
        bool inside = true;
        for (size_t i = 0; i < 400 * 12 * 2; i++)
            inside = inside && fabsf(b.xc[i]) <= 2;
        for (size_t i = 0; i < 400 * 8 * 2; i++)
            inside = inside && fabsf(b.xt[i]) <= 4;
        CHECK_MSG(inside, "%s: locations outside [-2, 2] / [-4, 4]", sets[k]);
        double sum = 0, sq = 0, lo = 1e9, hi = -1e9;
        for (size_t i = 0; i < 400 * 12; i++) {
            sum += b.yc[i], sq += (double)b.yc[i] * b.yc[i];
            lo = fmin(lo, b.yc[i]), hi = fmax(hi, b.yc[i]);
        }
        double mean = sum / 4800, var = sq / 4800 - mean * mean;
        if (set == TNP_SAWTOOTH)
            CHECK_MSG(lo > -0.15 && hi < 1.15 && fabs(mean - 0.5) < 0.05, "sawtooth: range [%g, %g], mean %g", lo, hi,
                      mean);
        else /* 4800 values, 400 independent tasks: the variance within ±0.15 */
            CHECK_MSG(fabs(mean) < 0.15 && fabs(var - 1.01) < 0.15, "%s: mean %g, variance %g", sets[k], mean, var);
        tnp_batch_free(&b);
        tnp_batch_free(&again);
    }
    char cmd[1024], line[256] = "";
    snprintf(cmd, sizeof cmd, "'%s' model '%s/tnp/tnp' --gp matern52 --nc 20 --nt 30 --batch 3 --seed 5",
             VKATTN_CLI_PATH, test_vectors_dir(NULL));
    FILE *p = popen(cmd, "r");
    CHECK(p && fgets(line, sizeof line, p));
    CHECK(p && pclose(p) == 0);
    double nll = 0;
    CHECK_MSG(sscanf(line, "mean NLL %lf over 90 target values", &nll) == 1 && isfinite(nll), "runner printed '%s'",
              line);
}

/* `vkattn model --memory-table`: a row per cell, and the JSON rows. TETNP at (5000, 1000)
 * at most 1/100 of the chapter's 24083 MB (under a 4-buffer clamp too: its packed rows are
 * a few MiB). */
static void memory_table(void)
{
    const char *model = "tetnp";
    if (!have(model))
        return;
    double most = 240.8;
    char cmd[2048], line[256], pattern[32], json_row[96];
    snprintf(cmd, sizeof cmd, "'%s' model --memory-table '%s/tnp/%s' --json memory_table.json", VKATTN_CLI_PATH,
             test_vectors_dir(NULL), model);
    snprintf(pattern, sizeof pattern, "%s %%u %%u %%lf", model);
    FILE *p = popen(cmd, "r");
    int rows = 0;
    while (p && fgets(line, sizeof line, p)) {
        unsigned nc, nt;
        double mib;
        if (sscanf(line, pattern, &nc, &nt, &mib) != 3)
            continue;
        rows++;
        if (nc == 5000 && nt == 1000)
            CHECK_MSG(mib > 2.5 && mib <= most, "%s (5000, 1000): %.2f MiB", model, mib);
    }
    CHECK(p && pclose(p) == 0);
    CHECK_MSG(rows == 8, "%d rows", rows);
    FILE *f = fopen("memory_table.json", "r");
    static char text[65536]; /* rows carry the tool and device: about 1 KiB each */
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = '\0';
    if (f)
        fclose(f);
    snprintf(json_row, sizeof json_row, "\"model\": \"%s\", \"nc\": 5000, \"nt\": 1000", model);
    CHECK(strstr(text, json_row) && strstr(text, "\"chapter_mb\": 24083"));
    remove("memory_table.json");
}

static void done(void)
{
    test_context_done(ctx);
    ctx = NULL;
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"vectors", vectors},
        {"models_in_f16", models_in_f16},
        {"context_permutation", context_permutation},
        {"translation_equivariance", translation_equivariance},
        {"te_kernels_agree", te_kernels_agree},
        {"runner", runner},
        {"malformed", malformed},
        {"transposed_inputs_are_refused", transposed_inputs_are_refused},
        {"gp_draws_are_bounded", gp_draws_are_bounded},
        {"te_heads_must_match_the_weights", te_heads_must_match_the_weights},
        {"synthetic_data", synthetic_data},
        {"memory_table", memory_table},
        {"done", done},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof *cases);
}
