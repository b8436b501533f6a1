//! Paths in configs and command lines: shipped data, configs and checkpoints are named
//! relative to the repository root, and must be found from any working directory.

use std::path::{Path, PathBuf};

/// `p` as given if it is absolute or exists, else relative to the repository root (where the
/// shipped `datasets/`, `configs/` and `checkpoints/` live), else as given (so the error that
/// follows names the user's path).
pub fn resolve_path(p: &Path) -> PathBuf {
    if p.is_absolute() || p.exists() {
        return p.to_path_buf();
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(p);
    if repo.exists() { repo } else { p.to_path_buf() }
}
