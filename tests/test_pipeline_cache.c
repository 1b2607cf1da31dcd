/* The pipeline cache on disk (vka_context_desc.pipeline_cache_dir): a context writes the
 * driver's cache data behind vkattn's header when destroyed; the next context of the same
 * device, driver and build reads it back; a damaged, truncated, foreign or alien file is
 * ignored with a status that says why (and replaced by a good one), never handed to the
 * driver; a folder that cannot be written is named. Validation layer on. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include "harness.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[256];

static bool make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/vkattn_pipeline_cache_XXXXXX");
    return mkdtemp(dir) != NULL;
}

/* A context on the folder that plans (and so compiles) one small softmax; *info as the
 * context saw the file when it started. */
static bool one_context(const char *folder, vka_pipeline_cache_info *info)
{
    vka_context *ctx = test_context(&(vka_context_desc){.pipeline_cache_dir = folder});
    if (!ctx)
        return false;
    CHECK_OK(ctx, vka_context_pipeline_cache_info(ctx, info));
    vka_graph *g = NULL;
    vka_plan *plan = NULL;
    vka_tensor q, o;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    CHECK_OK(ctx, vka_graph_input(g, &(vka_tensor_desc){"q", .rank = 4, .dims = {1, 1, 8, 8}}, &q));
    CHECK_OK(ctx, vka_graph_op(g, &(vka_op_desc){.op = "softmax", .inputs = {{"q", q}, {"k", q}, {"v", q}}}, &o));
    CHECK_OK(ctx, vka_graph_output(g, "o", o));
    CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    test_context_done(ctx);
    return true;
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

/* Flips the byte at `at` (negative: from the end), or cuts the file to `keep` bytes. */
static void damage(const char *path, long at, long keep)
{
    FILE *f = fopen(path, "rb");
    long n = file_size(path);
    unsigned char *bytes = f && n > 0 ? malloc((size_t)n) : NULL;
    bool ok = bytes && fread(bytes, 1, (size_t)n, f) == (size_t)n;
    if (f)
        fclose(f);
    if (ok && keep < 0)
        bytes[at < 0 ? n + at : at] ^= 0x5A;
    f = ok ? fopen(path, "wb") : NULL;
    if (f) {
        fwrite(bytes, 1, (size_t)(keep >= 0 ? keep : n), f);
        fclose(f);
    }
    free(bytes);
    CHECK(ok);
}

static void written_then_read_back(void)
{
    vka_pipeline_cache_info first, second;
    if (!make_dir() || !one_context(dir, &first))
        return;
    CHECK_MSG(strstr(first.path, dir) && strstr(first.path, ".pipelines") && strstr(first.status, "no file yet") &&
                  first.loaded_bytes == 0,
              "first: %s (%s)", first.path, first.status);
    CHECK_MSG(file_size(first.path) > 64, "the file %s was not written (%ld bytes)", first.path, file_size(first.path));
    one_context(dir, &second);
    CHECK_MSG(strstr(second.status, "loaded") && second.loaded_bytes == (uint64_t)file_size(first.path) - 64,
              "second: %s, %llu bytes", second.status, (unsigned long long)second.loaded_bytes);
    remove(first.path);
    rmdir(dir);
}

/* Each damage is refused by name, the context still works, and it leaves a good file. */
static void damaged_files_are_ignored(void)
{
    const struct {
        const char *what;
        long at, keep; /* keep >= 0: truncate */
        const char *why;
    } cases[] = {
        {"data byte", -1, -1, "checksum"},          {"magic", 0, -1, "not a vkattn pipeline cache"},
        {"build", 9, -1, "another build"},          {"device", 33, -1, "another device"},
        {"driver", 25, -1, "another driver"},       {"size", 55, -1, "not plausible"},
        {"truncated data", 0, 70, "truncated"},     {"truncated header", 0, 20, "shorter than its header"},
        {"empty", 0, 0, "shorter than its header"},
    };
    vka_pipeline_cache_info info;
    if (!make_dir() || !one_context(dir, &info))
        return;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        damage(info.path, cases[i].at, cases[i].keep);
        vka_pipeline_cache_info seen;
        one_context(dir, &seen);
        CHECK_MSG(strstr(seen.status, "ignored") && strstr(seen.status, cases[i].why) && seen.loaded_bytes == 0,
                  "%s: %s", cases[i].what, seen.status);
        vka_pipeline_cache_info again;
        one_context(dir, &again); /* the damaged file was replaced by a good one */
        CHECK_MSG(strstr(again.status, "loaded"), "%s, then: %s", cases[i].what, again.status);
    }
    FILE *f = fopen(info.path, "ab"); /* a byte too many */
    if (f) {
        fputc(0, f);
        fclose(f);
    }
    vka_pipeline_cache_info longer;
    one_context(dir, &longer);
    CHECK_MSG(strstr(longer.status, "longer than its header says"), "%s", longer.status);
    remove(info.path);
    rmdir(dir);
}

static void unwritable_folder_is_named(void)
{
    vka_context *ctx = test_context(&(vka_context_desc){.pipeline_cache_dir = "/nonexistent/vkattn"});
    if (!ctx)
        return;
    vka_result r = vka_context_save_pipeline_cache(ctx);
    CHECK_MSG(r == VKA_ERROR_IO && strstr(vka_last_error(ctx), "/nonexistent/vkattn/vkattn-"), "%s: %s",
              vka_result_string(r), vka_last_error(ctx));
    test_context_done(ctx);
    vka_context *none = test_context(&(vka_context_desc){.ignore_environment = true});
    vka_pipeline_cache_info info;
    CHECK(none && vka_context_pipeline_cache_info(none, &info) == VKA_SUCCESS && info.path[0] == '\0');
    CHECK(none && vka_context_save_pipeline_cache(none) == VKA_ERROR_INVALID_ARGUMENT &&
          strstr(vka_last_error(none), "pipeline_cache_dir"));
    test_context_done(none);
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"written_then_read_back", written_then_read_back},
        {"damaged_files_are_ignored", damaged_files_are_ignored},
        {"unwritable_folder_is_named", unwritable_folder_is_named},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof *cases);
}
