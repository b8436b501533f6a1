//! Backend selection. Backends are cargo features of this crate (`flex`, the default CPU
//! backend; `ndarray`; `wgpu`; `cuda`) and one is picked at run time by name.

use crate::error::{CoreError, Result};
use burn::prelude::*;

/// The names of the backends compiled into this build, in order of preference.
pub fn available_backends() -> Vec<&'static str> {
    let mut v = Vec::new();
    if cfg!(feature = "cuda") {
        v.push("cuda");
    }
    if cfg!(feature = "wgpu") {
        v.push("wgpu");
    }
    if cfg!(feature = "flex") {
        v.push("flex");
    }
    if cfg!(feature = "ndarray") {
        v.push("ndarray");
    }
    v
}

/// The device of a backend named `name` ("flex", "ndarray", "wgpu", "cuda"), or an error that
/// lists the backends this build has.
pub fn device_by_name(name: &str) -> Result<Device> {
    let err = || {
        CoreError::config(
            "backend",
            format!(
                "backend `{name}` is not compiled in; available: {:?} (enable it with the cargo feature of the same name)",
                available_backends()
            ),
        )
    };
    match name {
        #[cfg(feature = "flex")]
        "flex" => Ok(Device::flex()),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)] // measured slower than flex; kept for comparison
        "ndarray" => Ok(Device::ndarray()),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        _ => Err(err()),
    }
}

/// The device for a backend name, or the [`default_device`] when none is given (the
/// `--backend` flag of every domain binary).
pub fn device(name: Option<&str>) -> Result<Device> {
    match name {
        Some(n) => device_by_name(n),
        None => Ok(default_device()),
    }
}

/// The preferred compiled backend (a GPU one if compiled in, else the CPU default), or the
/// one named by the `DIFFUSION_BACKEND` environment variable.
pub fn default_device() -> Device {
    if let Ok(name) = std::env::var("DIFFUSION_BACKEND")
        && let Ok(d) = device_by_name(&name)
    {
        return d;
    }
    let name = available_backends()
        .first()
        .copied()
        .expect("diffusion-core was built without any backend feature");
    device_by_name(name).expect("compiled backend")
}

/// Whether `device` keeps tensors in host memory (the `flex` and `ndarray` backends, with or
/// without autodiff), so the fused CPU operations of `dit::fused_gelu` and `dit::fused_attention`
/// apply.
pub fn is_host_device(device: &Device) -> bool {
    let inner = device.clone().inner();
    #[cfg(feature = "flex")]
    if inner == Device::flex() {
        return true;
    }
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)] // kept as the comparison backend
    if inner == Device::ndarray() {
        return true;
    }
    let _ = inner;
    false
}

/// Whether `device` is the `flex` backend (with or without autodiff), the one backend with the
/// fused training attention of `dit::fused_rotary_attention_grad`.
pub fn is_flex_device(device: &Device) -> bool {
    #[cfg(feature = "flex")]
    if device.clone().inner() == Device::flex() {
        return true;
    }
    let _ = device;
    false
}

/// `n` devices of the backend named `name` (or the default backend) for data-parallel training:
/// `cuda:0 … cuda:n−1` for CUDA; on a CPU backend every "device" is the same CPU (threads on
/// one machine — it exercises the multi-device path, it is not faster). wgpu picks its device
/// itself, so only one is supported.
pub fn devices(name: Option<&str>, n: usize) -> Result<Vec<Device>> {
    if n == 0 {
        return Err(CoreError::config("devices", "must be at least 1"));
    }
    let first = device(name)?;
    if n == 1 {
        return Ok(vec![first]);
    }
    let chosen = name.map(str::to_string).unwrap_or_else(|| {
        std::env::var("DIFFUSION_BACKEND")
            .ok()
            .filter(|b| available_backends().contains(&b.as_str()))
            .unwrap_or_else(|| {
                available_backends()
                    .first()
                    .copied()
                    .unwrap_or("")
                    .to_string()
            })
    });
    match chosen.as_str() {
        #[cfg(feature = "cuda")]
        "cuda" => Ok((0..n).map(Device::cuda).collect()),
        "wgpu" => Err(CoreError::config(
            "devices",
            "wgpu selects its own adapter; use one device (or the cuda backend for several GPUs)",
        )),
        _ => Ok(vec![first; n]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cpu_device_is_a_host_device() {
        assert!(is_host_device(&default_device()));
        assert!(is_host_device(&default_device().autodiff()));
    }
}
