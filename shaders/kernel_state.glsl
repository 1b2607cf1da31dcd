// Layouts shared by the kernel-attention shaders (feature_map, kstate_*, kattn_apply).
//
// Feature rows: F features, zero padding to F4 vec4, then (s, 0, 0, 0): φ = features·e^s.
// A state is S' = Σ_j w_j φ(k_j) [v_j, 1]ᵀ: F rows of DV14 vec4 (column Dv holds the
// normaliser z = Σ w_j φ(k_j)), then one statistics row: (L, M, 0, 0 ...) where the
// weights were w_j = e^(s_j − M) (M: the state's stabiliser) and L is a block's own
// largest s (blocks only). A tensor of states holds STATE_ROWS = F + 1 rows per state.

// v_j with a 1 appended at column dv, as the vec4 number c of the row.
vec4 vka_value_with_one(vec4 value, uint c, uint dv)
{
    if (c == dv / 4)
        value[dv % 4] = 1.0;
    return value;
}
