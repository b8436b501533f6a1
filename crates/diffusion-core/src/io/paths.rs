//! Paths in configs and command lines: shipped data, configs and checkpoints are named
//! relative to the repository root, and must be found from any working directory — in the
//! checkout the user is working in, not the one a binary happened to be built in.

use std::path::{Path, PathBuf};

/// Environment variable naming the project folder that holds `datasets/`, `configs/` and
/// `checkpoints/` (for an installed binary run outside any checkout).
pub const HOME_VAR: &str = "GDD_HOME";

/// `p` as given if it is absolute or exists; else relative to, in this order, `$GDD_HOME`, the
/// checkout that contains the current directory, and the checkout the binary was built from;
/// else as given (so the error that follows names the user's path). A file found outside the
/// current directory is logged with the folder it came from.
pub fn resolve_path(p: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let home = std::env::var_os(HOME_VAR).map(PathBuf::from);
    let build = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let build = std::fs::canonicalize(&build).unwrap_or(build);
    let (found, root) = resolve_in(p, &cwd, home.as_deref(), &build);
    if let Some(root) = root {
        tracing::info!("{} resolved in {}", p.display(), root.display());
    }
    found
}

/// A checkpoint path as given, or — when it names a shipped checkpoint (`checkpoints/…`) that is not
/// in the current directory — where [`resolve_path`] finds it. Other relative paths (a run's
/// `runs/…/model.ckpt`) are never looked up elsewhere, so a command cannot read another
/// checkout's run by accident.
pub fn resolve_checkpoint(p: &Path) -> PathBuf {
    if p.starts_with("checkpoints") {
        resolve_path(p)
    } else {
        p.to_path_buf()
    }
}

/// [`resolve_path`] with its inputs given: the path and, if it was found under one of the
/// roots, that root.
pub fn resolve_in(
    p: &Path,
    cwd: &Path,
    home: Option<&Path>,
    build: &Path,
) -> (PathBuf, Option<PathBuf>) {
    if p.is_absolute() || cwd.join(p).exists() {
        return (p.to_path_buf(), None);
    }
    let checkout = cwd.ancestors().find(|d| is_checkout(d));
    let roots = home
        .map(Path::to_path_buf)
        .into_iter()
        .chain(checkout.map(Path::to_path_buf))
        .chain(std::iter::once(build.to_path_buf()));
    for root in roots {
        let c = root.join(p);
        if c.exists() {
            return (c, Some(root));
        }
    }
    (p.to_path_buf(), None)
}

/// A folder that is a checkout of this project (its workspace with the core crate).
fn is_checkout(d: &Path) -> bool {
    d.join("crates/diffusion-core/Cargo.toml").is_file() && d.join("Cargo.toml").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "x").unwrap();
    }

    /// The checkout around the working directory wins over the one the binary was built in;
    /// `$GDD_HOME` wins over both; the current directory over everything.
    #[test]
    fn shipped_files_come_from_the_current_checkout_first() {
        let t = std::env::temp_dir().join(format!("gdd-paths-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&t);
        let (here, built, home) = (t.join("here"), t.join("built"), t.join("home"));
        for root in [&here, &built] {
            touch(&root.join("Cargo.toml"));
            touch(&root.join("crates/diffusion-core/Cargo.toml"));
            touch(&root.join("checkpoints/m.ckpt"));
        }
        touch(&built.join("checkpoints/only-built.ckpt"));
        let cwd = here.join("crates/molecules");
        std::fs::create_dir_all(&cwd).unwrap();
        let p = Path::new("checkpoints/m.ckpt");
        assert_eq!(resolve_in(p, &cwd, None, &built).1, Some(here.clone()));
        let only = Path::new("checkpoints/only-built.ckpt");
        assert_eq!(resolve_in(only, &cwd, None, &built).1, Some(built.clone()));
        touch(&home.join("checkpoints/m.ckpt"));
        assert_eq!(
            resolve_in(p, &cwd, Some(&home), &built).1,
            Some(home.clone())
        );
        assert_eq!(
            resolve_in(p, &here, Some(&home), &built),
            (p.to_path_buf(), None)
        );
        let missing = Path::new("checkpoints/none.ckpt");
        assert_eq!(
            resolve_in(missing, &cwd, None, &built),
            (missing.to_path_buf(), None)
        );
        std::fs::remove_dir_all(&t).ok();
    }

    /// Shipped checkpoints are found from inside the checkout (the tests run in the crate's
    /// folder, where `checkpoints/` is not); a run's own relative path is never looked up
    /// elsewhere.
    #[test]
    fn only_shipped_checkpoints_are_looked_up() {
        let shipped = Path::new("checkpoints/molecules/mdlm.ckpt");
        assert!(
            !shipped.exists(),
            "the test must run outside the repository root"
        );
        assert!(resolve_checkpoint(shipped).is_file());
        let run = Path::new("runs/no-such-run/model.ckpt");
        assert_eq!(resolve_checkpoint(run), run);
    }
}
