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
