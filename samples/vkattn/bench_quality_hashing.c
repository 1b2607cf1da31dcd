/* vkattn bench --quality --scheme reformer|clustered: the error of the hashing and
 * clustering schemes (SCHEMES.md §9) against exact attention beside their time, over a
 * grid of their parameters — rounds × buckets (chunks of 64) for the Reformer, topk ×
 * clusters for clustered attention — on two kinds of input: random (q, k ~ N(0, σ²)) and
 * clustered (q and k drawn around N/32 centres per head — 32 tokens each, half a chunk —
 * where these schemes are meant to shine). N = 4096, D = 64, H = 8 by default (--n, --d,
 * --heads). On random inputs exact attention averages nearly every value, which a scheme
 * that sees a few hundred keys cannot: its error there is mostly the keys it never sees.
 *
 * Exact attention is computed on the device: for clustered attention softmax (flash) on
 * the same q, k, v; for the Reformer, whose keys are its unit queries and whose queries do
 * not see themselves, the same operation with one chunk holding every token (rounds 1),
 * which is that full attention by definition (test_hashing checks it against a direct
 * computation). σ = 4 for the Reformer (its logits are |q|·cos θ/√D: with D = 64 of
 * spread 0.5 on random inputs, ≈ 8 within a centre) and D^(−1/4) for clustered attention
 * (logits q·k/√D of spread 1; ≈ 4 within a centre). The error of a point is the mean over
 * all query rows of ‖o − o*‖₂ / ‖o*‖₂; its time the median GPU time of --reps runs. */
#include "bench.h"
#include "svg_plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GRID 4
#define INPUT_KINDS 2
#define TOKENS_PER_CENTRE 32 /* half a default chunk */

typedef struct grid {
    const char *scheme;
    const char *row_key, *col_key; /* the series, and the points along each */
    uint32_t rows[GRID], cols[GRID];
    vka_op_param fixed; /* held at one value */
    float sigma;        /* of q and k; 0: D^(−1/4) */
} grid;

static const grid grids[] = {
    {"reformer", "rounds", "buckets", {1, 2, 4, 8}, {16, 64, 256, 1024}, {"chunk", "64"}, 4.0f},
    {"clustered", "topk", "clusters", {0, 8, 32, 128}, {25, 50, 100, 200}, {"iters", "10"}, 0.0f},
};
static const char *const input_names[INPUT_KINDS] = {"random", "clustered"};

typedef struct tradeoff {
    const grid *g;
    bench_case base[INPUT_KINDS];
    float *exact[INPUT_KINDS];
    double exact_ms[INPUT_KINDS];
    double error[INPUT_KINDS][GRID][GRID], ms[INPUT_KINDS][GRID][GRID];
} tradeoff;

static double mean_relative_error(const bench_case *c, const float *exact, const float *out)
{
    size_t rows = (size_t)c->batch * c->heads * c->nq;
    double sum = 0;
    for (size_t r = 0; r < rows; r++) {
        double diff = 0, norm = 0;
        for (uint32_t i = 0; i < c->d; i++) {
            double e = exact[r * c->d + i], a = out[r * c->d + i];
            diff += (a - e) * (a - e);
            norm += e * e;
        }
        sum += sqrt(diff) / (sqrt(norm) + 1e-300);
    }
    return sum / rows;
}

/* Runs a case; its median time and (into *out, caller frees) its output. */
static int run(vka_context *ctx, const bench_options *o, bench_case c, double *ms, float **out)
{
    bench_options once = *o;
    once.no_check = true, once.seconds = 0;
    bench_row row = {.c = c, .max_abs_error = NAN};
    if (bench_measure(ctx, &once, false, &row, out) != VKA_SUCCESS)
        return cli_fail("%s: %s", c.scheme, row.note);
    *ms = row.median_gpu_ms;
    return 0;
}

static int measure_exact(vka_context *ctx, const bench_options *o, tradeoff *w, int kind)
{
    bench_case c = w->base[kind];
    char all[16];
    snprintf(all, sizeof all, "%u", c.nq);
    if (strcmp(w->g->scheme, "reformer") == 0) { /* one chunk of every token: full shared-QK attention */
        c.extra[0] = (vka_op_param){"chunk", all};
        c.extra[1] = (vka_op_param){"rounds", "1"};
        c.extra[2] = (vka_op_param){"buckets", "2"};
    } else {
        c.scheme = "softmax";
        c.kernel = "flash";
    }
    fprintf(stderr, "exact (%s inputs) ...\n", input_names[kind]);
    return run(ctx, o, c, &w->exact_ms[kind], &w->exact[kind]);
}

static int measure_point(vka_context *ctx, const bench_options *o, tradeoff *w, int kind, int row, int col)
{
    char row_text[16], col_text[16];
    snprintf(row_text, sizeof row_text, "%u", w->g->rows[row]);
    snprintf(col_text, sizeof col_text, "%u", w->g->cols[col]);
    bench_case c = w->base[kind];
    c.extra[0] = (vka_op_param){w->g->row_key, row_text};
    c.extra[1] = (vka_op_param){w->g->col_key, col_text};
    c.extra[2] = w->g->fixed;
    fprintf(stderr, "%s %s=%s %s=%s (%s inputs) ...\n", w->g->scheme, w->g->row_key, row_text, w->g->col_key, col_text,
            input_names[kind]);
    float *out = NULL;
    int status = run(ctx, o, c, &w->ms[kind][row][col], &out);
    if (!status)
        w->error[kind][row][col] = mean_relative_error(&c, w->exact[kind], out);
    free(out);
    return status;
}

static void print_table(const tradeoff *w)
{
    const bench_case *c = &w->base[0];
    printf("%s vs exact attention: mean relative error of the output rows / median GPU ms\n", w->g->scheme);
    printf("B=%u H=%u N=%u D=%u, %s=%s\n", c->batch, c->heads, c->nq, c->d, w->g->fixed.key, w->g->fixed.value);
    for (int kind = 0; kind < INPUT_KINDS; kind++) {
        printf("\n%s inputs (exact: %.1f ms)\n%8s", input_names[kind], w->exact_ms[kind], w->g->row_key);
        for (int col = 0; col < GRID; col++) {
            char head[32];
            snprintf(head, sizeof head, "%s=%u", w->g->col_key, w->g->cols[col]);
            printf(" %22s", head);
        }
        printf("\n");
        for (int row = 0; row < GRID; row++) {
            printf("%8u", w->g->rows[row]);
            for (int col = 0; col < GRID; col++)
                printf("   %.4f / %9.1f ms", w->error[kind][row][col], w->ms[kind][row][col]);
            printf("\n");
        }
    }
}

static int write_csv(const tradeoff *w, const bench_options *o)
{
    FILE *f = fopen(o->csv_path, "w");
    if (!f)
        return cli_fail("cannot write %s", o->csv_path);
    fprintf(f, "scheme,inputs,%s,%s,mean_relative_error,gpu_ms,exact_gpu_ms,n,d,heads," PROVENANCE_CSV_HEADER "\n",
            w->g->row_key, w->g->col_key);
    for (int kind = 0; kind < INPUT_KINDS; kind++)
        for (int row = 0; row < GRID; row++)
            for (int col = 0; col < GRID; col++) {
                fprintf(f, "%s,%s,%u,%u,%.6e,%.4f,%.4f,%u,%u,%u,", w->g->scheme, input_names[kind], w->g->rows[row],
                        w->g->cols[col], w->error[kind][row][col], w->ms[kind][row][col], w->exact_ms[kind],
                        w->base[0].nq, w->base[0].d, w->base[0].heads);
                provenance_write_csv(f, o->device);
                fputc('\n', f);
            }
    return fclose(f) == 0 ? 0 : cli_fail("cannot write %s", o->csv_path);
}

/* Error against time: a panel per input kind, a series per row value along the columns. */
static int plot(const tradeoff *w, const bench_options *o)
{
    svg_series series[INPUT_KINDS][GRID];
    svg_panel panels[INPUT_KINDS];
    char labels[GRID][48], titles[INPUT_KINDS][64], x_label[64];
    snprintf(x_label, sizeof x_label, "GPU ms (along: %s)", w->g->col_key);
    for (int row = 0; row < GRID; row++)
        snprintf(labels[row], sizeof labels[row], "%s = %u", w->g->row_key, w->g->rows[row]);
    for (int kind = 0; kind < INPUT_KINDS; kind++) {
        for (int row = 0; row < GRID; row++)
            series[kind][row] = (svg_series){labels[row], w->ms[kind][row], w->error[kind][row], GRID, false};
        snprintf(titles[kind], sizeof titles[kind], "%s inputs (exact %.0f ms)", input_names[kind], w->exact_ms[kind]);
        panels[kind] = (svg_panel){.title = titles[kind],
                                   .x_label = x_label,
                                   .y_label = "mean relative error",
                                   .series = series[kind],
                                   .series_count = GRID,
                                   .legend_below = true};
    }
    char title[160];
    snprintf(title, sizeof title, "%s vs exact attention, N=%u D=%u H=%u", w->g->scheme, w->base[0].nq, w->base[0].d,
             w->base[0].heads);
    if (!svg_write_loglog(o->plot_path, title, panels, INPUT_KINDS))
        return cli_fail("cannot write %s", o->plot_path);
    fprintf(stderr, "wrote %s\n", o->plot_path);
    return 0;
}

int bench_quality_hashing(vka_context *ctx, const bench_options *o, const vka_device_info *info)
{
    tradeoff *w = calloc(1, sizeof *w);
    if (!w)
        return cli_fail("out of host memory");
    for (size_t i = 0; i < sizeof grids / sizeof *grids; i++)
        if (strcmp(grids[i].scheme, o->only_scheme) == 0)
            w->g = &grids[i];
    uint32_t n = o->size_count ? o->sizes[0] : 4096;
    for (int kind = 0; kind < INPUT_KINDS; kind++)
        w->base[kind] =
            (bench_case){.scheme = w->g->scheme,
                         .batch = o->batch,
                         .heads = o->heads,
                         .nq = n,
                         .nk = n,
                         .d = o->head_dim,
                         .input_sigma = w->g->sigma > 0 ? w->g->sigma : (float)pow(o->head_dim, -0.25),
                         .input_centres = kind ? (n >= 2 * TOKENS_PER_CENTRE ? n / TOKENS_PER_CENTRE : 2) : 0,
                         .input_seed = 20261207};
    int status = 0;
    for (int kind = 0; kind < INPUT_KINDS && !status; kind++) {
        status = measure_exact(ctx, o, w, kind);
        for (int row = 0; row < GRID && !status; row++)
            for (int col = 0; col < GRID && !status; col++)
                status = measure_point(ctx, o, w, kind, row, col);
    }
    if (!status) {
        print_table(w);
        printf("device: %s\n", info->summary);
    }
    if (!status && o->csv_path)
        status = write_csv(w, o);
    if (!status && o->plot_path)
        status = plot(w, o);
    for (int kind = 0; kind < INPUT_KINDS; kind++)
        free(w->exact[kind]);
    free(w);
    return status;
}
