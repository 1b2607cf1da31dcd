#version 450
// Exact softmax attention, the CPU-class flash kernel (block-sparse): flash_attn_cpu.glsl.
#extension GL_GOOGLE_include_directive : require
#pragma vka_kernel(flash_sparse, cpu)
#define VKA_SPARSE 1
#include "flash_attn_cpu.glsl"
