/* The ownership and threading contract (vkattn.h, "Lifetimes and threads"): a context
 * destroyed before its graphs and plans leaves husks that answer every call with an
 * error and are freed by their destroy calls (ASan: no use after free, no leak); a plan
 * refuses to read outputs it never computed; plans of one context, and one plan, run
 * from several threads at once give the single-threaded results with no validation
 * message (the suite also builds this test with ThreadSanitizer). */
#include "attention_util.h"

#include <pthread.h> /* not C11 threads: ThreadSanitizer sees these */

enum { THREADS = 4, RUNS = 12 };

static bool contains(const char *s, const char *needle)
{
    return strstr(s, needle) != NULL;
}

static vka_plan *softmax_plan(vka_context *c, const attn_case *ac, const attn_data *data)
{
    vka_graph *g = attn_graph(c, ac);
    vka_plan *plan = NULL;
    if (g)
        CHECK_OK(c, vka_plan_create(g, NULL, &plan));
    vka_graph_destroy(g);
    if (plan) {
        CHECK_OK(c, vka_plan_write(plan, "q", data->q, data->q_bytes));
        CHECK_OK(c, vka_plan_write(plan, "k", data->k, data->k_bytes));
        CHECK_OK(c, vka_plan_write(plan, "v", data->v, data->v_bytes));
    }
    return plan;
}

static void the_context_may_go_first(void)
{
    vka_context *c = test_context(NULL);
    attn_case ac = {.batch = 1, .heads = 2, .nq = 9, .nk = 9, .d = 4, .seed = 3};
    attn_data data = {0};
    if (!c || !attn_data_make(c, &ac, &data)) {
        CHECK(false);
        vka_context_destroy(c);
        return;
    }
    vka_plan *plan = softmax_plan(c, &ac, &data);
    vka_graph *g = attn_graph(c, &ac);
    CHECK(plan && g);
    if (plan)
        CHECK_OK(c, vka_plan_run(plan));
    test_context_done(c); /* first: the plan and the graph become husks */
    float out[72];
    CHECK(vka_plan_run(plan) == VKA_ERROR_INVALID_ARGUMENT);
    CHECK(contains(vka_last_error(NULL), "vka_plan_run: the plan's context was destroyed"));
    CHECK(vka_plan_read(plan, "out", out, sizeof out) == VKA_ERROR_INVALID_ARGUMENT);
    CHECK(vka_plan_write(plan, "q", data.q, data.q_bytes) == VKA_ERROR_INVALID_ARGUMENT);
    CHECK(vka_plan_reset_states(plan) == VKA_ERROR_INVALID_ARGUMENT);
    vka_plan_stats stats;
    CHECK(vka_plan_stats_get(plan, &stats) == VKA_SUCCESS && stats.run_count == 1); /* host facts stay */
    vka_tensor t;
    vka_plan *again = NULL;
    CHECK(vka_graph_input(g, &(vka_tensor_desc){.name = "x", .rank = 1, .dims = {4}}, &t) ==
          VKA_ERROR_INVALID_ARGUMENT);
    CHECK(vka_plan_create(g, NULL, &again) == VKA_ERROR_INVALID_ARGUMENT && !again);
    CHECK(contains(vka_last_error(NULL), "the graph's context was destroyed"));
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    attn_data_free(&data);
}

static void outputs_are_not_read_before_a_run(void)
{
    vka_context *c = test_context(NULL);
    attn_case ac = {.batch = 1, .heads = 1, .nq = 5, .nk = 7, .d = 4, .seed = 4};
    attn_data data = {0};
    vka_plan *plan = c && attn_data_make(c, &ac, &data) ? softmax_plan(c, &ac, &data) : NULL;
    CHECK(plan != NULL);
    if (plan) {
        float out[20];
        CHECK(vka_plan_read(plan, "out", out, sizeof out) == VKA_ERROR_INVALID_ARGUMENT);
        CHECK(contains(vka_last_error(c), "has not run yet"));
        CHECK_OK(c, vka_plan_run(plan));
        CHECK_OK(c, vka_plan_read(plan, "out", out, sizeof out));
        CHECK(test_close("after the run", out, data.expected, 20, 2e-5, 2e-4));
    }
    vka_plan_destroy(plan);
    attn_data_free(&data);
    test_context_done(c);
}

typedef struct worker {
    vka_context *ctx;
    vka_plan *plan; /* shared by several workers, or each its own */
    const attn_data *data;
    size_t out_count;
    int failures;
} worker;

/* Runs and reads RUNS times; every read must be the reference's. */
static void *work(void *arg)
{
    worker *w = arg;
    float *out = malloc(w->out_count * sizeof *out);
    for (int i = 0; out && i < RUNS; i++) {
        vka_result r = vka_plan_run(w->plan);
        if (r == VKA_SUCCESS)
            r = vka_plan_read(w->plan, "out", out, w->out_count * sizeof *out);
        bool same = r == VKA_SUCCESS;
        for (size_t k = 0; same && k < w->out_count; k++)
            same = fabsf(out[k] - w->data->expected[k]) <= 2e-5f + 2e-4f * fabsf(w->data->expected[k]);
        w->failures += !same;
    }
    w->failures += !out;
    free(out);
    return NULL;
}

static void run_workers(worker *workers, int n)
{
    pthread_t threads[THREADS];
    for (int i = 0; i < n; i++)
        CHECK(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    for (int i = 0; i < n; i++) {
        pthread_join(threads[i], NULL);
        CHECK_MSG(workers[i].failures == 0, "worker %d: %d of %d runs failed or differed", i, workers[i].failures,
                  RUNS);
    }
}

static void plans_of_one_context_run_from_several_threads(void)
{
    vka_context *c = test_context(NULL);
    attn_case cases[THREADS];
    attn_data data[THREADS] = {{0}};
    worker workers[THREADS];
    vka_plan *plans[THREADS] = {0};
    bool ok = c != NULL;
    for (int i = 0; ok && i < THREADS; i++) {
        cases[i] = (attn_case){.batch = 1, .heads = 2, .nq = 17 + i, .nk = 23, .d = 8, .seed = 40 + i};
        ok = attn_data_make(c, &cases[i], &data[i]) && (plans[i] = softmax_plan(c, &cases[i], &data[i]));
        workers[i] = (worker){c, plans[i], &data[i], (size_t)2 * cases[i].nq * 8, 0};
    }
    CHECK(ok);
    if (ok)
        run_workers(workers, THREADS); /* four plans, four threads */
    if (ok) {
        for (int i = 0; i < THREADS; i++)
            workers[i] = (worker){c, plans[0], &data[0], (size_t)2 * cases[0].nq * 8, 0};
        run_workers(workers, THREADS); /* one plan, four threads: the calls take turns */
    }
    for (int i = 0; i < THREADS; i++) {
        vka_plan_destroy(plans[i]);
        attn_data_free(&data[i]);
    }
    test_context_done(c);
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"the_context_may_go_first", the_context_may_go_first},
        {"outputs_are_not_read_before_a_run", outputs_are_not_read_before_a_run},
        {"plans_of_one_context_run_from_several_threads", plans_of_one_context_run_from_several_threads},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof *cases);
}
