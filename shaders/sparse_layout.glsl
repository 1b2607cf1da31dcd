// Block-sparse attention for the flash kernels (SCHEMES.md §7), after their push block
// `pc` and with SPARSE declared. pattern_params[2] is the queries' offset in the sequence. The host builds a block layout once per plan (engine/
// ops/sparse.c): for each block of `layout_rows` query rows (per head when the pattern
// depends on the head: `sections` = heads), a list of key ranges to visit. Its words:
//   [0, sections·layout_blocks]      the first range of each (section, block), then the end
//   then 2 words per range           start key, end key | MASKED (bit 31)
// A masked range holds keys the pattern allows for only some of the block's rows: each
// (row, key) there asks pattern_allows. The layout is a uniform buffer (the kernels use
// android-2021's four storage buffers already), declared 16 KiB and bound to its size, at
// binding 7 (5 in the variant with a mask, whose mask is binding 7: flash_attn_interface.glsl).

layout(std140, set = 0, binding = VKA_LAYOUT_BINDING) uniform Layout { uvec4 layout_words[1024]; };

const uint SPARSE_MASKED = 0x80000000u;
const uint PATTERN_NONE = 0u, PATTERN_LOCAL = 1u, PATTERN_LONGFORMER = 2u, PATTERN_STRIDED = 3u,
           PATTERN_FIXED = 4u, PATTERN_BLOCKWISE = 5u;

uint layout_word(uint i)
{
    return layout_words[i >> 2][i & 3u];
}

// The ranges [begin, end) of the layout block holding query row `row` of head `head`.
void layout_ranges(uint row, uint head, out uint begin, out uint end)
{
    const uint section = pc.sections > 1u ? head : 0u;
    const uint index = section * pc.layout_blocks + row / pc.layout_rows;
    begin = layout_word(index);
    end = layout_word(index + 1u);
}

// Range i: its first key, its end (exclusive) and whether it is masked.
uvec2 layout_range(uint i)
{
    const uint base = pc.sections * pc.layout_blocks + 1u;
    return uvec2(layout_word(base + 2u * i), layout_word(base + 2u * i + 1u));
}

// A masked range cut to the keys rows [first, first + count) can see at all, for the
// band patterns (layout blocks may span more rows than one invocation or workgroup, and
// a band's masked edges are as wide as the block).
uvec2 clip_to_rows(uvec2 range, uint first, uint count)
{
    const uint p0 = pc.pattern_params[0], p1 = pc.pattern_params[1], i = first + pc.pattern_params[2];
    const bool band = pc.pattern == PATTERN_LOCAL || (pc.pattern == PATTERN_LONGFORMER && i >= p1);
    if (!band)
        return range;
    const uint lo = i > p0 ? i - p0 : 0u, hi = i + count + p0; // keys [lo, hi)
    // Longformer's global keys [0, p1) stay: a merged range may start among them.
    const bool keeps_globals = pc.pattern == PATTERN_LONGFORMER && range.x < p1;
    return uvec2(keeps_globals ? range.x : max(range.x, lo), min(range.y, hi));
}

// Range i as rows [first, first + count) walk it: its keys, none at or past key_end (a
// masked range cut to the keys the rows can see at all), and whether it is masked.
uvec2 range_keys(uint i, uint first, uint count, uint key_end, out bool masked)
{
    const uvec2 bounds = layout_range(i);
    masked = (bounds.y & SPARSE_MASKED) != 0u;
    const uvec2 keys = uvec2(bounds.x, min(bounds.y & ~SPARSE_MASKED, key_end));
    return masked ? clip_to_rows(keys, first, count) : keys;
}

// The keys every one of rows [first, first + count) sees under a band pattern: no need
// to ask pattern_allows there. Empty for the other patterns.
uvec2 rows_see_all(uint first, uint count)
{
    const uint p0 = pc.pattern_params[0], p1 = pc.pattern_params[1], i = first + pc.pattern_params[2];
    const bool band = pc.pattern == PATTERN_LOCAL || (pc.pattern == PATTERN_LONGFORMER && i >= p1);
    const uint last = i + count - 1u;
    if (!band || last > i + 2u * p0) // rows further apart than the band is wide share no key
        return uvec2(0u);
    return uvec2(last > p0 ? last - p0 : 0u, i + p0 + 1u);
}

// Whether query row `row` (position row + p2: the queries are the sequence's last
// positions) may see key j under the pattern (p0, p1 its parameters).
bool pattern_allows(uint row, uint j, uint head)
{
    const uint p0 = pc.pattern_params[0], p1 = pc.pattern_params[1], i = row + pc.pattern_params[2];
    const int d = int(i) - int(j);
    if (pc.pattern == PATTERN_LOCAL) // window p0 each side
        return abs(d) <= int(p0);
    if (pc.pattern == PATTERN_LONGFORMER) // window p0, the first p1 tokens global
        return abs(d) <= int(p0) || i < p1 || j < p1;
    if (pc.pattern == PATTERN_STRIDED) // stride p0, causal
        return d >= 0 && (d < int(p0) || uint(d) % p0 == 0u);
    if (pc.pattern == PATTERN_FIXED) // stride p0, the last p1 tokens of earlier blocks, causal
        return d >= 0 && (j / p0 == i / p0 || j % p0 >= p0 - p1);
    if (pc.pattern == PATTERN_BLOCKWISE) // p0 blocks of n = p1 tokens; head h sees block + h
        return (j * p0 / p1) == ((i * p0 / p1) + head) % p0;
    return true;
}
