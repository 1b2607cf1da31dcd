/* Just enough JSON for the reference vectors' case.json and index.json: top-level
 * values looked up by key, strings, numbers and arrays of strings. */
#ifndef VKATTN_TEST_JSON_MINI_H
#define VKATTN_TEST_JSON_MINI_H

#include <stdbool.h>
#include <stddef.h>

/* Reads a whole file; NULL on failure. The caller frees. */
char *json_read_file(const char *path);

/* The value of top-level "key" in an object: a string (copied into out), a number, or an
 * array of strings (up to max entries, each malloc'ed). False if absent or of another type. */
bool json_get_string(const char *json, const char *key, char *out, size_t size);
bool json_get_number(const char *json, const char *key, double *out);
int json_get_string_array(const char *json, const char *key, char **items, int max);

/* A top-level array of strings. */
int json_string_array(const char *json, char **items, int max);

#endif
