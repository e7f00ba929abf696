//! Finding adapters: what wgpu sees on this machine, and which one a
//! context opens.

/// One adapter wgpu can see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    /// The adapter's name.
    pub name: String,
    /// `DiscreteGpu`, `IntegratedGpu`, `VirtualGpu`, `Cpu` or `Other`.
    pub device_type: String,
    /// The graphics API (`Vulkan`, `Metal`, `Dx12`, ...).
    pub backend: String,
    /// True for real GPUs (discrete, integrated or virtual), which
    /// `Backend::Auto` prefers to the CPU backend.
    pub hardware: bool,
    /// The largest texture side the adapter allows. Larger images are
    /// resampled (or cropped to the canvas) on the CPU before upload.
    pub max_texture_side: u32,
}

fn is_hardware(t: wgpu::DeviceType) -> bool {
    matches!(
        t,
        wgpu::DeviceType::DiscreteGpu
            | wgpu::DeviceType::IntegratedGpu
            | wgpu::DeviceType::VirtualGpu
    )
}

fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    if desc.backends.is_empty() {
        desc.backends = wgpu::Backends::PRIMARY;
    }
    wgpu::Instance::new(desc)
}

pub(super) fn summarize(a: &wgpu::Adapter) -> AdapterSummary {
    let info = a.get_info();
    AdapterSummary {
        name: info.name.clone(),
        device_type: format!("{:?}", info.device_type),
        backend: format!("{:?}", info.backend),
        hardware: is_hardware(info.device_type),
        max_texture_side: a.limits().max_texture_dimension_2d,
    }
}

/// Every adapter wgpu finds on this machine.
pub fn list_adapters() -> Vec<AdapterSummary> {
    let inst = instance();
    pollster::block_on(inst.enumerate_adapters(wgpu::Backends::all()))
        .iter()
        .map(summarize)
        .collect()
}

/// The best adapter: hardware first, discrete before integrated. With
/// `hardware_only`, only a real GPU qualifies; otherwise software adapters
/// do too. `None` when none qualifies.
pub(super) fn best_adapter(hardware_only: bool) -> Option<wgpu::Adapter> {
    let inst = instance();
    let mut adapters = pollster::block_on(inst.enumerate_adapters(wgpu::Backends::all()));
    adapters.sort_by_key(|a| match a.get_info().device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    });
    adapters
        .into_iter()
        .find(|a| !hardware_only || is_hardware(a.get_info().device_type))
}
