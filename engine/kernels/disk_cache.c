/* The pipeline cache on disk: the driver's VkPipelineCache data, kept between processes in
 * a file named by the device, behind a header of our own, so that a file from another
 * device, driver or build of the library, or a damaged one, is recognised and ignored
 * (never handed to the driver). Written atomically: a temporary file, then rename. */
#include "disk_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#include <process.h>
#define vka_getpid _getpid
#else
#include <unistd.h>
#define vka_getpid getpid
#endif

#define MAGIC "VKAPIPE1"
#define HEADER_BYTES 64
#define MAX_FILE_BYTES ((uint64_t)1 << 30) /* a larger file is not ours */

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001B3ull;
    return h;
}

/* What a file must carry to be used on this context: the library's kernels (their
 * SPIR-V, through the caller's build key), the device and its driver. */
typedef struct cache_header {
    char magic[8];
    uint64_t build;
    uint32_t vendor_id, device_id, driver_version, reserved;
    uint8_t uuid[16];
    uint64_t data_bytes, data_hash;
} cache_header;
_Static_assert(sizeof(cache_header) <= HEADER_BYTES, "the header fits its slot");

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* Little-endian bytes, whatever the host. */
static void encode(const cache_header *h, unsigned char out[HEADER_BYTES])
{
    memset(out, 0, HEADER_BYTES);
    memcpy(out, h->magic, 8);
    put64(out + 8, h->build);
    put32(out + 16, h->vendor_id);
    put32(out + 20, h->device_id);
    put32(out + 24, h->driver_version);
    memcpy(out + 32, h->uuid, 16);
    put64(out + 48, h->data_bytes);
    put64(out + 56, h->data_hash);
}

static void decode(const unsigned char in[HEADER_BYTES], cache_header *h)
{
    memcpy(h->magic, in, 8);
    h->build = get64(in + 8);
    h->vendor_id = get32(in + 16);
    h->device_id = get32(in + 20);
    h->driver_version = get32(in + 24);
    memcpy(h->uuid, in + 32, 16);
    h->data_bytes = get64(in + 48);
    h->data_hash = get64(in + 56);
}

static cache_header expected_header(const vka_disk_cache_key *key)
{
    cache_header h = {.build = key->build,
                      .vendor_id = key->vendor_id,
                      .device_id = key->device_id,
                      .driver_version = key->driver_version};
    memcpy(h.magic, MAGIC, 8);
    memcpy(h.uuid, key->uuid, 16);
    return h;
}

void vka_disk_cache_path(const char *dir, const vka_disk_cache_key *key, char *out, size_t size)
{
    char uuid[33];
    for (int i = 0; i < 16; i++)
        snprintf(uuid + 2 * i, 3, "%02x", key->uuid[i]);
    size_t n = strlen(dir);
    bool slash = n && (dir[n - 1] == '/' || dir[n - 1] == '\\');
    snprintf(out, size, "%s%svkattn-%04x-%04x-%s.pipelines", dir, slash ? "" : "/", key->vendor_id, key->device_id,
             uuid);
}

/* Why a header does not fit this context, or NULL. */
static const char *mismatch(const cache_header *got, const cache_header *want)
{
    if (memcmp(got->magic, MAGIC, 8) != 0)
        return "not a vkattn pipeline cache";
    if (got->build != want->build)
        return "written by another build of vkattn (other kernels)";
    if (got->vendor_id != want->vendor_id || got->device_id != want->device_id ||
        memcmp(got->uuid, want->uuid, 16) != 0)
        return "written for another device";
    if (got->driver_version != want->driver_version)
        return "written by another driver version";
    return NULL;
}

bool vka_disk_cache_load(const char *path, const vka_disk_cache_key *key, void **data, size_t *bytes, char *note,
                         size_t note_size)
{
    *data = NULL;
    *bytes = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(note, note_size, "no file yet");
        return false;
    }
    unsigned char raw[HEADER_BYTES];
    cache_header got, want = expected_header(key);
    const char *why = NULL;
    if (fread(raw, 1, HEADER_BYTES, f) != HEADER_BYTES)
        why = "shorter than its header";
    if (!why) {
        decode(raw, &got);
        why = mismatch(&got, &want);
    }
    if (!why && (got.data_bytes == 0 || got.data_bytes > MAX_FILE_BYTES))
        why = "its size is not plausible";
    void *buffer = NULL;
    if (!why && !(buffer = malloc((size_t)got.data_bytes)))
        why = "out of host memory reading it";
    if (!why && fread(buffer, 1, (size_t)got.data_bytes, f) != got.data_bytes)
        why = "truncated";
    if (!why && fgetc(f) != EOF)
        why = "longer than its header says";
    if (!why && fnv1a(0xCBF29CE484222325ull, buffer, (size_t)got.data_bytes) != got.data_hash)
        why = "damaged (checksum)";
    fclose(f);
    if (why) {
        free(buffer);
        snprintf(note, note_size, "ignored %s: %s", path, why);
        return false;
    }
    *data = buffer;
    *bytes = (size_t)got.data_bytes;
    snprintf(note, note_size, "loaded %zu bytes from %s", *bytes, path);
    return true;
}

bool vka_disk_cache_save(const char *path, const vka_disk_cache_key *key, const void *data, size_t bytes, char *note,
                         size_t note_size)
{
    cache_header h = expected_header(key);
    h.data_bytes = bytes;
    h.data_hash = fnv1a(0xCBF29CE484222325ull, data, bytes);
    unsigned char raw[HEADER_BYTES];
    encode(&h, raw);
    char temp[1100];
    snprintf(temp, sizeof temp, "%s.%ld.tmp", path, (long)vka_getpid());
    FILE *f = fopen(temp, "wb");
    bool ok = f && fwrite(raw, 1, HEADER_BYTES, f) == HEADER_BYTES && fwrite(data, 1, bytes, f) == bytes;
    ok = (f && fclose(f) == 0) && ok;
    /* rename replaces the old file at once: a reader sees the old file or the new one */
    if (ok && rename(temp, path) != 0) {
#if defined(_WIN32) /* Windows' rename does not replace */
        remove(path);
        ok = rename(temp, path) == 0;
#else
        ok = false;
#endif
    }
    if (!ok) {
        remove(temp);
        snprintf(note, note_size, "could not write %s", path);
        return false;
    }
    snprintf(note, note_size, "wrote %zu bytes to %s", bytes, path);
    return true;
}

uint64_t vka_disk_cache_hash(const void *data, size_t bytes)
{
    return fnv1a(0xCBF29CE484222325ull, data, bytes);
}

uint64_t vka_disk_cache_build_key(const uint32_t *const *spirv, const size_t *bytes, uint32_t count)
{
    const uint32_t version[3] = {VKATTN_VERSION_MAJOR, VKATTN_VERSION_MINOR, VKATTN_VERSION_PATCH};
    uint64_t h = fnv1a(0xCBF29CE484222325ull, version, sizeof version);
    for (uint32_t i = 0; i < count; i++)
        h = fnv1a(h, spirv[i], bytes[i]);
    return h;
}
