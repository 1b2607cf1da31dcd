/* Every reference case (the full set under ../shared/vectors, or the subset bundled in
 * tests/vectors: test_vectors_dir) whose scheme this build implements, run
 * through `vkattn run` exactly as its case.json says (inside the case folder, validation
 * on), compared elementwise with |out − expected| ≤ atol + rtol·|expected|, all finite.
 * The cases come from an independent float64 implementation. Then every case again with
 * its inputs converted to f16 as they are read and an f16 result (in_dtype=f16
 * out_dtype=f16), against SCHEMES.md's f16 reference (the double reference on the f16
 * inputs, rounded to f16: `vkattn run … reference=1`) with its f16 gate. */
#include "harness.h"
#include "vkattn/io.h"
#include "json_mini.h"

#include <unistd.h>

#define MAX_CASES 512
#define MAX_ARGS 32

static void free_strings(char **items, int n)
{
    for (int i = 0; i < n; i++)
        free(items[i]);
}

static bool in_f16; /* the f16 pass */

/* Runs the CLI in the case folder with the case's arguments and `extra`, output
 * redirected to out. */
static int run_cli(const char *folder, char **args, int n, const char *out_path, const char *extra)
{
    char command[4096];
    int used = snprintf(command, sizeof command, "cd '%s' && VKATTN_VALIDATION=1 '%s'", folder, VKATTN_CLI_PATH);
    used += snprintf(command + used, sizeof command - (size_t)used, " run");
    for (int i = 0; i < n && used < (int)sizeof command; i++) {
        if (strncmp(args[i], "out=", 4) == 0)
            used += snprintf(command + used, sizeof command - (size_t)used, " 'out=%s'", out_path);
        else
            used += snprintf(command + used, sizeof command - (size_t)used, " '%s'", args[i]);
    }
    if (used < (int)sizeof command)
        snprintf(command + used, sizeof command - (size_t)used, " %s", extra);
    return system(command);
}

static void compare(const char *name, const char *out_path, const char *expected_path, double atol, double rtol)
{
    vka_npy out = {0}, expected = {0};
    vka_result r1 = vka_npy_load(NULL, out_path, &out);
    CHECK_MSG(r1 == VKA_SUCCESS, "%s: cannot read the output: %s", name, vka_last_error(NULL));
    vka_result r2 = vka_npy_load(NULL, expected_path, &expected);
    CHECK_MSG(r2 == VKA_SUCCESS, "%s: cannot read expected.npy: %s", name, vka_last_error(NULL));
    if (r1 == VKA_SUCCESS && r2 == VKA_SUCCESS) {
        bool same_shape = out.rank == expected.rank && memcmp(out.dims, expected.dims, sizeof out.dims) == 0;
        CHECK_MSG(same_shape, "%s: output shape differs from expected.npy", name);
        vka_dtype want = in_f16 ? VKA_DTYPE_F16 : VKA_DTYPE_F32;
        CHECK_MSG(out.dtype == want && expected.dtype == want, "%s: the output's type", name);
        size_t n = out.bytes / (in_f16 ? 2 : 4);
        float *got = malloc(n * sizeof *got), *ref = malloc(n * sizeof *ref);
        if (same_shape && got && ref && in_f16) {
            vka_f32_from_f16(out.data, got, n);
            vka_f32_from_f16(expected.data, ref, n);
            test_f16_gate(name, got, ref, n);
        } else if (same_shape && got) {
            test_close(name, out.data, expected.data, n, atol, rtol);
        }
        free(got);
        free(ref);
    }
    vka_npy_free(&out);
    vka_npy_free(&expected);
}

/* False if the case's scheme is not implemented in this build. */
static bool run_case(const char *id, int *skipped)
{
    char folder[1024], path[1200];
    snprintf(folder, sizeof folder, "%s/%s", test_vectors_dir(NULL), id);
    snprintf(path, sizeof path, "%s/case.json", folder);
    char *json = json_read_file(path);
    CHECK_MSG(json != NULL, "%s: cannot read %s", id, path);
    if (!json)
        return false;
    char scheme[64] = "", *args[MAX_ARGS];
    double atol = 0, rtol = 0;
    int n = json_get_string_array(json, "args", args, MAX_ARGS);
    bool parsed = json_get_string(json, "scheme", scheme, sizeof scheme) && json_get_number(json, "atol", &atol) &&
                  json_get_number(json, "rtol", &rtol) && n > 0;
    CHECK_MSG(parsed, "%s: case.json lacks scheme, args, atol or rtol", id);
    vka_op_info info;
    bool implemented = parsed && vka_op_info_named(scheme, &info) == VKA_SUCCESS;
    if (parsed && !implemented) {
        (*skipped)++;
    } else if (parsed) {
        char out_path[256];
        snprintf(out_path, sizeof out_path, "/tmp/vkattn_vectors_%d_out.npy", (int)getpid());
        remove(out_path);
        const char *f16 = "in_dtype=f16 out_dtype=f16";
        int status = run_cli(folder, args, n, out_path, in_f16 ? f16 : "");
        CHECK_MSG(status == 0, "%s: vkattn run exited with status %d", id, status);
        snprintf(path, sizeof path, "%s/expected.npy", folder);
        if (in_f16) { /* the oracle: the reference on the same f16 inputs */
            snprintf(path, sizeof path, "/tmp/vkattn_vectors_%d_ref.npy", (int)getpid());
            char extra[64];
            snprintf(extra, sizeof extra, "%s reference=1", f16);
            int ref_status = run_cli(folder, args, n, path, extra);
            CHECK_MSG(ref_status == 0, "%s: vkattn run reference=1 exited with status %d", id, ref_status);
            status |= ref_status;
        }
        if (status == 0)
            compare(id, out_path, path, atol, rtol);
        remove(out_path);
        if (in_f16)
            remove(path);
    }
    free_strings(args, n > 0 ? n : 0);
    free(json);
    return implemented || !parsed;
}

/* The cases whose id starts with prefix (and not with `except`). Required: they must
 * exist and be implemented. */
static void run_scheme(const char *prefix, const char *except, bool required)
{
    char path[1024];
    bool full;
    const char *folder = test_vectors_dir(&full);
    snprintf(path, sizeof path, "%s/index.json", folder);
    char *index = json_read_file(path);
    CHECK_MSG(index != NULL, "cannot read %s", path);
    if (!index)
        return;
    char *ids[MAX_CASES];
    int n = json_string_array(index, ids, MAX_CASES), ran = 0, skipped = 0;
    for (int i = 0; i < n; i++) {
        if (strncmp(ids[i], prefix, strlen(prefix)) != 0 || (except && strncmp(ids[i], except, strlen(except)) == 0))
            continue;
        int before = test_failures;
        bool implemented = run_case(ids[i], &skipped);
        ran++;
        printf("  %-50s %s\n", ids[i],
               !implemented              ? "not implemented yet"
               : test_failures == before ? "ok"
                                         : "FAILED");
    }
    if (skipped)
        printf("  (%d case(s) of schemes this build does not implement yet)\n", skipped);
    printf("  %d case(s) of the %s (%s)\n", ran, full ? "full reference set" : "bundled subset", folder);
    CHECK_MSG(!required || (ran > 0 && skipped == 0), "no runnable cases for '%s'", prefix);
    free_strings(ids, n);
    free(index);
}

static void softmax_vectors(void)
{
    run_scheme("softmax/", NULL, true);
}
static void other_implemented_vectors(void)
{
    run_scheme("", "softmax/", false);
}
static void every_vector_in_f16(void)
{
    in_f16 = true;
    run_scheme("", NULL, false);
    in_f16 = false;
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"softmax_vectors", softmax_vectors},
        {"other_implemented_vectors", other_implemented_vectors},
        {"every_vector_in_f16", every_vector_in_f16},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof *cases);
}
