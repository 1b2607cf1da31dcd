/* What the file-reading fuzz targets share: each input written to one temporary file per
 * process (the readers take paths), so the loaders see exactly the fuzzer's bytes. */
#ifndef VKATTN_FUZZ_FILE_H
#define VKATTN_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The input as a file; the path stays valid for the process. NULL if it cannot be written. */
static const char *fuzz_input_file(const char *suffix, const uint8_t *data, size_t size)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/vkattn-fuzz-%d%s", (int)getpid(), suffix);
    FILE *f = fopen(path, "wb");
    if (!f)
        return NULL;
    size_t written = fwrite(data, 1, size, f);
    return fclose(f) == 0 && written == size ? path : NULL;
}

#endif
