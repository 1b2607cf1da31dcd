/* A small test harness: cases are functions registered in a table; each case reports
 * failures with CHECK; the program ends with a plain "N passed, N failed" line.
 *
 * Contexts made with test_context() load the Khronos validation layer (with
 * synchronization validation); a case fails if any validation message appears. */
#ifndef VKATTN_TEST_HARNESS_H
#define VKATTN_TEST_HARNESS_H

#include "vkattn.h"
#include "vkattn/ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct test_case {
    const char *name;
    void (*run)(void);
} test_case;

/* Set by CHECK failures in the running case. */
extern int test_failures;

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);                                 \
            test_failures++;                                                                                           \
        }                                                                                                              \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                                           \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                                                          \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fputc('\n', stderr);                                                                                       \
            test_failures++;                                                                                           \
        }                                                                                                              \
    } while (0)

/* A vka call that must succeed; on failure prints the context's message. */
#define CHECK_OK(ctx, call)                                                                                            \
    do {                                                                                                               \
        vka_result check_ok_r = (call);                                                                                \
        CHECK_MSG(check_ok_r == VKA_SUCCESS, "%s -> %s: %s", #call, vka_result_string(check_ok_r),                     \
                  vka_last_error(ctx));                                                                                \
    } while (0)

/* Runs the cases named on the command line (all if none), prints the summary line and
 * returns the exit status. */
int test_main(int argc, char **argv, const test_case *cases, size_t count);

/* A context with validation on (desc fields from `base`, which may be NULL). */
vka_context *test_context(const vka_context_desc *base);
/* One validated context per kernel class — [0] CPU class, [1] GPU class — made where
 * the slot is still NULL (suites keep them for the whole program: pipelines compile
 * once). True when both exist. */
bool test_class_contexts(vka_context *contexts[2]);
/* Fails the case if the context saw validation messages; then destroys it. */
void test_context_done(vka_context *ctx);
/* Fails the case if the context saw validation messages since the last call. */
void test_check_validation(vka_context *ctx);

/* Deterministic pseudo-random data. */
void test_seed(uint64_t seed);
float test_normal(void);
void test_fill_normal(float *x, size_t n, float scale);

/* |a − b| ≤ atol + rtol·|b| for all, all finite; reports the worst element. */
bool test_close(const char *what, const float *a, const float *b, size_t n, double atol, double rtol);
/* SCHEMES.md's f16 gate: NMSE Σ(o − r)²/Σr² ≤ 5e-4 and max |o − r| ≤ 4e-3 · max |r|. */
bool test_f16_gate(const char *what, const float *got, const float *ref, size_t n);

/* Runs a shell command; *out holds the start of what it printed (stdout, and stderr where
 * the command redirects it). Its exit status, -1 if it could not start. */
int test_command_output(const char *command, char *out, size_t size);

/* The start of a file as a string ("" when it cannot be read): what a CLI run wrote. */
void test_read_text(const char *path, char *text, size_t size);

/* The reference vectors' folder (it holds index.json and tnp/): the workshop's full set,
 * ($VKATTN_SHARED_DIR, else ../shared beside the repository)/vectors, when its index.json
 * is there, else the compact subset bundled in tests/vectors. `full` (may be NULL): whether it is the full
 * set. */
const char *test_vectors_dir(bool *full);

/* Whether s contains every one of the NULL-terminated needles. */
bool test_contains_all(const char *s, const char *const *needles);

#endif
