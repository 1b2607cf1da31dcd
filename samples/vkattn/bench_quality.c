/* vkattn bench --quality: how close Performer's FAVOR+ output comes to exact softmax
 * attention as the number of random features m grows, for each feature kind, with
 * orthogonal and with iid projections. N = 1024, D = 64, H = 8 by default (--n, --d,
 * --heads), q and k drawn from N(0, σ² = 1/√D), v from N(0, 1). The error of a point is
 * the mean over all query rows of ‖o − o*‖₂ / ‖o*‖₂, where o* is the double-precision
 * reference of softmax (engine/ref), averaged over --seeds projections (4). */
#include "bench.h"
#include "svg_plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KINDS 3
#define MS 7

static const char *const kinds[KINDS] = {"positive", "hyperbolic", "trig"};
static const uint32_t feature_counts[MS] = {16, 32, 64, 128, 256, 512, 1024};

typedef struct quality {
    bench_case base; /* the shape and inputs every point shares */
    float *q, *k, *v;
    double *exact;                               /* softmax, double precision */
    double mean[KINDS][2][MS], sd[KINDS][2][MS]; /* [kind][orthogonal][m] */
} quality;

static size_t out_count(const bench_case *c)
{
    return (size_t)c->batch * c->heads * c->nq * c->d;
}

/* The exact output: softmax through the engine's double-precision reference. */
static vka_result exact_softmax(vka_context *ctx, quality *w)
{
    bench_case c = w->base;
    c.scheme = "softmax";
    size_t bytes = out_count(&c) * sizeof(float);
    float *out = malloc(bytes);
    vka_graph *g = NULL;
    vka_result r = out ? bench_graph(ctx, &c, c.nq, NULL, &g) : VKA_ERROR_OUT_OF_HOST_MEMORY;
    if (r == VKA_SUCCESS) {
        vka_host_tensor in[] = {{"q", w->q, bytes}, {"k", w->k, bytes}, {"v", w->v, bytes}};
        vka_host_tensor o[] = {{"out", out, bytes}};
        r = vka_graph_reference(g, in, 3, o, 1);
    }
    if (r == VKA_SUCCESS && !(w->exact = malloc(out_count(&c) * sizeof(double))))
        r = VKA_ERROR_OUT_OF_HOST_MEMORY;
    for (size_t i = 0; r == VKA_SUCCESS && i < out_count(&c); i++)
        w->exact[i] = out[i];
    vka_graph_destroy(g);
    free(out);
    return r;
}

static double mean_relative_error(const quality *w, const float *out)
{
    const bench_case *c = &w->base;
    size_t rows = (size_t)c->batch * c->heads * c->nq;
    double sum = 0;
    for (size_t r = 0; r < rows; r++) {
        double diff = 0, norm = 0;
        for (uint32_t i = 0; i < c->d; i++) {
            double e = w->exact[r * c->d + i], a = out[r * c->d + i];
            diff += (a - e) * (a - e);
            norm += e * e;
        }
        sum += sqrt(diff) / (sqrt(norm) + 1e-300);
    }
    return sum / rows;
}

/* One point: Performer with this kind, projection type and m, over o->seeds projections. */
static int measure_point(vka_context *ctx, const bench_options *o, quality *w, int kind, int orthogonal, int mi)
{
    bench_options once = *o;
    once.no_check = true, once.min_reps = 1, once.max_reps = 1, once.seconds = 0;
    char m_text[16], seed_text[16];
    snprintf(m_text, sizeof m_text, "%u", feature_counts[mi]);
    double sum = 0, sum_sq = 0;
    for (uint32_t s = 0; s < o->seeds; s++) {
        snprintf(seed_text, sizeof seed_text, "%u", 1000 + s);
        bench_row row = {.c = w->base, .max_abs_error = NAN};
        row.c.scheme = "performer";
        row.c.kernel = kinds[kind];
        row.c.extra[0] = (vka_op_param){"features", m_text};
        row.c.extra[1] = (vka_op_param){"seed", seed_text};
        row.c.extra[2] = (vka_op_param){"orthogonal", orthogonal ? "1" : "0"};
        float *out = NULL;
        if (bench_measure(ctx, &once, false, &row, &out) != VKA_SUCCESS)
            return cli_fail("performer %s m=%u: %s", kinds[kind], feature_counts[mi], row.note);
        double e = mean_relative_error(w, out);
        free(out);
        sum += e, sum_sq += e * e;
    }
    double mean = sum / o->seeds;
    w->mean[kind][orthogonal][mi] = mean;
    w->sd[kind][orthogonal][mi] = o->seeds > 1 ? sqrt(fmax(0, (sum_sq - o->seeds * mean * mean) / (o->seeds - 1))) : 0;
    return 0;
}

static void print_table(const quality *w, const bench_options *o)
{
    printf("Performer vs exact softmax: mean relative error of the output rows (mean ± sd over %u projections)\n",
           o->seeds);
    printf("B=%u H=%u N=%u D=%u, q,k ~ N(0, 1/sqrt(D)), v ~ N(0, 1)\n", w->base.batch, w->base.heads, w->base.nq,
           w->base.d);
    printf("%6s", "m");
    for (int k = 0; k < KINDS; k++)
        for (int orth = 1; orth >= 0; orth--) {
            char head[40];
            snprintf(head, sizeof head, "%s %s", kinds[k], orth ? "orth" : "iid");
            printf(" %21s", head);
        }
    printf("\n");
    for (int mi = 0; mi < MS; mi++) {
        printf("%6u", feature_counts[mi]);
        for (int k = 0; k < KINDS; k++)
            for (int orth = 1; orth >= 0; orth--)
                printf("      %.4f ± %.4f", w->mean[k][orth][mi], w->sd[k][orth][mi]);
        printf("\n");
    }
}

static int write_csv(const quality *w, const bench_options *o)
{
    FILE *f = fopen(o->csv_path, "w");
    if (!f)
        return cli_fail("cannot write %s", o->csv_path);
    fprintf(f, "kind,orthogonal,features,mean_relative_error,sd,seeds,n,d,heads," PROVENANCE_CSV_HEADER "\n");
    for (int k = 0; k < KINDS; k++)
        for (int orth = 1; orth >= 0; orth--)
            for (int mi = 0; mi < MS; mi++) {
                fprintf(f, "%s,%d,%u,%.6e,%.6e,%u,%u,%u,%u,", kinds[k], orth, feature_counts[mi], w->mean[k][orth][mi],
                        w->sd[k][orth][mi], o->seeds, w->base.nq, w->base.d, w->base.heads);
                provenance_write_csv(f, o->device);
                fputc('\n', f);
            }
    return fclose(f) == 0 ? 0 : cli_fail("cannot write %s", o->csv_path);
}

static int plot(const quality *w, const bench_options *o)
{
    static double m[MS];
    svg_series series[KINDS * 2];
    char labels[KINDS * 2][40];
    for (int mi = 0; mi < MS; mi++)
        m[mi] = feature_counts[mi];
    for (int k = 0; k < KINDS; k++)
        for (int orth = 1; orth >= 0; orth--) {
            int i = 2 * k + (1 - orth);
            snprintf(labels[i], sizeof labels[i], "%s, %s", kinds[k], orth ? "orthogonal" : "iid");
            series[i] = (svg_series){labels[i], m, w->mean[k][orth], MS, !orth};
        }
    svg_panel panel = {.title = "Performer vs exact softmax",
                       .x_label = "m (random features)",
                       .y_label = "mean relative error",
                       .series = series,
                       .series_count = KINDS * 2,
                       .x_powers_of_two = true,
                       .legend_below = true};
    char title[160];
    snprintf(title, sizeof title, "N=%u D=%u H=%u, %u projections per point", w->base.nq, w->base.d, w->base.heads,
             o->seeds);
    if (!svg_write_loglog(o->plot_path, title, &panel, 1))
        return cli_fail("cannot write %s", o->plot_path);
    fprintf(stderr, "wrote %s\n", o->plot_path);
    return 0;
}

int bench_quality(vka_context *ctx, const bench_options *o, const vka_device_info *info)
{
    quality *w = calloc(1, sizeof *w);
    if (!w)
        return cli_fail("out of host memory");
    uint32_t n = o->size_count ? o->sizes[0] : 1024;
    w->base = (bench_case){.batch = o->batch,
                           .heads = o->heads,
                           .nq = n,
                           .nk = n,
                           .d = o->head_dim,
                           .input_sigma = (float)pow(o->head_dim, -0.25),
                           .input_seed = 20261202};
    int status = 0;
    if (!bench_inputs(&w->base, &w->q, &w->k, &w->v))
        status = cli_fail("out of host memory");
    vka_result r;
    if (!status && (r = exact_softmax(ctx, w)) != VKA_SUCCESS)
        status = cli_fail_result(ctx, r, "exact softmax reference");
    for (int k = 0; k < KINDS && !status; k++)
        for (int orth = 1; orth >= 0 && !status; orth--)
            for (int mi = 0; mi < MS && !status; mi++) {
                fprintf(stderr, "performer %s %s m=%u ...\n", kinds[k], orth ? "orthogonal" : "iid",
                        feature_counts[mi]);
                status = measure_point(ctx, o, w, k, orth, mi);
            }
    if (!status) {
        print_table(w, o);
        printf("device: %s\n", info->summary);
    }
    if (!status && o->csv_path)
        status = write_csv(w, o);
    if (!status && o->plot_path)
        status = plot(w, o);
    free(w->q);
    free(w->k);
    free(w->v);
    free(w->exact);
    free(w);
    return status;
}
