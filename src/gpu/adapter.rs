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
    /// The driver's name (`llvmpipe`, `NVIDIA`, ...); empty when the
    /// graphics API does not report it.
    pub driver: String,
    /// The driver's version and details (`Mesa 24.0.5 (LLVM 17.0.6)`,
    /// `550.54.15`, ...); empty when not reported.
    pub driver_info: String,
}

impl AdapterSummary {
    /// The driver's name and version on one line (`llvmpipe Mesa 24.0.5`),
    /// or `None` when the graphics API reports neither.
    pub fn driver_line(&self) -> Option<String> {
        let line = format!("{} {}", self.driver.trim(), self.driver_info.trim());
        let line = line.trim();
        (!line.is_empty()).then(|| line.to_string())
    }
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
        driver: info.driver.clone(),
        driver_info: info.driver_info.clone(),
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

/// Set once `Backend::Auto` has probed and found no hardware adapter: later
/// renderers in this process choose the CPU without probing again.
static NO_HARDWARE_ADAPTER: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Why `Backend::Auto` can choose the CPU without asking wgpu (which loads
/// the Vulkan drivers and opens every adapter, software ones included:
/// about 100 ms and 50 MB), or `None` when it must probe.
///
/// On Linux a hardware GPU is reachable only through a device node:
/// `/dev/dri/renderD*` or `/dev/dri/card*` (Mesa and most drivers),
/// `/dev/nvidia*` (NVIDIA's driver) or `/dev/dxg` (WSL 2); with none of
/// them there is no hardware adapter to find. Elsewhere this only
/// remembers an earlier probe of this process that found none.
pub(crate) fn auto_needs_no_probe() -> Option<&'static str> {
    if NO_HARDWARE_ADAPTER.load(std::sync::atomic::Ordering::Relaxed) {
        return Some("an earlier probe in this process found no hardware GPU adapter");
    }
    if cfg!(target_os = "linux") && !linux_gpu_device_node(std::path::Path::new("/dev")) {
        return Some("no GPU device node (/dev/dri, /dev/nvidia*, /dev/dxg)");
    }
    None
}

/// Remembers, for this process, that probing found no hardware adapter.
pub(crate) fn remember_no_hardware_adapter() {
    NO_HARDWARE_ADAPTER.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether `dev` (Linux's `/dev`) holds a node a hardware GPU is reached by.
fn linux_gpu_device_node(dev: &std::path::Path) -> bool {
    let names = |dir: &std::path::Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let dri = names(&dev.join("dri"))
        .iter()
        .any(|n| n.starts_with("renderD") || n.starts_with("card"));
    dri || names(dev)
        .iter()
        .any(|n| n.starts_with("nvidia") || n == "dxg")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_driver_line_joins_name_and_version_and_is_none_when_both_are_empty() {
        let mut a = AdapterSummary {
            name: "llvmpipe (LLVM 17.0.6, 256 bits)".into(),
            device_type: "Cpu".into(),
            backend: "Vulkan".into(),
            hardware: false,
            max_texture_side: 8192,
            driver: "llvmpipe".into(),
            driver_info: "Mesa 24.0.5".into(),
        };
        assert_eq!(a.driver_line().as_deref(), Some("llvmpipe Mesa 24.0.5"));
        a.driver_info.clear();
        assert_eq!(a.driver_line().as_deref(), Some("llvmpipe"));
        a.driver = " ".into();
        assert_eq!(a.driver_line(), None);
    }

    #[test]
    fn gpu_device_nodes_are_recognised_and_their_absence_too() {
        let dev = tempfile::tempdir().expect("temporary folder");
        let touch = |p: &str| std::fs::write(dev.path().join(p), b"").expect("write");
        touch("null");
        touch("tty0");
        assert!(!linux_gpu_device_node(dev.path()));
        std::fs::create_dir(dev.path().join("dri")).expect("mkdir");
        touch("dri/by-path");
        assert!(!linux_gpu_device_node(dev.path()));
        touch("dri/renderD128");
        assert!(linux_gpu_device_node(dev.path()));
        for node in ["nvidia0", "nvidiactl", "dxg"] {
            let other = tempfile::tempdir().expect("temporary folder");
            std::fs::write(other.path().join(node), b"").expect("write");
            assert!(linux_gpu_device_node(other.path()), "{node}");
        }
    }
}
