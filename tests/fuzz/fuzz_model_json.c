/* libFuzzer: model.json as `vkattn model` reads it (samples/vkattn/model_config.c over
 * the strict JSON reader). Parsing either fails with a printed reason or gives a
 * description whose schedule points into the config. */
#include "../../samples/vkattn/model_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    model_config *m = calloc(1, sizeof *m);
    if (m && model_config_parse(text, size, "model.json", m)) {
        if (!m->desc.schedule || m->desc.schedule_length == 0 || m->desc.schedule_length > MAX_STEPS)
            abort();
        for (uint32_t i = 0; i < m->desc.schedule_length; i++)
            if (strlen(m->desc.schedule[i].block) >= sizeof m->blocks[0])
                abort();
    }
    free(m);
    free(text);
    return 0;
}
