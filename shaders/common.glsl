// Pieces every kernel shares. See engine/kernels/registry.h for the conventions.
//
// Tensors live in the arena as rows of vec4: the last dimension is padded to a
// multiple of 4 and the padding holds zeros (writers keep it so), so every row can be
// read with vec4 loads and dot products may run over the padding.


// The recorder's header at the start of every push-constant block: the global index
// of this dispatch's first slice ([batch, head] pair), and per binding the distance
// in vec4 from one slice to the next (0 for a binding shared by all slices).
#define VKA_PUSH_HEADER \
    uint slice_base;    \
    uint slice_stride[7];

// Running-max seed: −FLT_MAX/2 rather than −∞, so that exp(m_old − m_new) never sees
// ∞ − ∞ when a whole tile is masked (llama.cpp#12776).
const float VKA_NEG_BIG = -1.7014117e38;

const float VKA_LOG2E = 1.4426950408889634;

// kv_len[b] for a batch index, from a std140 table of ivec4.
#define VKA_KV_LEN(table, b) (table[(b) >> 2][(b) & 3u])

// Keys key < limit are visible to query `row`: the kv_len bound and, when causal, the
// bottom-right alignment j <= i + (nk − nq).
uint vka_visible_keys(uint row, uint nq, uint nk, int kv_len, bool causal)
{
    uint limit = min(uint(max(kv_len, 0)), nk);
    if (causal) {
        int last = int(row) + int(nk) - int(nq); // the last visible key, may be < 0
        limit = min(limit, uint(max(last + 1, 0)));
    }
    return limit;
}
