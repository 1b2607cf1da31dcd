#define _POSIX_C_SOURCE 200809L /* popen */
#include "harness.h"

#include <time.h>

int test_failures;

static uint64_t rng = 0x2545F4914F6CDD1Dull;

void test_seed(uint64_t seed)
{
    rng = seed * 0x9E3779B97F4A7C15ull + 1;
}

static double uniform01(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((rng >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

float test_normal(void)
{
    return (float)(sqrt(-2.0 * log(uniform01())) * cos(6.283185307179586 * uniform01()));
}

void test_fill_normal(float *x, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        x[i] = test_normal() * scale;
}

bool test_close(const char *what, const float *a, const float *b, size_t n, double atol, double rtol)
{
    size_t worst = 0;
    double worst_excess = 0;
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)a[i] - b[i]);
        double allowed = atol + rtol * fabs((double)b[i]);
        if (!isfinite(a[i]) || !(diff <= allowed)) {
            double excess = isfinite(a[i]) ? diff - allowed : INFINITY;
            if (ok || excess > worst_excess) {
                worst = i;
                worst_excess = excess;
            }
            ok = false;
        }
    }
    if (!ok) {
        fprintf(stderr, "  %s: element %zu is %.9g, expected %.9g (atol %g, rtol %g)\n", what, worst, a[worst],
                b[worst], atol, rtol);
        test_failures++;
    }
    return ok;
}

bool test_f16_gate(const char *what, const float *got, const float *ref, size_t n)
{
    double err2 = 0, ref2 = 0, worst = 0, ref_max = 0;
    size_t at = 0;
    bool finite = true;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]);
        finite = finite && isfinite(got[i]);
        err2 += d * d;
        ref2 += (double)ref[i] * ref[i];
        ref_max = fmax(ref_max, fabs((double)ref[i]));
        if (d > worst)
            worst = d, at = i;
    }
    double nmse = ref2 > 0 ? err2 / ref2 : err2;
    bool ok = finite && nmse <= 5e-4 && worst <= 4e-3 * ref_max;
    if (!ok) {
        fprintf(stderr,
                "  %s: f16 gate: NMSE %.3g (at most 5e-4), max error %.3g at %zu (%.6g vs %.6g; at most %.3g)%s\n",
                what, nmse, worst, at, got[at], ref[at], 4e-3 * ref_max, finite ? "" : ", not finite");
        test_failures++;
    }
    return ok;
}

bool test_contains_all(const char *s, const char *const *needles)
{
    for (; *needles; needles++)
        if (!strstr(s, *needles))
            return false;
    return true;
}

vka_context *test_context(const vka_context_desc *base)
{
    vka_context_desc desc = base ? *base : (vka_context_desc){0};
    desc.validation = true;
    vka_context *ctx = NULL;
    vka_result r = vka_context_create(&desc, &ctx);
    if (r != VKA_SUCCESS) {
        fprintf(stderr, "  cannot create a context: %s: %s\n", vka_result_string(r), vka_last_error(NULL));
        test_failures++;
        return NULL;
    }
    return ctx;
}

static const vka_context *seen_ctx[8];
static uint32_t seen_count[8];

void test_check_validation(vka_context *ctx)
{
    if (!ctx)
        return;
    uint32_t *seen = NULL;
    for (int i = 0; i < 8 && !seen; i++)
        if (seen_ctx[i] == ctx || !seen_ctx[i]) {
            seen_ctx[i] = ctx;
            seen = &seen_count[i];
        }
    uint32_t n = vka_context_validation_message_count(ctx);
    uint32_t before = seen ? *seen : 0;
    if (n > before) {
        fprintf(stderr, "  %u validation message(s); the context's first: %s\n", n - before,
                vka_context_first_validation_message(ctx));
        test_failures++;
    }
    if (seen)
        *seen = n;
}

bool test_class_contexts(vka_context *contexts[2])
{
    static const vka_kernel_class classes[] = {VKA_KERNEL_CLASS_CPU, VKA_KERNEL_CLASS_GPU};
    for (int i = 0; i < 2; i++)
        if (!contexts[i])
            contexts[i] = test_context(&(vka_context_desc){.kernel_class = classes[i]});
    return contexts[0] && contexts[1];
}

void test_context_done(vka_context *ctx)
{
    if (!ctx)
        return;
    test_check_validation(ctx);
    for (int i = 0; i < 8; i++)
        if (seen_ctx[i] == ctx)
            seen_ctx[i] = NULL, seen_count[i] = 0;
    vka_context_destroy(ctx);
}

static bool selected(const char *name, int argc, char **argv)
{
    if (argc <= 1)
        return true;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

static double seconds_now(void)
{
    struct timespec t;
    timespec_get(&t, TIME_UTC);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

int test_main(int argc, char **argv, const test_case *cases, size_t count)
{
    int passed = 0, failed = 0;
    for (size_t i = 0; i < count; i++) {
        if (!selected(cases[i].name, argc, argv))
            continue;
        test_failures = 0;
        /* Seconds per case: on lavapipe most of a first run is shader compilation. */
        double start = seconds_now();
        cases[i].run();
        double took = seconds_now() - start;
        if (test_failures) {
            failed++;
            printf("FAIL %s (%.1f s)\n", cases[i].name, took);
        } else {
            passed++;
            printf("ok   %s (%.1f s)\n", cases[i].name, took);
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

static bool readable(const char *folder, const char *file)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", folder, file);
    FILE *f = fopen(path, "r");
    if (f)
        fclose(f);
    return f != NULL;
}

const char *test_vectors_dir(bool *full)
{
    static char folder[1024];
    const char *env = getenv("VKATTN_SHARED_DIR");
    snprintf(folder, sizeof folder, "%s/vectors", env ? env : VKATTN_SHARED_DIR);
    bool shared = readable(folder, "index.json");
    if (!shared)
        snprintf(folder, sizeof folder, "%s", VKATTN_BUNDLED_VECTORS);
    if (full)
        *full = shared;
    return folder;
}

int test_command_output(const char *command, char *out, size_t size)
{
    FILE *p = popen(command, "r");
    size_t n = p ? fread(out, 1, size - 1, p) : 0;
    out[n] = '\0';
    return p ? pclose(p) : -1;
}

void test_read_text(const char *path, char *text, size_t size)
{
    FILE *f = fopen(path, "r");
    size_t used = f ? fread(text, 1, size - 1, f) : 0;
    text[used] = '\0';
    if (f)
        fclose(f);
}
