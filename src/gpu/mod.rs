//! The GPU backend: wgpu compute shaders (`shaders/*.wgsl`) that implement
//! the same formulas as the CPU backend, on a premultiplied `f32` canvas.
//!
//! A render runs in two steps, after the manner of glyphon: `prepare` takes
//! every resource from the [`pool`] and uploads every input (uniforms, gradient
//! stops, image textures, text rasters), then the passes are recorded into one
//! command encoder (resampling passes, one pass per layer, the encode pass,
//! and the copy into a staging buffer whose rows are padded to 256 bytes),
//! submitted, and read back with the device polled under a time limit. Every
//! resource goes back to the pool afterwards.
//!
//! | module | what it holds |
//! |---|---|
//! | `adapter` | adapter listing and choice |
//! | `context` | [`GpuContext`]: device, pipelines, fixed tables, pool access |
//! | `device` | [`GpuDevice`]: the current context, reopened after a loss; the breaker |
//! | `shaders` | the WGSL sources, entry points and binding numbers |
//! | `params` | the typed uniforms (`LayerParams`, ...) and their codes |
//! | `pool`, `loans` | pooled resources, and a render's loans behind typed handles |
//! | `uploads` | uniforms, tables, textures and scratch space, uploaded |
//! | `text`, `glyphs` | text layers drawn by glyphon into one texture |
//! | `prepare`, `resample` | per-layer uploads from the plan; resampling setup |
//! | `placed` | the resampled-image cache on the device |
//! | `passes` | bind groups and pass recording |
//! | `frame` | one render: tiles, error scopes, submission |
//! | `readback` | staging, mapping, unpadding: [`Pending`] |
//! | `phases`, `timestamps` | the `IMPASTO_GPU_PHASES` breakdown (GPU timestamps where the adapter has them) and the `IMPASTO_GPU_OVERLAP` switch |
//!
//! The Rust/WGSL contract (struct layouts, kind, space and blend codes,
//! binding numbers, entry points) is checked by `contract_tests` with naga.

mod adapter;
mod context;
#[cfg(test)]
mod contract_tests;
mod device;
mod draw;
mod frame;
pub(crate) mod glyphs;
mod loans;
mod params;
mod passes;
mod phases;
mod placed;
pub mod pool;
mod prepare;
mod readback;
mod resample;
mod shaders;
mod text;
mod timestamps;
mod uploads;

pub(crate) use adapter::{auto_needs_no_probe, remember_no_hardware_adapter};
pub use adapter::{list_adapters, AdapterSummary};
pub(crate) use context::GpuContext;
pub(crate) use device::GpuDevice;
pub use draw::GpuCompositor;
pub use phases::GpuPhases;
pub(crate) use readback::{Pending, Readback, Want};

/// Default byte budget of the resource pool: 512 MiB.
pub const DEFAULT_POOL_BUDGET: u64 = 512 << 20;
