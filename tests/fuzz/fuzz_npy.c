/* libFuzzer: the .npy reader (vka_npy_load) on any bytes. A load either fails or yields
 * a tensor whose byte count matches its shape (every byte read: ASan sees a short one). */
#include "fuzz_file.h"
#include "vkattn/io.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_file(".npy", data, size);
    vka_npy npy;
    if (!path || vka_npy_load(NULL, path, &npy) != VKA_SUCCESS) {
        return 0; /* refused: the message is the thread's */
    }
    size_t elements = 1;
    for (uint32_t i = 0; i < npy.rank; i++)
        elements *= npy.dims[i];
    size_t element_bytes = npy.dtype == VKA_DTYPE_F16 ? 2 : 4;
    bool known = npy.dtype == VKA_DTYPE_F32 || npy.dtype == VKA_DTYPE_F16 || npy.dtype == VKA_DTYPE_I32;
    if (!known || npy.rank < 1 || npy.rank > VKA_MAX_RANK || npy.bytes != elements * element_bytes)
        abort();
    volatile unsigned char sink = 0; /* touch every byte: a short buffer shows under ASan */
    for (size_t i = 0; i < npy.bytes; i++)
        sink ^= ((const unsigned char *)npy.data)[i];
    (void)sink;
    vka_npy_free(&npy);
    return 0;
}
