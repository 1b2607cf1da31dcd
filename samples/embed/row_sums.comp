#version 450
// The application's pass after vkattn's: it consumes the attention output where vkattn left
// it (the application's own buffer) and writes one sum per row of `width` elements.
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer In { float o[]; };
layout(std430, binding = 1) writeonly buffer Sums { float sums[]; };
layout(push_constant) uniform Push { uint rows, width; } pc;

void main()
{
    uint r = gl_GlobalInvocationID.x;
    if (r >= pc.rows)
        return;
    float s = 0.0;
    for (uint c = 0; c < pc.width; c++)
        s += o[r * pc.width + c];
    sums[r] = s;
}
