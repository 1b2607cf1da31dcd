#version 450
// Exact softmax attention, the CPU-class flash kernel (block-sparse) with an additive mask:
// flash_attn_cpu.glsl. The mask is a fifth storage buffer: devices with four per stage
// (android-2021) cannot bind it, and the sparse patterns refuse a mask there by name.
#extension GL_GOOGLE_include_directive : require
#pragma vka_kernel(flash_sparse_mask, cpu)
#define VKA_SPARSE 1
#define VKA_MASK 1
#include "flash_attn_cpu.glsl"
