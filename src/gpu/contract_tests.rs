//! The Rust/WGSL contract, checked on any machine (no GPU needed): naga
//! parses the shaders, and every uniform struct, code, binding number and
//! entry point must equal its Rust twin. A drift on either side fails here.

use std::collections::{BTreeMap, BTreeSet};

use naga::{Expression, Literal, Module, Scalar, ScalarKind, TypeInner};

use super::params::{
    EncodeParams, JpegParams, LayerParams, PaintKind, ResampleParams, SPACE_LINEAR, SPACE_SRGB,
};
use super::shaders::{
    composite, draw, encode, jpeg, layer, resample, ResampleEntry, COMPOSITE_ENTRY, COMPOSITE_WGSL,
    DRAW_WGSL, ENCODE_ENTRY, ENCODE_TEXTURE_ENTRY, ENCODE_WGSL, FRAGMENT_BACKDROP_ENTRY,
    FRAGMENT_ONE_ENTRY, FRAGMENT_SOURCE_ENTRY, JPEG_ENTRY, JPEG_WGSL, RESAMPLE_WGSL, VERTEX_ENTRY,
};
use crate::BlendMode;

const MODULES: [(&str, &str); 5] = [
    ("composite", COMPOSITE_WGSL),
    ("draw", DRAW_WGSL),
    ("resample", RESAMPLE_WGSL),
    ("encode", ENCODE_WGSL),
    ("jpeg", JPEG_WGSL),
];

fn parse(name: &str, src: &str) -> Module {
    naga::front::wgsl::parse_str(src)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)))
}

fn validate(name: &str, src: &str, module: &Module) -> naga::valid::ModuleInfo {
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(module)
    .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)))
}

/// A struct's layout as both languages can state it: its size, and per
/// member its name, byte offset and WGSL type.
#[derive(Debug, PartialEq)]
struct Layout {
    size: usize,
    members: Vec<Member>,
}

#[derive(Debug, PartialEq)]
struct Member {
    name: String,
    offset: usize,
    ty: String,
}

/// The WGSL spelling of a Rust field type.
trait Wgsl {
    const TYPE: &'static str;
}

macro_rules! wgsl_types {
    ($($rust:ty => $wgsl:literal),* $(,)?) => {
        $(impl Wgsl for $rust { const TYPE: &'static str = $wgsl; })*
    };
}

wgsl_types! {
    u32 => "u32", i32 => "i32", f32 => "f32",
    [u32; 2] => "vec2<u32>", [i32; 2] => "vec2<i32>", [f32; 2] => "vec2<f32>",
    [u32; 4] => "vec4<u32>", [i32; 4] => "vec4<i32>", [f32; 4] => "vec4<f32>",
}

fn wgsl_type_of<S, T: Wgsl>(_field: impl Fn(&S) -> &T) -> &'static str {
    T::TYPE
}

/// The layout of Rust struct `$ty`, whose fields are listed in order. The
/// list is checked to be complete: a field missing from it does not compile.
macro_rules! rust_layout {
    ($ty:ident { $($field:ident),* $(,)? }) => {{
        #[allow(dead_code)]
        fn every_field_is_listed(v: $ty) {
            let $ty { $($field: _),* } = v;
        }
        Layout {
            size: std::mem::size_of::<$ty>(),
            members: vec![$(Member {
                name: stringify!($field).to_string(),
                offset: std::mem::offset_of!($ty, $field),
                ty: wgsl_type_of(|s: &$ty| &s.$field).to_string(),
            }),*],
        }
    }};
}

/// Holds WGSL struct `name` to the Rust layout, member by member.
fn assert_same_layout(module: &Module, name: &str, rust: Layout) {
    let wgsl = wgsl_layout(module, name);
    let count = wgsl.members.len().max(rust.members.len());
    for i in 0..count {
        let (w, r) = (wgsl.members.get(i), rust.members.get(i));
        assert_eq!(
            w, r,
            "{name}, member {i}: WGSL (left) and Rust (right) differ"
        );
    }
    assert_eq!(wgsl.size, rust.size, "{name}: WGSL and Rust sizes differ");
}

fn scalar_name(s: Scalar) -> String {
    match (s.kind, s.width) {
        (ScalarKind::Uint, 4) => "u32".into(),
        (ScalarKind::Sint, 4) => "i32".into(),
        (ScalarKind::Float, 4) => "f32".into(),
        other => format!("{other:?}"),
    }
}

fn type_name(module: &Module, ty: naga::Handle<naga::Type>) -> String {
    match &module.types[ty].inner {
        TypeInner::Scalar(s) => scalar_name(*s),
        TypeInner::Vector { size, scalar } => {
            format!("vec{}<{}>", *size as u8, scalar_name(*scalar))
        }
        other => format!("{other:?}"),
    }
}

/// The layout naga computes for WGSL struct `name`.
fn wgsl_layout(module: &Module, name: &str) -> Layout {
    let (_, ty) = module
        .types
        .iter()
        .find(|(_, t)| t.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no struct {name} in the WGSL"));
    let TypeInner::Struct { members, span } = &ty.inner else {
        panic!("{name} is not a struct in the WGSL");
    };
    Layout {
        size: *span as usize,
        members: members
            .iter()
            .map(|m| Member {
                name: m.name.clone().unwrap_or_default(),
                offset: m.offset as usize,
                ty: type_name(module, m.ty),
            })
            .collect(),
    }
}

/// Every module-scope `u32` constant, by name (the `f32` ones are in
/// [`f32_constants`]; any other type fails).
fn u32_constants(module: &Module) -> BTreeMap<String, u32> {
    module
        .constants
        .iter()
        .filter_map(|(_, c)| {
            let name = c.name.clone().unwrap_or_default();
            match module.global_expressions[c.init] {
                Expression::Literal(Literal::U32(v)) => Some((name, v)),
                Expression::Literal(Literal::F32(_)) => None,
                ref other => panic!("WGSL constant {name} is not a u32 or f32 literal: {other:?}"),
            }
        })
        .collect()
}

/// Every module-scope `f32` constant, by name.
fn f32_constants(module: &Module) -> BTreeMap<String, f32> {
    module
        .constants
        .iter()
        .filter_map(|(_, c)| match module.global_expressions[c.init] {
            Expression::Literal(Literal::F32(v)) => Some((c.name.clone().unwrap_or_default(), v)),
            _ => None,
        })
        .collect()
}

/// The snap of `t` to a gradient stop is the CPU's, in both compositing
/// paths (which share layer.wgsl).
#[test]
fn the_gradient_stop_snap_in_wgsl_is_the_cpus() {
    for (name, src) in [("composite", COMPOSITE_WGSL), ("draw", DRAW_WGSL)] {
        let consts = f32_constants(&parse(name, src));
        assert_eq!(
            consts.get("STOP_SNAP"),
            Some(&(crate::cpu::STOP_SNAP as f32)),
            "{name}"
        );
        assert_eq!(
            consts.get("STOP_SNAP_PX"),
            Some(&(crate::cpu::STOP_SNAP_PX as f32)),
            "{name}"
        );
    }
}

#[test]
fn every_wgsl_module_validates_with_naga() {
    for (name, src) in MODULES {
        validate(name, src, &parse(name, src));
    }
}

#[test]
fn layer_params_has_the_same_fields_offsets_types_and_size_in_rust_and_wgsl() {
    let rust = rust_layout!(LayerParams {
        canvas,
        origin,
        size,
        kind,
        mode,
        space,
        opacity,
        rotation,
        clip,
        box_rect,
        corner_radius,
        axis_aligned,
        nearest,
        stop_count,
        color,
        linear_step,
        linear_t0,
        radial_radius,
        radial_center,
        image_origin,
        image_size,
        text_row,
        _pad,
        placed,
        bounds,
    });
    let module = parse("composite", COMPOSITE_WGSL);
    assert_same_layout(&module, "LayerParams", rust);
}

#[test]
fn resample_params_has_the_same_fields_offsets_types_and_size_in_rust_and_wgsl() {
    let rust = rust_layout!(ResampleParams {
        dst_w,
        rows,
        taps,
        row_lo,
        space,
        band_rows,
        k0,
        col_lo,
        cols,
        _pad0,
        _pad1,
        _pad2,
    });
    let module = parse("resample", RESAMPLE_WGSL);
    assert_same_layout(&module, "ResampleParams", rust);
}

#[test]
fn encode_params_has_the_same_fields_offsets_types_and_size_in_rust_and_wgsl() {
    let rust = rust_layout!(EncodeParams {
        canvas,
        space,
        _pad
    });
    let module = parse("encode", ENCODE_WGSL);
    assert_same_layout(&module, "EncodeParams", rust);
}

#[test]
fn jpeg_params_has_the_same_fields_offsets_types_and_size_in_rust_and_wgsl() {
    let rust = rust_layout!(JpegParams {
        size,
        mcus,
        subsampled,
        blocks,
        _pad0,
        _pad1
    });
    let module = parse("jpeg", JPEG_WGSL);
    assert_same_layout(&module, "JpegParams", rust);
}

/// The JPEG pass's DCT constants are libjpeg's (jfdctint.c), as in the
/// CPU reference of `codec::jpeg_blocks`' tests.
#[test]
fn the_jpeg_passs_dct_constants_are_libjpegs() {
    let consts = u32_constants(&parse("jpeg", JPEG_WGSL));
    assert_eq!(consts.get("CONST_BITS"), Some(&13));
    assert_eq!(consts.get("PASS1_BITS"), Some(&2));
}

#[test]
fn kind_codes_in_wgsl_equal_paint_kind_and_every_kind_has_one() {
    let consts = u32_constants(&parse("composite", COMPOSITE_WGSL));
    let rust: BTreeMap<String, u32> = PaintKind::ALL
        .iter()
        .map(|&k| (k.wgsl_name().to_string(), k as u32))
        .collect();
    let wgsl: BTreeMap<String, u32> = consts
        .into_iter()
        .filter(|(name, _)| name.starts_with("KIND_"))
        .collect();
    assert_eq!(wgsl, rust);
}

#[test]
fn blend_codes_in_wgsl_equal_blend_mode_as_u32() {
    let consts = u32_constants(&parse("composite", COMPOSITE_WGSL));
    for mode in BlendMode::ALL {
        let name = mode.name().to_uppercase().replace('-', "_");
        assert_eq!(
            consts.get(&name),
            Some(&(mode as u32)),
            "shaders/blend.wgsl: {name} should be {}",
            mode as u32
        );
    }
}

#[test]
fn space_codes_in_every_module_equal_the_rust_constants() {
    // The JPEG pass reads 8-bit sRGB whatever the blend space was.
    for (name, src) in MODULES.into_iter().filter(|(n, _)| *n != "jpeg") {
        let consts = u32_constants(&parse(name, src));
        assert_eq!(consts.get("SPACE_SRGB"), Some(&SPACE_SRGB), "{name}");
        assert_eq!(consts.get("SPACE_LINEAR"), Some(&SPACE_LINEAR), "{name}");
    }
}

/// One binding: its constant's name, the Rust value, the WGSL variable it
/// binds.
type Binding = (&'static str, u32, &'static str);

/// Per module (name, WGSL): its bindings.
fn binding_tables() -> [(&'static str, &'static str, Vec<Binding>); 5] {
    [
        (
            "composite",
            COMPOSITE_WGSL,
            vec![
                ("B_PARAMS", layer::B_PARAMS, "lp"),
                ("B_CANVAS", composite::B_CANVAS, "canvas"),
                ("B_STOPS", layer::B_STOPS, "stops"),
                ("B_SRC_TEX", layer::B_SRC_TEX, "src_tex"),
                ("B_INTER", layer::B_INTER, "inter"),
                ("B_SRGB_LUT", layer::B_SRGB_LUT, "srgb_lut"),
                ("B_TEXT_TEX", layer::B_TEXT_TEX, "text_tex"),
            ],
        ),
        (
            "draw",
            DRAW_WGSL,
            vec![
                ("B_PARAMS", draw::B_PARAMS, "lp"),
                ("B_STOPS", draw::B_STOPS, "stops"),
                ("B_SRC_TEX", draw::B_SRC_TEX, "src_tex"),
                ("B_INTER", draw::B_INTER, "inter"),
                ("B_SRGB_LUT", draw::B_SRGB_LUT, "srgb_lut"),
                ("B_TEXT_TEX", draw::B_TEXT_TEX, "text_tex"),
                ("B_BACKDROP", draw::B_BACKDROP, "backdrop"),
            ],
        ),
        (
            "resample",
            RESAMPLE_WGSL,
            vec![
                ("B_PARAMS", resample::B_PARAMS, "rp"),
                ("B_SRC_TEX", resample::B_SRC_TEX, "src_tex"),
                ("B_STARTS", resample::B_STARTS, "starts"),
                ("B_WEIGHTS", resample::B_WEIGHTS, "weights"),
                ("B_SRGB_LUT", resample::B_SRGB_LUT, "srgb_lut"),
                ("B_MID", resample::B_MID, "mid"),
                ("B_OUT", resample::B_OUT, "out_buf"),
            ],
        ),
        (
            "encode",
            ENCODE_WGSL,
            vec![
                ("B_PARAMS", encode::B_PARAMS, "ep"),
                ("B_CANVAS", encode::B_CANVAS, "acc_in"),
                ("B_OUT_TEX", encode::B_OUT_TEX, "out_tex"),
                ("B_THRESHOLDS", encode::B_THRESHOLDS, "thresholds"),
                ("B_BUCKETS", encode::B_BUCKETS, "buckets"),
                ("B_CANVAS_TEX", encode::B_CANVAS_TEX, "canvas_tex"),
            ],
        ),
        (
            "jpeg",
            JPEG_WGSL,
            vec![
                ("B_PARAMS", jpeg::B_PARAMS, "jp"),
                ("B_PIXELS", jpeg::B_PIXELS, "pixels"),
                ("B_QUANT", jpeg::B_QUANT, "quant"),
                ("B_BLOCKS", jpeg::B_BLOCKS, "blocks"),
            ],
        ),
    ]
}

/// Every bound global variable of `module`: name -> (group, binding).
fn bound_globals(module: &Module) -> BTreeMap<String, (u32, u32)> {
    module
        .global_variables
        .iter()
        .filter_map(|(_, g)| {
            let b = g.binding.as_ref()?;
            Some((g.name.clone().unwrap_or_default(), (b.group, b.binding)))
        })
        .collect()
}

#[test]
fn binding_constants_in_wgsl_equal_the_rust_ones_and_bind_the_named_variables() {
    for (name, src, table) in binding_tables() {
        let module = parse(name, src);
        let consts = u32_constants(&module);
        let wgsl_b: BTreeMap<&str, u32> = consts
            .iter()
            .filter(|(c, _)| c.starts_with("B_"))
            .map(|(c, &v)| (c.as_str(), v))
            .collect();
        let rust_b: BTreeMap<&str, u32> = table.iter().map(|&(c, v, _)| (c, v)).collect();
        assert_eq!(wgsl_b, rust_b, "{name}: binding constants");
        let want: BTreeMap<String, (u32, u32)> = table
            .iter()
            .map(|&(_, v, var)| (var.to_string(), (0, v)))
            .collect();
        assert_eq!(bound_globals(&module), want, "{name}: bound variables");
    }
}

/// The bindings the entry point `entry` of `module` uses: with
/// `layout: None`, its bind group layout has exactly these, so the Rust
/// side must bind exactly these.
fn used_bindings(module: &Module, info: &naga::valid::ModuleInfo, entry: &str) -> BTreeSet<u32> {
    let index = module
        .entry_points
        .iter()
        .position(|e| e.name == entry)
        .unwrap_or_else(|| panic!("no entry point {entry} in the WGSL"));
    let uses = info.get_entry_point(index);
    module
        .global_variables
        .iter()
        .filter(|&(h, _)| !uses[h].is_empty())
        .filter_map(|(_, g)| g.binding.as_ref().map(|b| b.binding))
        .collect()
}

#[test]
fn entry_points_exist_and_use_exactly_the_bindings_rust_binds() {
    let module = parse("composite", COMPOSITE_WGSL);
    let info = validate("composite", COMPOSITE_WGSL, &module);
    let all: BTreeSet<u32> = binding_tables()[0].2.iter().map(|b| b.1).collect();
    assert_eq!(used_bindings(&module, &info, COMPOSITE_ENTRY), all);

    // The fragment path binds every binding of draw.wgsl through one
    // explicit layout (`draw::DrawPipelines`); the entry points use these.
    let module = parse("draw", DRAW_WGSL);
    let info = validate("draw", DRAW_WGSL, &module);
    let all: BTreeSet<u32> = binding_tables()[1].2.iter().map(|b| b.1).collect();
    let source: BTreeSet<u32> = all
        .iter()
        .copied()
        .filter(|&b| b != draw::B_BACKDROP)
        .collect();
    assert_eq!(
        used_bindings(&module, &info, VERTEX_ENTRY),
        BTreeSet::from([draw::B_PARAMS])
    );
    assert_eq!(used_bindings(&module, &info, FRAGMENT_SOURCE_ENTRY), source);
    assert_eq!(used_bindings(&module, &info, FRAGMENT_BACKDROP_ENTRY), all);
    assert_eq!(
        used_bindings(&module, &info, FRAGMENT_ONE_ENTRY),
        BTreeSet::new()
    );

    // Each encode entry reads its path's canvas and nothing of the other's.
    let module = parse("encode", ENCODE_WGSL);
    let info = validate("encode", ENCODE_WGSL, &module);
    let all: BTreeSet<u32> = binding_tables()[3].2.iter().map(|b| b.1).collect();
    let without = |b: u32| {
        all.iter()
            .copied()
            .filter(|&x| x != b)
            .collect::<BTreeSet<u32>>()
    };
    assert_eq!(
        used_bindings(&module, &info, ENCODE_ENTRY),
        without(encode::B_CANVAS_TEX)
    );
    assert_eq!(
        used_bindings(&module, &info, ENCODE_TEXTURE_ENTRY),
        without(encode::B_CANVAS)
    );

    // `passes::bind_jpeg` binds every binding of the JPEG pass.
    let module = parse("jpeg", JPEG_WGSL);
    let info = validate("jpeg", JPEG_WGSL, &module);
    let all: BTreeSet<u32> = binding_tables()[4].2.iter().map(|b| b.1).collect();
    assert_eq!(used_bindings(&module, &info, JPEG_ENTRY), all);

    // `passes::bind_resample`: params, weights and the intermediate always;
    // the source and the sRGB table for first passes, the output otherwise.
    let module = parse("resample", RESAMPLE_WGSL);
    let info = validate("resample", RESAMPLE_WGSL, &module);
    for entry in ResampleEntry::ALL {
        let mut want = BTreeSet::from([
            resample::B_PARAMS,
            resample::B_STARTS,
            resample::B_WEIGHTS,
            resample::B_MID,
        ]);
        if entry.reads_texture() {
            want.extend([resample::B_SRC_TEX, resample::B_SRGB_LUT]);
        } else {
            want.insert(resample::B_OUT);
        }
        assert_eq!(
            used_bindings(&module, &info, entry.name()),
            want,
            "{entry:?}"
        );
    }
}

/// A WGSL constant that is a code (kind, space, blend mode, binding) has a
/// Rust twin checked above; any other constant must be added to a check.
#[test]
fn every_wgsl_constant_is_checked_against_rust() {
    let blend: BTreeSet<String> = BlendMode::ALL
        .iter()
        .map(|m| m.name().to_uppercase().replace('-', "_"))
        .collect();
    for (name, src) in MODULES {
        let module = parse(name, src);
        for c in f32_constants(&module).keys() {
            assert!(
                c == "STOP_SNAP" || c == "STOP_SNAP_PX",
                "{name}: WGSL constant {c} has no Rust twin checked here"
            );
        }
        for c in u32_constants(&module).keys() {
            let known = c.starts_with("KIND_")
                || c.starts_with("SPACE_")
                || c.starts_with("B_")
                || (name == "jpeg" && (c == "CONST_BITS" || c == "PASS1_BITS"))
                || ((name == "composite" || name == "draw") && blend.contains(c));
            assert!(
                known,
                "{name}: WGSL constant {c} has no Rust twin checked here"
            );
        }
    }
}
