/* libFuzzer: the .safetensors reader on any bytes: open, list every entry, read each one
 * that is small enough. Every entry listed must be
 * readable as its shape says. */
#include "fuzz_file.h"
#include "vkattn/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_file(".safetensors", data, size);
    vka_safetensors *file = NULL;
    if (!path || vka_safetensors_open(NULL, path, &file) != VKA_SUCCESS) {
        return 0;
    }
    for (uint32_t i = 0; i < vka_safetensors_count(file); i++) {
        vka_safetensors_entry e;
        if (vka_safetensors_entry_at(file, i, &e) != VKA_SUCCESS)
            abort();
        if (e.elements > (1u << 16))
            continue;
        float *values = malloc((e.elements ? e.elements : 1) * sizeof *values);
        if (values)
            vka_safetensors_read_f32(file, e.name, values, e.elements);
        free(values);
    }
    vka_safetensors_close(file);
    return 0;
}
