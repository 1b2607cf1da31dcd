#version 450
// A stable counting sort (a one-digit radix sort) of small integer keys: per [batch, head]
// slice, `segments` independent sequences of n keys in [0, bins) — LSH buckets per round,
// clusters of queries — each sorted by (key, position), for any n. Three passes (PASS):
//   0  count:   a workgroup per block of BLOCK positions of a segment: the block's histogram,
//               written bin-major, counts[segment][bin][block]
//   1  scan:    a workgroup per segment: the exclusive prefix of those counts in that order,
//               in place: where each (bin, block) starts in the sorted sequence
//   2  scatter: a workgroup per block: each key goes to its (bin, block) start plus the
//               number of equal keys before it in its block; order[segment][place] = position
// Key i of a segment is keys[(segment·n + i)·key_stride + key_offset] (a column of a wider
// int row: the cluster of a query's code). The count pass holds BINS bins in shared memory
// at a time and sweeps wider ranges of bins in windows of BINS, so any number of bins works.

#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint PASS = 0;
layout(constant_id = 2) const uint BLOCK = 128; // positions per block (a multiple of the workgroup)
layout(constant_id = 3) const uint BINS = 64;   // bins per window of the count pass

layout(std430, set = 0, binding = 0) readonly buffer Keys { int keys[]; };
layout(std430, set = 0, binding = 1) buffer Counts { int counts[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Order { int order[]; };

layout(push_constant) uniform bucket_sort_push {
    VKA_PUSH_HEADER
    uint n;          // keys per segment
    uint bins;
    uint blocks;     // ceil(n / BLOCK)
    uint key_stride; // ints from one key to the next
    uint key_offset;
} pc;

#pragma vka_workgroup_size(64)
#pragma vka_loops(PASS < 1 ? div_up(pc.bins, BINS) * (BLOCK + BINS) : (PASS < 2 ? 2 * div_up(pc.bins * pc.blocks, 64) + 16 : 2 * BLOCK))
#pragma vka_shared_bytes(PASS < 1 ? 4 * BINS + 8 : (PASS < 2 ? 4 * 128 + 8 : 4 * BLOCK + 8))

shared uint histogram[PASS == 0 ? BINS : 1];
shared uint partial[PASS == 1 ? 128 : 1];
shared int block_keys[PASS == 2 ? BLOCK : 1];

int key_at(uint slice, uint segment, uint i)
{
    return keys[slice * pc.slice_stride[0] * 4u + (segment * pc.n + i) * pc.key_stride + pc.key_offset];
}

uint counts_base(uint slice, uint segment)
{
    return slice * pc.slice_stride[1] * 4u + segment * pc.bins * pc.blocks;
}

void count_block(uint slice, uint segment, uint block)
{
    const uint lane = gl_LocalInvocationID.x, size = gl_WorkGroupSize.x;
    const uint base = counts_base(slice, segment);
    for (uint window = 0; window < pc.bins; window += BINS) {
        for (uint b = lane; b < BINS; b += size)
            histogram[b] = 0u;
        barrier();
        for (uint i = block * BLOCK + lane; i < min(pc.n, (block + 1u) * BLOCK); i += size) {
            const uint key = uint(key_at(slice, segment, i));
            if (key >= window && key < window + BINS)
                atomicAdd(histogram[key - window], 1u);
        }
        barrier();
        for (uint b = lane; b < BINS && window + b < pc.bins; b += size)
            counts[base + (window + b) * pc.blocks + block] = int(histogram[b]);
        barrier();
    }
}

// Each lane sums a contiguous run of the counts; the lanes' sums are scanned in shared
// memory (Hillis–Steele); each lane then writes its run's exclusive prefix.
void scan_segment(uint slice, uint segment)
{
    const uint lane = gl_LocalInvocationID.x, size = gl_WorkGroupSize.x;
    const uint total = pc.bins * pc.blocks, run = (total + size - 1u) / size;
    const uint base = counts_base(slice, segment), first = min(lane * run, total), end = min(first + run, total);
    uint sum = 0u;
    for (uint i = first; i < end; i++)
        sum += uint(counts[base + i]);
    partial[lane] = sum;
    barrier();
    for (uint step = 1u; step < size; step *= 2u) {
        const uint add = lane >= step ? partial[lane - step] : 0u;
        barrier();
        partial[lane] += add;
        barrier();
    }
    uint at = partial[lane] - sum;
    for (uint i = first; i < end; i++) {
        const uint c = uint(counts[base + i]);
        counts[base + i] = int(at);
        at += c;
    }
}

void scatter_block(uint slice, uint segment, uint block)
{
    const uint lane = gl_LocalInvocationID.x, size = gl_WorkGroupSize.x;
    const uint first = block * BLOCK, count = min(pc.n - first, BLOCK);
    for (uint i = lane; i < count; i += size)
        block_keys[i] = key_at(slice, segment, first + i);
    barrier();
    const uint base = counts_base(slice, segment);
    const uint out_base = slice * pc.slice_stride[2] * 4u + segment * pc.n;
    for (uint i = lane; i < count; i += size) {
        const int key = block_keys[i];
        uint before = 0u;
        for (uint j = 0; j < i; j++)
            before += block_keys[j] == key ? 1u : 0u;
        const uint place = uint(counts[base + uint(key) * pc.blocks + block]) + before;
        order[out_base + place] = int(first + i);
    }
}

void main()
{
    const uint slice = gl_WorkGroupID.z, segment = gl_WorkGroupID.y;
    if (PASS == 0)
        count_block(slice, segment, gl_WorkGroupID.x);
    else if (PASS == 1)
        scan_segment(slice, segment);
    else
        scatter_block(slice, segment, gl_WorkGroupID.x);
}
