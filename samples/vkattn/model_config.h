/* model.json: a Transformer Neural Process's architecture, sizes and schedule, read
 * strictly (json.c) into a vka_tnp_desc for vka_graph_tnp. Its own file so that the
 * fuzzer (tests/fuzz/fuzz_model_json.c) reads model.json exactly as `vkattn model` does. */
#ifndef VKATTN_MODEL_CONFIG_H
#define VKATTN_MODEL_CONFIG_H

#include "cli.h"

enum { MAX_STEPS = 256 };

typedef struct model_config {
    vka_tnp_desc desc;
    uint32_t dim_x; /* model.json's, for synthetic data (default 2) */
    vka_tnp_step steps[MAX_STEPS];
    char blocks[MAX_STEPS][96];
} model_config;

/* Parses text (length bytes, NUL after them); false after printing what is wrong, named
 * by path. m->desc's weights, batch and sizes are left for the caller. */
bool model_config_parse(const char *text, size_t length, const char *path, model_config *m);

#endif
