/* The ∞-former's unbounded memory over a long stream (`continuous_update`), with and
 * without sticky memories.
 *
 * A synthetic signal of 8 channels — a constant (the channel queries steer by), five
 * sinusoids, a spike channel and a little noise — arrives in chunks of 512 tokens; every
 * few chunks a short spike (16 tokens of amplitude 5) sits somewhere in the chunk. Keys and
 * values are the tokens. Each run folds the chunk into the memory (its old contents squeezed
 * into [0, τ]), then one query per spike seen so far (this chunk's included) attends with a
 * narrow density aimed at where that spike now lives (the host tracks it: τ·p per run), and
 * reads back the spike channel: the fraction of the spike's amplitude still there is its
 * recall. Sticky memories sample the old signal where the previous run attended, so the
 * attended spikes keep their shape longer. Two heads see the same tokens: head 0 aims below
 * 0.5 and head 1 above (see aim_queries).
 *
 *   vkattn_stream_demo [--chunks C] [--nbasis N] [--samples S] [--tau T] [--every K] [--sticky-floor F]
 *   vkattn_stream_demo --memory-report     peak device bytes and time over 1,000 chunks
 */
#include "vkattn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK = 512, D = 8, HEADS = 2, SPIKE_LEN = 16, MAX_SPIKES = 64, CONTROL = 0, SPIKE = 6 };

static const double SPIKE_AMPLITUDE = 5.0;

typedef struct options {
    uint32_t chunks, nbasis, samples, every;
    double tau, sticky_floor;
    bool memory_report;
} options;

typedef struct stream {
    const options *o;
    vka_context *ctx;
    vka_graph *graph;
    vka_plan *plan;
    uint32_t queries; /* one per spike the run may ask about */
    float *k, *q, *w_mu, *w_sigma, *out, *memory;
} stream;

/* ------------------------------------------------------------------ the signal */

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (rng_state >> 11) * (1.0 / 9007199254740992.0);
}

/* Chunk c's tokens into k (HEADS × CHUNK × D); a spike at *offset when it has one (else −1). */
static void make_chunk(uint32_t c, const options *o, float *k, int *offset)
{
    static const double periods[5] = {97, 211, 389, 1021, 4099};
    *offset = c % o->every == o->every / 2 ? (int)(uniform() * (CHUNK - SPIKE_LEN)) : -1;
    for (uint32_t i = 0; i < CHUNK; i++) {
        double t = (double)c * CHUNK + i;
        float *x = k + (size_t)i * D;
        x[CONTROL] = 1.0f;
        for (int s = 0; s < 5; s++)
            x[1 + s] = (float)sin(6.283185307179586 * t / periods[s] + s);
        x[SPIKE] = *offset >= 0 && (int)i >= *offset && (int)i < *offset + SPIKE_LEN ? (float)SPIKE_AMPLITUDE : 0.0f;
        x[7] = (float)(0.05 * (uniform() - 0.5));
    }
    for (int h = 1; h < HEADS; h++) /* every head sees the same tokens */
        memcpy(k + (size_t)h * CHUNK * D, k, (size_t)CHUNK * D * sizeof *k);
}

/* ------------------------------------------------------------------ the plan */

static int fail(vka_context *ctx, const char *doing)
{
    fprintf(stderr, "vkattn_stream_demo: %s: %s\n", doing, vka_last_error(ctx));
    return 1;
}

static int stream_open(stream *s, const options *o, bool sticky)
{
    *s = (stream){.o = o, .queries = MAX_SPIKES};
    uint32_t n = o->nbasis;
    if (vka_context_create(NULL, &s->ctx) != VKA_SUCCESS)
        return fail(NULL, "creating a context");
    vka_graph_create(s->ctx, &s->graph);
    vka_op_desc op = {.op = "continuous_update"};
    const char *names[5] = {"q", "w_mu", "w_sigma", "k", "v"};
    const uint32_t dims[5][4] = {
        {1, HEADS, s->queries, D}, {1, HEADS, 1, n}, {1, HEADS, 1, n}, {1, HEADS, CHUNK, D}, {1, HEADS, CHUNK, D}};
    for (int i = 0; i < 5; i++) {
        vka_tensor_desc desc = {.name = names[i], .rank = 4};
        memcpy(desc.dims, dims[i], sizeof dims[i]);
        op.inputs[i].role = names[i];
        if (vka_graph_input(s->graph, &desc, &op.inputs[i].tensor) != VKA_SUCCESS)
            return fail(s->ctx, "adding an input");
    }
    op.inputs[4].tensor = op.inputs[3].tensor; /* values are the tokens too */
    char nbasis[16], samples[16], tau[32];
    snprintf(nbasis, sizeof nbasis, "%u", n);
    snprintf(samples, sizeof samples, "%u", o->samples);
    snprintf(tau, sizeof tau, "%.17g", o->tau);
    char floor_share[32];
    snprintf(floor_share, sizeof floor_share, "%.17g", o->sticky_floor);
    vka_op_param params[] = {{"nbasis", nbasis},
                             {"samples", samples},
                             {"tau", tau},
                             {"state", "mem"},
                             {"sticky", sticky ? "1" : "0"},
                             {"seed", "7"},
                             {"sticky_floor", floor_share}};
    memcpy(op.params, params, sizeof params);
    vka_tensor out;
    if (vka_graph_op(s->graph, &op, &out) != VKA_SUCCESS || vka_graph_output(s->graph, "out", out) != VKA_SUCCESS)
        return fail(s->ctx, "adding continuous_update");
    if (vka_plan_create(s->graph, NULL, &s->plan) != VKA_SUCCESS)
        return fail(s->ctx, "planning");
    s->k = calloc((size_t)HEADS * CHUNK * D, sizeof *s->k);
    s->q = calloc((size_t)HEADS * s->queries * D, sizeof *s->q);
    s->w_mu = calloc((size_t)HEADS * n, sizeof *s->w_mu);
    s->w_sigma = calloc((size_t)HEADS * n, sizeof *s->w_sigma);
    s->out = calloc((size_t)HEADS * s->queries * D, sizeof *s->out);
    s->memory = calloc((size_t)HEADS * n * D, sizeof *s->memory);
    return s->k && s->q && s->w_mu && s->w_sigma && s->out && s->memory ? 0 : fail(s->ctx, "allocating");
}

static void stream_close(stream *s)
{
    vka_plan_destroy(s->plan);
    vka_graph_destroy(s->graph);
    vka_context_destroy(s->ctx);
    free(s->k);
    free(s->q);
    free(s->w_mu);
    free(s->w_sigma);
    free(s->out);
    free(s->memory);
}

/* Aims query i at position p[i]. With keys carrying a constant channel, the scores
 * against the last (widest, centred at 1) basis function are c·u for a query (u, 0, …),
 * c that function's coefficient of the constant signal (read from the memory after the
 * previous run). Head 0 has w_mu = −e_last, so μ = sigmoid(−c·u·scale) = p < 0.5 for
 * u = −logit(p) / (c·scale) > 0; head 1 has w_mu = +e_last for p > 0.5. In both w_sigma =
 * −200·e_last drives σ² to its floor (1e-4) for u > 0. A query's other head aims at the
 * mirror point 1 − p (narrow too; its reading is not used). */
static void aim_queries(stream *s, const double *p, uint32_t count)
{
    uint32_t n = s->o->nbasis, last = n - 1;
    double c = s->memory[(size_t)last * D + CONTROL], scale = 1.0 / sqrt((double)D);
    memset(s->w_mu, 0, (size_t)HEADS * n * sizeof *s->w_mu);
    memset(s->w_sigma, 0, (size_t)HEADS * n * sizeof *s->w_sigma);
    for (int h = 0; h < HEADS; h++) {
        s->w_mu[(size_t)h * n + last] = h ? 1.0f : -1.0f;
        s->w_sigma[(size_t)h * n + last] = -200.0f;
    }
    memset(s->q, 0, (size_t)HEADS * s->queries * D * sizeof *s->q);
    for (uint32_t i = 0; i < s->queries; i++) {
        double target = i < count ? p[i] : count ? p[count - 1] : 0.25;
        double below = target < 0.5 ? target : 1 - target, logit = log(below / (1 - below)); /* < 0 */
        float u = c > 0 ? (float)(-logit / (c * scale)) : 0.0f;
        for (int h = 0; h < HEADS; h++)
            s->q[((size_t)h * s->queries + i) * D + CONTROL] = u;
    }
}

/* What query i read from the spike channel, in the head aimed at position p. */
static double spike_reading(const stream *s, uint32_t i, double p)
{
    uint32_t head = p < 0.5 ? 0 : 1;
    return s->out[((size_t)head * s->queries + i) * D + SPIKE];
}

/* One run: the chunk in, the queries answered, the key memory read back (for aiming). */
static int stream_step(stream *s)
{
    uint32_t n = s->o->nbasis;
    vka_result r;
    if ((r = vka_plan_write(s->plan, "k", s->k, (size_t)HEADS * CHUNK * D * 4)) ||
        (r = vka_plan_write(s->plan, "q", s->q, (size_t)HEADS * s->queries * D * 4)) ||
        (r = vka_plan_write(s->plan, "w_mu", s->w_mu, (size_t)HEADS * n * 4)) ||
        (r = vka_plan_write(s->plan, "w_sigma", s->w_sigma, (size_t)HEADS * n * 4)) || (r = vka_plan_run(s->plan)) ||
        (r = vka_plan_read(s->plan, "out", s->out, (size_t)HEADS * s->queries * D * 4)) ||
        (r = vka_plan_read(s->plan, "mem.keys", s->memory, (size_t)HEADS * n * D * 4)))
        return fail(s->ctx, "running a chunk");
    return 0;
}

/* ------------------------------------------------------------------ recall */

typedef struct spike {
    uint32_t chunk;
    double position; /* where its centre lives in the memory now */
} spike;

/* Streams the chunks; recall[age] sums the recalls of spikes `age` runs old (count[age]). */
static int run_stream(const options *o, bool sticky, double *recall, uint32_t *count)
{
    stream s;
    rng_state = 0x2545F4914F6CDD1Dull; /* the same signal both times */
    int status = stream_open(&s, o, sticky);
    spike spikes[MAX_SPIKES];
    uint32_t spike_count = 0;
    double aim[MAX_SPIKES];
    for (uint32_t c = 0; status == 0 && c < o->chunks; c++) {
        int offset;
        make_chunk(c, o, s.k, &offset);
        /* This run's update squeezes every older spike by τ; a new one lands in (τ, 1]. */
        for (uint32_t i = 0; i < spike_count; i++)
            spikes[i].position *= o->tau;
        if (offset >= 0 && spike_count < MAX_SPIKES)
            spikes[spike_count++] = (spike){c, o->tau + (1 - o->tau) * (offset + SPIKE_LEN / 2.0) / (double)CHUNK};
        for (uint32_t i = 0; i < spike_count; i++)
            aim[i] = spikes[i].position;
        aim_queries(&s, aim, spike_count);
        status = stream_step(&s);
        for (uint32_t i = 0; status == 0 && i < spike_count; i++) {
            uint32_t age = c - spikes[i].chunk;
            recall[age] += spike_reading(&s, i, spikes[i].position) / SPIKE_AMPLITUDE;
            count[age]++;
        }
    }
    stream_close(&s);
    return status;
}

static int recall_table(const options *o)
{
    double *recall[2];
    uint32_t *count[2];
    int status = 0;
    for (int sticky = 0; sticky < 2; sticky++) {
        recall[sticky] = calloc(o->chunks + 1, sizeof *recall[sticky]);
        count[sticky] = calloc(o->chunks + 1, sizeof *count[sticky]);
        if (!recall[sticky] || !count[sticky])
            return fail(NULL, "allocating");
        status = status ? status : run_stream(o, sticky, recall[sticky], count[sticky]);
    }
    if (status == 0) {
        printf("spike recall (fraction of the spike's amplitude read back by a query aimed at it), %u chunks of %u "
               "tokens, nbasis %u, samples %u, tau %g, a spike every %u chunks, sticky_floor %g\n",
               o->chunks, (unsigned)CHUNK, o->nbasis, o->samples, o->tau, o->every, o->sticky_floor);
        printf("%-12s %8s %10s %10s\n", "age (runs)", "spikes", "even", "sticky");
        for (uint32_t age = 0; age <= o->chunks; age++)
            if (count[0][age])
                printf("%-12u %8u %10.3f %10.3f\n", age, count[0][age], recall[0][age] / count[0][age],
                       recall[1][age] / count[1][age]);
    }
    for (int sticky = 0; sticky < 2; sticky++) {
        free(recall[sticky]);
        free(count[sticky]);
    }
    return status;
}

/* ------------------------------------------------------------------ memory report */

/* 1,000 chunks through one plan: its device bytes and the time per update stay put. */
static int memory_report(const options *o)
{
    stream s;
    int status = stream_open(&s, o, false);
    double total_ms = 0;
    printf("%8s %16s %14s %14s\n", "chunk", "tokens seen", "peak MiB", "update ms");
    for (uint32_t c = 0; status == 0 && c < 1000; c++) {
        int offset;
        make_chunk(c, o, s.k, &offset);
        status = stream_step(&s);
        vka_plan_stats stats;
        vka_plan_stats_get(s.plan, &stats);
        total_ms += stats.last_run_wall_ms;
        if (status == 0 && (c + 1 == 1 || c + 1 == 10 || c + 1 == 100 || c + 1 == 1000))
            printf("%8u %16u %14.3f %14.3f\n", c + 1, (c + 1) * CHUNK, stats.peak_device_bytes / 1048576.0,
                   stats.last_run_wall_ms);
    }
    if (status == 0)
        printf("mean update (run) time over 1000 chunks: %.3f ms\n", total_ms / 1000);
    stream_close(&s);
    return status;
}

static int usage(void)
{
    fputs("usage: vkattn_stream_demo [--chunks C] [--nbasis N] [--samples S] [--tau T] [--every K] "
          "[--sticky-floor F]\n"
          "       vkattn_stream_demo --memory-report [--nbasis N] [--samples S]\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    options o = {.chunks = 24, .nbasis = 128, .samples = 512, .every = 3, .tau = 0.5, .sticky_floor = 0.5};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--memory-report") == 0) {
            o.memory_report = true;
            continue;
        }
        if (!value)
            return usage();
        i++;
        if (strcmp(a, "--chunks") == 0)
            o.chunks = (uint32_t)strtoul(value, NULL, 10);
        else if (strcmp(a, "--nbasis") == 0)
            o.nbasis = (uint32_t)strtoul(value, NULL, 10);
        else if (strcmp(a, "--samples") == 0)
            o.samples = (uint32_t)strtoul(value, NULL, 10);
        else if (strcmp(a, "--every") == 0)
            o.every = (uint32_t)strtoul(value, NULL, 10);
        else if (strcmp(a, "--tau") == 0)
            o.tau = strtod(value, NULL);
        else if (strcmp(a, "--sticky-floor") == 0)
            o.sticky_floor = strtod(value, NULL);
        else
            return usage();
    }
    if (o.chunks == 0 || o.chunks > 4096 || o.every == 0 || o.nbasis < 2 || o.nbasis % 2 || !(o.tau > 0 && o.tau < 1))
        return usage();
    return o.memory_report ? memory_report(&o) : recall_table(&o);
}
