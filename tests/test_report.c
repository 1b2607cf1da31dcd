/* The benchmarkers' tools: `vkattn report` merges result files of several devices into
 * Markdown, HTML and SVG (speeds against the baseline computed from the rows), refuses
 * files that are not comparable and names them; `vkattn roofline` measures the device's
 * ceilings, which `vkattn bench --roofline FILE` holds every row against; the fma_peak
 * probe computes what its closed form says in f32 and f16. The committed sample files
 * (tests/data/report: lavapipe as it is and clamped to android-2021) merge too. */
#define _POSIX_C_SOURCE 200809L /* popen */
#include "harness.h"
#include "../samples/vkattn/provenance.h"
#include "vkattn/io.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

/* The tool's stdout and stderr (and its status) for `vkattn ARGS`. */
static int run_cli(const char *args, char *out, size_t size)
{
    char command[2048];
    snprintf(command, sizeof command, "'%s' %s 2>&1", VKATTN_CLI_PATH, args);
    return test_command_output(command, out, size);
}

typedef struct fake_row {
    const char *scheme;
    unsigned n, heads;
    double ms;
    const char *params;
} fake_row;

/* A result file as `vkattn bench --json` writes it, with the rows' times given. */
static void write_results(const char *path, const char *device, const char *limits, const fake_row *rows, int count)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fprintf(f, "[\n");
    for (int i = 0; i < count; i++)
        fprintf(f,
                "  {\"scheme\":\"%s\",\"kernel\":\"\",\"dtype\":\"f32\",\"batch\":1,\"heads\":%u,\"kv_heads\":%u,"
                "\"nq\":%u,\"nk\":%u,\"d\":64,\"causal\":false,\"params\":%s,\"ran\":true,\"reps\":5,"
                "\"median_gpu_ms\":%g,\"min_gpu_ms\":%g,\"max_gpu_ms\":%g,\"gflops\":1,\"roofline_fraction\":0.25,"
                "\"tool\":{\"version\":\"0.1.0\",\"commit\":\"abc\",\"time_utc\":\"2026-12-07T00:00:00Z\"},"
                "\"device\":{\"name\":\"%s\",\"driver\":\"drv <1>\",\"limits\":\"%s\"},"
                "\"roofline\":{\"f32_gflops\":100,\"bandwidth_gbs\":10}}%s\n",
                rows[i].scheme, rows[i].heads, rows[i].heads, rows[i].n, rows[i].n, rows[i].params, rows[i].ms,
                rows[i].ms, rows[i].ms, device, limits, i + 1 < count ? "," : "");
    fprintf(f, "]\n");
    fclose(f);
}

static char folder[64];

static void in_folder(char *out, size_t size, const char *file)
{
    snprintf(out, size, "%s/%s", folder, file);
}

/* Two devices, known times: every cell and the speeds follow from them. */
static void report_merges_two_devices(void)
{
    static const fake_row a[] = {{"local", 256, 8, 10.0, "{\"window\":128}"},
                                 {"local", 1024, 8, 40.0, "{\"window\":128}"},
                                 {"linear", 256, 8, 3.0, "{}"}};
    static const fake_row b[] = {{"local", 256, 8, 5.0, "{\"window\":128}"},
                                 {"local", 1024, 8, 50.0, "{\"window\":128}"},
                                 {"performer", 256, 8, 1.0, "{}"}};
    char pa[128], pb[128], md[128], html[128], svg[128], args[1024], out[16384], text[16384];
    in_folder(pa, sizeof pa, "a.json"), in_folder(pb, sizeof pb, "b.json");
    in_folder(md, sizeof md, "r.md"), in_folder(html, sizeof html, "r.html"), in_folder(svg, sizeof svg, "r");
    write_results(pa, "GPU A & co", "none", a, 3);
    write_results(pb, "GPU B", "android-2021", b, 3);
    snprintf(args, sizeof args, "report '%s' '%s' --md '%s' --html '%s' --svg '%s'", pa, pb, md, html, svg);
    CHECK_MSG(run_cli(args, out, sizeof out) == 0, "report: %s", out);
    test_read_text(md, text, sizeof text);
    static const char *const md_needles[] = {"## local (f32)",
                                             "| GPU A & co | GPU B [android-2021] |",
                                             "| 256 | no | 10.000 ms, 25% roof | 5.000 ms (2.00x), 25% roof |",
                                             "| 1024 | no | 40.000 ms, 25% roof | 50.000 ms (0.80x), 25% roof |",
                                             "## linear (f32)",
                                             "| 256 | no | 3.000 ms, 25% roof | - |",
                                             "## performer (f32)",
                                             "| 256 | no | - | 1.000 ms, 25% roof |",
                                             "| baseline | GPU A & co |",
                                             NULL};
    CHECK_MSG(test_contains_all(text, md_needles), "markdown:\n%s", text);
    test_read_text(html, text, sizeof text);
    static const char *const html_needles[] = {"<table>",
                                               "<td>GPU A &amp; co</td>",
                                               "drv &lt;1&gt;",
                                               "<td>5.000 ms (2.00x), 25% roof</td>",
                                               "-time.svg",
                                               "</html>",
                                               NULL};
    CHECK_MSG(test_contains_all(text, html_needles), "html:\n%.2000s", text);
    in_folder(svg, sizeof svg, "r-time.svg");
    test_read_text(svg, text, sizeof text);
    static const char *const time_needles[] = {"<svg", "local (f32)", "GPU A &amp; co", "<polyline", "</svg>", NULL};
    CHECK_MSG(test_contains_all(text, time_needles), "time chart:\n%.1500s", text);
    in_folder(svg, sizeof svg, "r-speed.svg");
    test_read_text(svg, text, sizeof text);
    /* at N = 1024, B's speed against A is 40/50 */
    static const char *const speed_needles[] = {"<svg", "local N=1024", "<title>0.8</title>", "</svg>", NULL};
    CHECK_MSG(test_contains_all(text, speed_needles), "speed chart:\n%.1500s", text);
    /* the baseline by name: A's speeds now against B */
    snprintf(args, sizeof args, "report '%s' '%s' '--baseline=GPU B'", pa, pb);
    CHECK(run_cli(args, out, sizeof out) == 0 && strstr(out, "| 256 | no | 10.000 ms (0.50x), 25% roof | 5.000 ms"));
}

/* Files that cannot be merged are refused, each with what is wrong. */
static void report_refuses_what_it_cannot_compare(void)
{
    static const fake_row a[] = {{"local", 256, 8, 10.0, "{\"window\":128}"}};
    static const fake_row other_window[] = {{"local", 256, 8, 5.0, "{\"window\":64}"}};
    static const fake_row other_heads[] = {{"local", 256, 4, 5.0, "{\"window\":128}"}};
    static const fake_row other_case[] = {{"linear", 256, 8, 5.0, "{}"}};
    char pa[128], pb[128], args[1024], out[4096];
    in_folder(pa, sizeof pa, "a.json"), in_folder(pb, sizeof pb, "b.json");
    write_results(pa, "GPU A", "none", a, 1);
    static const struct {
        const fake_row *rows;
        const char *needle;
    } cases[] = {
        {other_window, "window=64"},
        {other_heads, "heads 4:4"},
        {other_case, "share no case"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_results(pb, "GPU B", "none", cases[i].rows, 1);
        snprintf(args, sizeof args, "report '%s' '%s'", pa, pb);
        int status = run_cli(args, out, sizeof out);
        CHECK_MSG(status != 0 && strstr(out, cases[i].needle) && (i == 2 || strstr(out, "not comparable")),
                  "case %zu: status %d, '%s'", i, status, out);
    }
    FILE *f = fopen(pb, "w");
    if (f) {
        fputs("[{\"scheme\":\"local\"}]", f);
        fclose(f);
    }
    snprintf(args, sizeof args, "report '%s' '%s'", pa, pb);
    CHECK(run_cli(args, out, sizeof out) != 0 && strstr(out, "is not a bench row"));
    snprintf(args, sizeof args, "report '%s' --baseline nowhere", pa);
    CHECK(run_cli(args, out, sizeof out) != 0 && strstr(out, "no file's device is 'nowhere'"));
    CHECK(run_cli("report --colour x.json", out, sizeof out) != 0 && strstr(out, "unknown option '--colour'"));
    CHECK(run_cli("report", out, sizeof out) != 0 && strstr(out, "name the result files"));
}

/* The committed sample files: one device as it is and clamped to android-2021. */
static void report_on_the_sample_files(void)
{
    char args[1024], out[65536];
    snprintf(args, sizeof args, "report '%s/lavapipe.json' '%s/lavapipe-android2021.json'", VKATTN_REPORT_SAMPLES,
             VKATTN_REPORT_SAMPLES);
    CHECK_MSG(run_cli(args, out, sizeof out) == 0, "%.2000s", out);
    static const char *const needles[] = {"## softmax flash (f32)", "[android-2021] |", "x), ", "## local (f32)", NULL};
    CHECK_MSG(test_contains_all(out, needles), "%.3000s", out);
}

/* The roofline: positive ceilings, written and read back by bench. */
static void roofline_feeds_bench(void)
{
    char roof[128], rows[128], args[1024], out[8192], text[16384];
    in_folder(roof, sizeof roof, "roof.json"), in_folder(rows, sizeof rows, "rows.json");
    snprintf(args, sizeof args, "roofline --ms 5 --reps 1 --json '%s'", roof);
    CHECK_MSG(run_cli(args, out, sizeof out) == 0, "%s", out);
    test_read_text(roof, text, sizeof text);
    const char *peak = strstr(text, "\"f32_gflops\":"), *bandwidth = strstr(text, "\"bandwidth_gbs\":");
    double gflops = peak ? atof(peak + 13) : 0, gbs = bandwidth ? atof(bandwidth + 16) : 0;
    CHECK_MSG(gflops > 0 && gbs > 0 && strstr(text, "\"vendor_id\":\"0x") && strstr(text, "\"command\":\"vkattn roof"),
              "%s", text);
    snprintf(args, sizeof args,
             "bench --quick --scheme linear --n 64 --heads 1 --d 16 --reps 1 --roofline '%s' --json '%s'", roof, rows);
    CHECK_MSG(run_cli(args, out, sizeof out) == 0, "%s", out);
    test_read_text(rows, text, sizeof text);
    const char *fraction = strstr(text, "\"roofline_fraction\":");
    CHECK_MSG(fraction && atof(fraction + 20) > 0 && strstr(text, roof) && strstr(text, "\"min_gpu_ms\":") &&
                  strstr(text, "\"max_gpu_ms\":") && strstr(text, "\"io_bytes\":"),
              "%.2000s", text);
    snprintf(args, sizeof args,
             "bench --quick --scheme linear --n 64 --heads 1 --d 16 --reps 1 --roofline none "
             "--json '%s' --csv '%s.csv'",
             rows, rows);
    CHECK(run_cli(args, out, sizeof out) == 0);
    test_read_text(rows, text, sizeof text);
    CHECK_MSG(strstr(text, "\"roofline_fraction\":null") && !strstr(text, "\"roofline\":{"), "%.2000s", text);
    char csv[160];
    snprintf(csv, sizeof csv, "%s.csv", rows);
    test_read_text(csv, text, sizeof text);
    static const char *const csv_needles[] = {",min_gpu_ms,max_gpu_ms,", ",vendor_id,device_id,driver_version,",
                                              ",tool_version,commit,time_utc,command\n", "\"vkattn bench --quick",
                                              NULL};
    CHECK_MSG(test_contains_all(text, csv_needles), "%.2000s", text);
    remove(csv);
    CHECK(run_cli("bench --quick --roofline /nonexistent.json", out, sizeof out) != 0 &&
          strstr(out, "/nonexistent.json"));
    CHECK(run_cli("bench --sweep linear --roofline none", out, sizeof out) != 0 &&
          strstr(out, "does nothing in --sweep"));
    CHECK(run_cli("roofline --ms 0", out, sizeof out) != 0 && strstr(out, "--ms"));
    CHECK(run_cli("roofline --ms=0", out, sizeof out) != 0 && strstr(out, "--ms takes a time per run"));
}

/* fma_peak in f32 and f16 arithmetic: x·(1 − 0.4375·2^−n) (f16 within its rounding). */
static void fma_probe_matches_its_closed_form(void)
{
    vka_context *ctx = test_context(NULL);
    if (!ctx)
        return;
    vka_device_info info;
    vka_context_device_info(ctx, &info);
    enum { ROWS = 37, WIDTH = 13 }; /* a padded last axis: the padding stays out of the result */
    float x[ROWS * WIDTH], out[ROWS * WIDTH];
    test_seed(7);
    test_fill_normal(x, ROWS * WIDTH, 1.0f);
    const char *precisions[] = {"f32", "f16"};
    const char *steps[] = {"3", "40"};
    for (int p = 0; p < 2; p++)
        for (int s = 0; s < 2; s++) {
            if (p == 1 && !info.shader_float16) {
                printf("  (no shaderFloat16 on this device: f16 arithmetic not run)\n");
                continue;
            }
            vka_graph *g = NULL;
            vka_plan *plan = NULL;
            vka_tensor t, o;
            CHECK_OK(ctx, vka_graph_create(ctx, &g));
            CHECK_OK(ctx, vka_graph_input(g, &(vka_tensor_desc){.name = "x", .rank = 2, .dims = {ROWS, WIDTH}}, &t));
            CHECK_OK(ctx,
                     vka_graph_op(g,
                                  &(vka_op_desc){.op = "fma_peak",
                                                 .inputs = {{"x", t}},
                                                 .params = {{"iterations", steps[s]}, {"precision", precisions[p]}}},
                                  &o));
            CHECK_OK(ctx, vka_graph_output(g, "out", o));
            CHECK(vka_graph_flops(g) == 2.0 * 4 * 8 * atoi(steps[s]) * ROWS * ((WIDTH + 3) / 4));
            CHECK_OK(ctx, vka_plan_create(g, &(vka_plan_desc){0}, &plan));
            CHECK_OK(ctx, vka_plan_write(plan, "x", x, sizeof x));
            CHECK_OK(ctx, vka_plan_run(plan));
            CHECK_OK(ctx, vka_plan_read(plan, "out", out, sizeof out));
            double factor = 1.0 - 0.4375 * ldexp(1.0, -atoi(steps[s]));
            float expected[ROWS * WIDTH];
            for (int i = 0; i < ROWS * WIDTH; i++)
                expected[i] = (float)(x[i] * factor);
            char what[64];
            snprintf(what, sizeof what, "fma_peak %s, %s steps", precisions[p], steps[s]);
            test_close(what, out, expected, ROWS * WIDTH, p ? 4e-3 : 1e-6, p ? 4e-3 : 1e-5);
            vka_plan_destroy(plan);
            vka_graph_destroy(g);
        }
    test_context_done(ctx);
}

/* Driver versions as each vendor numbers them (vulkaninfo's decoding). */
static void driver_versions_are_decoded_per_vendor(void)
{
    char text[48];
    vka_device_info nvidia = {.vendor_id = 0x10de, .driver_version = 535u << 22 | 104u << 14 | 5u << 6 | 1u};
    provenance_driver_version(&nvidia, text, sizeof text);
    CHECK_MSG(strcmp(text, "535.104.5.1") == 0, "NVIDIA: %s", text);
    vka_device_info mesa = {.vendor_id = 0x1002, .driver_version = 23u << 22 | 1u << 12 | 7u};
    provenance_driver_version(&mesa, text, sizeof text);
    CHECK_MSG(strcmp(text, "23.1.7") == 0, "AMD (Mesa): %s", text);
}

/* The tool refuses what a run would ignore, describes itself as data, and every result it
 * prints says what ran and where. */
static void cli_is_strict_and_self_describing(void)
{
    char out[65536];
    static const struct {
        const char *args, *needle;
    } refused[] = {
        {"bench --quality --json q.json", "--json does nothing in --quality"},
        {"bench --seeds 2", "--seeds does nothing in the default sweep"},
        {"bench --sweep linear --kernel flash", "--kernel does nothing in --sweep"},
        {"bench --decode --no-check", "--no-check does nothing in --decode"},
        {"bench --heads", "--heads wants a value"},
        {"bench --heads=8x", "--heads takes a whole number in 1..4096, not '8x'"},
        {"bench --quick=1", "--quick takes no value"},
        {"bench --frobnicate 1", "unknown option '--frobnicate'"},
        {"info local --yaml", "usage: vkattn info"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        int status = run_cli(refused[i].args, out, sizeof out);
        CHECK_MSG(status != 0 && strstr(out, refused[i].needle), "%s: status %d, '%s'", refused[i].args, status, out);
    }
    /* a causal-only scheme named with --scheme runs causal without being told */
    CHECK_MSG(run_cli("bench --quick --scheme deltanet --n 32 --heads 1 --d 8 --reps 1 --roofline none", out,
                      sizeof out) == 0 &&
                  strstr(out, "deltanet") && strstr(out, " yes ") && !strstr(out, "failed"),
              "%.2000s", out);
    CHECK(run_cli("info --json", out, sizeof out) == 0);
    static const char *const device_needles[] = {"\"candidates\":[",
                                                 "\"device\":{\"name\":",
                                                 "\"driver_version\":",
                                                 "\"maxStorageBufferRange\":",
                                                 "\"operations\":[",
                                                 "\"fma_peak\"",
                                                 NULL};
    CHECK_MSG(test_contains_all(out, device_needles), "%.2000s", out);
    CHECK(run_cli("info local --json", out, sizeof out) == 0);
    static const char *const op_needles[] = {"{\"name\":\"local\"", "\"role\":\"q\"", "\"key\":\"window\"",
                                             "\"type\":\"int\"", NULL};
    CHECK_MSG(test_contains_all(out, op_needles), "%.2000s", out);
    /* a run's statistics: the parameters as resolved, the tool, the device */
    char x[128], args[512];
    in_folder(x, sizeof x, "x.npy");
    float data[4 * 8];
    for (int i = 0; i < 32; i++)
        data[i] = (float)i / 8.0f;
    CHECK_OK(NULL, vka_npy_save(NULL, x, VKA_DTYPE_F32, 2, (uint32_t[]){4, 8}, data));
    snprintf(args, sizeof args, "run fma_peak x='%s' iterations=5 stats=1", x);
    CHECK(run_cli(args, out, sizeof out) == 0);
    static const char *const run_needles[] = {"\"params\":{\"iterations\":5,\"precision\":\"f32\"}",
                                              "\"out_dtype\":\"f32\"",
                                              "\"tool\":{",
                                              "\"command\":\"vkattn run fma_peak",
                                              "\"vendor_id\":",
                                              NULL};
    CHECK_MSG(test_contains_all(out, run_needles), "%.2000s", out);
    remove(x);
}

static void clean(void)
{
    static const char *const files[] = {"a.json",     "b.json",      "r.md",      "r.html",
                                        "r-time.svg", "r-speed.svg", "roof.json", "rows.json"};
    char path[128];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        in_folder(path, sizeof path, files[i]);
        remove(path);
    }
    rmdir(folder);
}

int main(int argc, char **argv)
{
    snprintf(folder, sizeof folder, "/tmp/vkattn_report_%ld", (long)getpid());
    mkdir(folder, 0700);
    static const test_case cases[] = {
        {"report_merges_two_devices", report_merges_two_devices},
        {"report_refuses_what_it_cannot_compare", report_refuses_what_it_cannot_compare},
        {"report_on_the_sample_files", report_on_the_sample_files},
        {"roofline_feeds_bench", roofline_feeds_bench},
        {"fma_probe_matches_its_closed_form", fma_probe_matches_its_closed_form},
        {"driver_versions_are_decoded_per_vendor", driver_versions_are_decoded_per_vendor},
        {"cli_is_strict_and_self_describing", cli_is_strict_and_self_describing},
        {"clean", clean},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof *cases);
}
