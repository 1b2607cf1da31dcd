/* vkattn — reading and writing tensors: .npy and .safetensors files.
 * Beside the core header (vkattn.h), which it includes. */
#ifndef VKATTN_IO_H
#define VKATTN_IO_H

#include "../vkattn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- .npy files */

/* A tensor read from a .npy file: float32 ('<f4'), float16 ('<f2', kept as f16) or int32 ('<i4'),
 * C order, rank 1..4. */
typedef struct vka_npy {
    vka_dtype dtype;
    uint32_t rank;
    uint32_t dims[VKA_MAX_RANK];
    void *data; /* owned; release with vka_npy_free */
    size_t bytes;
} vka_npy;

/* ctx may be NULL; then the message goes to vka_last_error(NULL). */
VKA_API vka_result vka_npy_load(vka_context *ctx, const char *path, vka_npy *out);
VKA_API vka_result vka_npy_save(vka_context *ctx, const char *path, vka_dtype dtype, uint32_t rank,
                                const uint32_t *dims, const void *data);
VKA_API void vka_npy_free(vka_npy *npy);

/* ---------------------------------------------------------------- .safetensors files */

/* Weights from .safetensors files (an 8-byte header length, a JSON header, raw data).
 * F16 weights become f16 constants; BF16 ones are widened to float32 exactly when read. */
typedef struct vka_safetensors vka_safetensors;

typedef enum vka_file_dtype { VKA_FILE_F32 = 0, VKA_FILE_F16, VKA_FILE_BF16 } vka_file_dtype;

typedef struct vka_safetensors_entry {
    const char *name; /* valid while the file is open */
    vka_file_dtype dtype;
    uint32_t rank; /* 0..4 */
    uint32_t dims[VKA_MAX_RANK];
    uint64_t elements;
} vka_safetensors_entry;

/* Reads and checks the header (every tensor's range inside the data, of its shape's
 * size, none overlapping); the data is read when asked for. ctx may be NULL. */
VKA_API vka_result vka_safetensors_open(vka_context *ctx, const char *path, vka_safetensors **out);
VKA_API void vka_safetensors_close(vka_safetensors *file);
VKA_API uint32_t vka_safetensors_count(const vka_safetensors *file);
VKA_API vka_result vka_safetensors_entry_at(const vka_safetensors *file, uint32_t index, vka_safetensors_entry *out);
VKA_API vka_result vka_safetensors_find(const vka_safetensors *file, const char *name, vka_safetensors_entry *out);
/* The tensor's values as float32 (exact), or as float16 (F16 as stored; F32 and BF16
 * rounded to nearest even); count must equal its element count. */
VKA_API vka_result vka_safetensors_read_f32(vka_safetensors *file, const char *name, float *out, size_t count);
VKA_API vka_result vka_safetensors_read_f16(vka_safetensors *file, const char *name, uint16_t *out, size_t count);
/* Binds a named weight of the file into the graph: a constant of the file's shape (rank
 * 1..4), named as in the file. F16 weights stay float16 (no widening copy), F32 and BF16
 * become float32; the _as form asks for a type (F32 widens, F16 rounds). */
VKA_API vka_result vka_graph_constant_from_file(vka_graph *graph, vka_safetensors *file, const char *name,
                                                vka_tensor *out);
VKA_API vka_result vka_graph_constant_from_file_as(vka_graph *graph, vka_safetensors *file, const char *name,
                                                   vka_dtype dtype, vka_tensor *out);

typedef struct vka_safetensors_write {
    const char *name;
    vka_file_dtype dtype; /* what to store; F16 and BF16 round to nearest even */
    uint32_t rank;        /* 0..4 */
    uint32_t dims[VKA_MAX_RANK];
    const float *data; /* dense, C order */
} vka_safetensors_write;

/* Writes the tensors, in order, as a .safetensors file. ctx may be NULL. */
VKA_API vka_result vka_safetensors_save(vka_context *ctx, const char *path, const vka_safetensors_write *tensors,
                                        uint32_t count);

#ifdef __cplusplus
}
#endif
#endif /* VKATTN_IO_H */
