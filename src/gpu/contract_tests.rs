//! The Rust/WGSL contract, checked on any machine (no GPU needed).

use super::shaders::{COMPOSITE_WGSL, ENCODE_WGSL, RESAMPLE_WGSL};

/// Every shader parses and validates with naga, on any machine, GPU or not.
#[test]
fn every_wgsl_module_validates_with_naga() {
    for (name, src) in [
        ("composite", COMPOSITE_WGSL),
        ("resample", RESAMPLE_WGSL),
        ("encode", ENCODE_WGSL),
    ] {
        let module = naga::front::wgsl::parse_str(src)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)));
    }
}

#[test]
fn blend_codes_in_wgsl_match_the_rust_enum() {
    for mode in crate::BlendMode::ALL {
        let name = mode.name().to_uppercase().replace('-', "_");
        let line = format!("const {name}: u32 = {}u;", mode as u32);
        assert!(
            COMPOSITE_WGSL.contains(&line),
            "shaders/blend.wgsl lacks {line:?}"
        );
    }
}
