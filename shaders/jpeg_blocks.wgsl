// The GPU's half of a baseline JPEG: the encode pass's straight 8-bit pixels
// flattened over white, converted to YCbCr, chroma subsampled, transformed
// by the forward DCT and quantised, into the blocks that
// src/codec/jpeg_blocks.rs entropy-codes on the CPU. One invocation per
// 8x8 block. Keep in sync with src/codec/jpeg_blocks.rs (`BlockLayout`: the
// block order; `JpegTables::quantisers`: the table) and its tests'
// `reference_blocks` (the same arithmetic on the CPU, which the GPU tests
// compare with these blocks value for value):
// - flattening: src/codec/output.rs `flatten_pixels_over_white`;
// - colour: jpeg-encoder's fixed-point `rgb_to_ycbcr`;
// - 4:2:0 chroma: the top-left pixel of each 2x2 (jpeg-encoder's default);
// - edges: the last column and row repeated;
// - DCT: libjpeg's integer "islow" (jfdctint.c), exactly;
// - quantiser: jpeg-encoder's `(|x| + correction) * reciprocal >> 15`.

// Keep in sync with `JpegParams` in src/gpu/params.rs (32 bytes;
// src/gpu/contract_tests.rs compares names, offsets and types).
struct JpegParams {
    size: vec2<u32>,
    mcus: vec2<u32>,
    subsampled: u32,
    blocks: u32,
    _pad0: u32,
    _pad1: u32,
}

// Binding numbers: `shaders::jpeg` in src/gpu/shaders.rs.
const B_PARAMS: u32 = 0u;
const B_PIXELS: u32 = 1u;
const B_QUANT: u32 = 2u;
const B_BLOCKS: u32 = 3u;

@group(0) @binding(B_PARAMS) var<uniform> jp: JpegParams;
// The encode pass's output: straight 8-bit sRGB.
@group(0) @binding(B_PIXELS) var pixels: texture_2d<u32>;
// Per table (luma, then chroma) and zigzag position: reciprocal,
// correction, natural index, unused.
@group(0) @binding(B_QUANT) var<storage, read> quant: array<vec4<i32>, 128>;
// Every block's 64 coefficients in zigzag order, two i16 to a word (the
// even one in the low half).
@group(0) @binding(B_BLOCKS) var<storage, read_write> blocks: array<u32>;

const CONST_BITS: u32 = 13u;
const PASS1_BITS: u32 = 2u;

// Component `c` (0 Y, 1 Cb, 2 Cr) of pixel (x, y), edges repeated, less 128.
fn sample(x: u32, y: u32, c: u32) -> i32 {
    let q = vec2<i32>(i32(min(x, jp.size.x - 1u)), i32(min(y, jp.size.y - 1u)));
    let p = textureLoad(pixels, q, 0);
    var rgb = vec3<i32>(p.rgb);
    if (p.a != 255u) {
        let v = p.rgb * p.a + vec3<u32>(255u * (255u - p.a) + 127u);
        rgb = vec3<i32>((v + vec3<u32>(1u) + (v >> vec3<u32>(8u))) >> vec3<u32>(8u));
    }
    var v: i32;
    if (c == 0u) {
        v = 19595 * rgb.r + 38470 * rgb.g + 7471 * rgb.b;
    } else if (c == 1u) {
        v = -11059 * rgb.r - 21709 * rgb.g + 32768 * rgb.b + (128 << 16u);
    } else {
        v = 32768 * rgb.r - 27439 * rgb.g - 5329 * rgb.b + (128 << 16u);
    }
    return ((v + 0x7FFF) >> 16u) - 128;
}

fn descale(x: i32, n: u32) -> i32 {
    return (x + (1 << (n - 1u))) >> n;
}

// One 1-D pass of the islow DCT. The first pass scales its even outputs up
// by PASS1_BITS; the second takes that scaling out again.
fn dct8(v: array<i32, 8>, first: bool) -> array<i32, 8> {
    let tmp0 = v[0] + v[7];
    let tmp7 = v[0] - v[7];
    let tmp1 = v[1] + v[6];
    let tmp6 = v[1] - v[6];
    let tmp2 = v[2] + v[5];
    let tmp5 = v[2] - v[5];
    let tmp3 = v[3] + v[4];
    let tmp4 = v[3] - v[4];
    let tmp10 = tmp0 + tmp3;
    let tmp13 = tmp0 - tmp3;
    let tmp11 = tmp1 + tmp2;
    let tmp12 = tmp1 - tmp2;
    var odd = CONST_BITS + PASS1_BITS;
    var o: array<i32, 8>;
    if (first) {
        odd = CONST_BITS - PASS1_BITS;
        o[0] = (tmp10 + tmp11) << PASS1_BITS;
        o[4] = (tmp10 - tmp11) << PASS1_BITS;
    } else {
        o[0] = descale(tmp10 + tmp11, PASS1_BITS);
        o[4] = descale(tmp10 - tmp11, PASS1_BITS);
    }
    let z1 = (tmp12 + tmp13) * 4433;
    o[2] = descale(z1 + tmp13 * 6270, odd);
    o[6] = descale(z1 - tmp12 * 15137, odd);
    let z5 = (tmp4 + tmp6 + tmp5 + tmp7) * 9633;
    let y1 = -(tmp4 + tmp7) * 7373;
    let y2 = -(tmp5 + tmp6) * 20995;
    let y3 = -(tmp4 + tmp6) * 16069 + z5;
    let y4 = -(tmp5 + tmp7) * 3196 + z5;
    o[7] = descale(tmp4 * 2446 + y1 + y3, odd);
    o[5] = descale(tmp5 * 16819 + y2 + y4, odd);
    o[3] = descale(tmp6 * 25172 + y2 + y3, odd);
    o[1] = descale(tmp7 * 12299 + y1 + y4, odd);
    return o;
}

// Coefficient `k` (zigzag order) of table `t` (0 or 64) quantised.
fn quantise(d: ptr<function, array<i32, 64>>, at: u32) -> u32 {
    let q = quant[at];
    let v = (*d)[q.z];
    let m = ((abs(v) + q.y) * q.x) >> 15u;
    return u32(select(m, -m, v < 0)) & 0xFFFFu;
}

@compute @workgroup_size(64)
fn jpeg_blocks(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    // Dispatches of more than 65535 groups are two-dimensional.
    let index = id.x + id.y * groups.x * 64u;
    if (index >= jp.blocks) { return; }
    let sub = jp.subsampled != 0u;
    let per_mcu = select(3u, 6u, sub);
    let luma = select(1u, 4u, sub);
    let side = select(8u, 16u, sub);
    let mcu = index / per_mcu;
    let b = index % per_mcu;
    let x0 = (mcu % jp.mcus.x) * side;
    let y0 = (mcu / jp.mcus.x) * side;
    var c = 0u;
    var step = 1u;
    var ox = 0u;
    var oy = 0u;
    if (b < luma) {
        ox = (b % 2u) * 8u;
        oy = (b / 2u) * 8u;
    } else {
        c = b - luma + 1u;
        step = side / 8u;
    }
    var d: array<i32, 64>;
    for (var y = 0u; y < 8u; y++) {
        var row: array<i32, 8>;
        for (var x = 0u; x < 8u; x++) {
            row[x] = sample(x0 + ox + x * step, y0 + oy + y * step, c);
        }
        let o = dct8(row, true);
        for (var x = 0u; x < 8u; x++) {
            d[y * 8u + x] = o[x];
        }
    }
    for (var x = 0u; x < 8u; x++) {
        var col: array<i32, 8>;
        for (var y = 0u; y < 8u; y++) {
            col[y] = d[y * 8u + x];
        }
        let o = dct8(col, false);
        for (var y = 0u; y < 8u; y++) {
            // Kept as an i16, as jpeg-encoder keeps it.
            d[y * 8u + x] = (o[y] << 16u) >> 16u;
        }
    }
    let t = select(0u, 64u, c > 0u);
    for (var k = 0u; k < 32u; k++) {
        let lo = quantise(&d, t + 2u * k);
        let hi = quantise(&d, t + 2u * k + 1u);
        blocks[index * 32u + k] = lo | (hi << 16u);
    }
}
