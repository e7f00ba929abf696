// The compute path: one layer composited onto the premultiplied f32 storage
// canvas by one dispatch over its region, the blend done in the shader
// (`composite`, blend.wgsl). Kept beside the fragment path (draw.wgsl) for
// measurement: `GpuCompositor::Compute`. Prepended: color.wgsl, blend.wgsl,
// layer.wgsl.

// Binding number: `shaders::composite` in src/gpu/shaders.rs.
const B_CANVAS: u32 = 1u;
@group(0) @binding(B_CANVAS) var<storage, read_write> canvas: array<vec4<f32>>;

@compute @workgroup_size(16, 16)
fn composite_layer(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= lp.size.x || id.y >= lp.size.y) { return; }
    let x = lp.origin.x + id.x;
    let y = lp.origin.y + id.y;
    let i = y * lp.canvas.x + x;
    canvas[i] = composite(lp.mode, layer_source(x, y), canvas[i]);
}
