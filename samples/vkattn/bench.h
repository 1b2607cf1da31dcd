/* Shared pieces of `vkattn bench`: the case/row vocabulary, measuring one case (plan,
 * warm-up, timed runs, error against the reference), the table, and the modes built on
 * them (the default sweep in cmd_bench.c, --sweep in bench_sweep.c, --quality in
 * bench_quality.c). */
#ifndef VKATTN_BENCH_H
#define VKATTN_BENCH_H

#include "cli.h"
#include "provenance.h"
#include "roofline.h"

#define BENCH_MAX_PARAMS 6
#define BENCH_MAX_SIZES 16

typedef struct bench_case {
    const char *scheme;
    const char *kernel; /* the op's `kernel` parameter (softmax kernel, performer feature kind); NULL: default */
    uint32_t batch, heads, nq, nk, d;
    uint32_t kv_heads; /* grouped k/v heads where the scheme takes them; 0: heads */
    bool causal;
    vka_op_param extra[BENCH_MAX_PARAMS]; /* more parameters, ending at the first without a key */
    float input_sigma;                    /* standard deviation of q and k; 0: 1 */
    uint32_t input_centres;               /* > 0: q and k drawn around this many centres per head (shared
                                             by q and k, spread 2σ, each token σ/3 from its centre) */
    vka_dtype dtype;                      /* of every float input and the output; DEFAULT: f32 */
    uint64_t input_seed;                  /* 0: from the shape */
} bench_case;

typedef struct bench_row {
    bench_case c;
    bool ran;
    int reps;
    double median_gpu_ms, min_gpu_ms, max_gpu_ms, median_wall_ms;
    double gflops; /* per second, at the median */
    double flops;
    double io_bytes;          /* the inputs' and the output's bytes as stored: the least any run moves */
    double gbs;               /* io_bytes per second at the median, 1e9 */
    double roofline_fraction; /* of min(peak, flops/io_bytes · bandwidth) (roofline.h); NaN without one */
    double peak_mib;
    uint32_t dispatches;
    double plan_ms, pipeline_ms;
    double first_run_ms;  /* the warm-up run, wall: includes a lazy driver's shader compilation */
    double max_abs_error; /* NaN if not checked */
    char note[160];
    char params_json[512]; /* every parameter as the op resolved it, defaults included (a JSON object) */
} bench_row;

typedef struct bench_options {
    bool quick, no_check, memory_only;
    const char *only_scheme, *only_kernel;
    const char *json_path, *csv_path, *plot_path;
    uint32_t sizes[BENCH_MAX_SIZES], size_count;
    uint32_t heads, head_dim, batch;
    uint32_t kv_heads; /* --kv-heads: grouped heads (softmax); 0: as many as --heads */
    int causal;        /* -1: the mode's choice */
    int min_reps, max_reps;
    double seconds;                        /* measured time to aim for per case */
    const char *sweep;                     /* --sweep: comma-separated schemes, NULL: not sweeping */
    uint32_t run_limit;                    /* --sweep: softmax runs up to this N, memory only above */
    bool quality;                          /* --quality */
    bool decode;                           /* --decode */
    uint32_t seeds;                        /* --quality: projections averaged per point */
    uint32_t dtypes;                       /* --dtype: a VKA_DTYPE_BIT per type benchmarked; 0: f32 */
    vka_op_param params[BENCH_MAX_PARAMS]; /* --param key=value: for every case whose scheme takes the key */
    uint32_t param_count;
    const vka_device_info *device; /* the context's, for the result files */
    const char *roofline_path;     /* --roofline FILE (a roofline or bench JSON) or "none" */
    const roofline *roofline;      /* the device's ceilings (--roofline; measured by the default sweep); NULL: none */
} bench_options;

/* The case's element type, and its name in tables and reports. */
vka_dtype bench_dtype(const bench_case *c);
const char *bench_dtype_name(const bench_case *c);

/* Measures one case: plans it (memory only if o->memory_only or memory_only), and
 * unless memory only, runs it (a warm-up, then until min_reps and o->seconds), reads
 * the output into *out_copy if given (caller frees), and checks it against the
 * reference unless o->no_check. On failure the row's note says why. */
vka_result bench_measure(vka_context *ctx, const bench_options *o, bool memory_only, bench_row *row, float **out_copy);

/* A case's inputs, as its scheme poses itself on the case's sizes (vka_op_example_for),
 * filled once: by role, NULL where an index constant (ones) or not filled. Always f32
 * here; an f16 case converts them as it hands them to the library. */
typedef struct bench_values {
    vka_op_example example;
    float *data[VKA_MAX_OP_INPUTS];
    size_t bytes[VKA_MAX_OP_INPUTS];
} bench_values;

/* Fills every input but the index constants (only the graph constants if constants_only).
 * Tokens come from one stream seeded by the case, in table order (so bench_inputs hands
 * out softmax's q, k, v; the case's sigma scales what enters the logits); learned weights
 * and positions from a stream of their own: N(0, 1/fan-in) and N(0, 1). */
vka_result bench_values_fill(const bench_case *c, bool constants_only, bench_values *v);
void bench_values_free(bench_values *v);

/* The case's graph with nq queries, as the scheme poses itself on the case's sizes
 * (vka_op_example_for): its required inputs by role (index inputs as constants of ones,
 * graph constants from `values`, which may be NULL for a scheme that takes none), output
 * "out". */
vka_result bench_graph(vka_context *ctx, const bench_case *c, uint32_t nq, const bench_values *values, vka_graph **out);

/* The case's parameters: `table`'s (ending at a NULL key; a --param of the same key wins),
 * then each --param (o->params) the case's scheme takes. */
void bench_set_params(bench_case *c, const vka_op_param *table, const bench_options *o);

/* Whether the scheme runs causal only (its `causal` parameter cannot be 0). */
bool bench_scheme_causal_only(const char *scheme);

/* Whether the scheme takes a `causal` parameter. */
bool bench_scheme_has_causal(const char *scheme);

/* Fills the case's q, k, v (malloc'd; caller frees) as the case says. */
bool bench_inputs(const bench_case *c, float **q, float **k, float **v);

void bench_print_header(void);
void bench_print_row(const bench_row *r);
int bench_write_reports(const bench_options *o, const bench_row *rows, uint32_t n, const vka_device_info *info);

/* The slope of log y against log x by least squares over the points with x >= x_min
 * and y > 0; NaN with fewer than two such points. */
double bench_fit_exponent(const double *x, const double *y, uint32_t n, double x_min);

int bench_sweep(vka_context *ctx, const bench_options *o, const vka_device_info *info);
int bench_quality(vka_context *ctx, const bench_options *o, const vka_device_info *info);
int bench_quality_hashing(vka_context *ctx, const bench_options *o, const vka_device_info *info);
int bench_decode(vka_context *ctx, const bench_options *o, const vka_device_info *info);

#endif
