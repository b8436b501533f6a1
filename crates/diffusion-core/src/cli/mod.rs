//! What every domain binary shares on its command line: the arguments of a training run
//! (config file, `--set` overrides, run directory, resume, fine-tuning), logging set-up,
//! number lists and the `report` subcommand. Domains flatten [`RunArgs`] into their own
//! argument structs and add their shortcuts, so all binaries read the same way.

pub mod demo;
pub mod sweep;
pub mod sweep_table;

use crate::config_file::load_config;
use crate::error::{CoreError, Result};
use crate::paths::resolve_path;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// The `[run]` section every domain config has: where a run writes its files and on which
/// backend it computes.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Run directory (default: `runs/<config file stem>`).
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Compute backend (`flex`, `ndarray`, `wgpu`, `cuda`; default: the build's CPU backend).
    #[serde(default)]
    pub backend: Option<String>,
}

/// Config file, overrides and run directory of a training command.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct RunArgs {
    /// TOML experiment config (see `configs/`). With `--resume` and no config, the run
    /// directory's own `config.toml` is used.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Override any config key, e.g. `--set train.steps=500` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Run directory (default: `run.dir`, else `runs/<config stem>`).
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
    /// Continue the run in the run directory from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Start from the weights of this checkpoint (fine-tuning).
    #[arg(long)]
    pub init_from: Option<PathBuf>,
    /// Shortcut for `--set train.steps=N`.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Shortcut for `--set run.backend=B`.
    #[arg(long)]
    pub backend: Option<String>,
    /// Data-parallel training on N devices (cuda:0..N−1; on a CPU backend N threads share the
    /// CPU). Each device runs `train.grad_accum` micro-batches of `train.batch_size` per step.
    #[arg(long)]
    pub devices: Option<usize>,
}

impl RunArgs {
    /// Put `trainer` on `--devices N` devices of `backend` (nothing without the flag).
    pub fn apply_devices<O: crate::train::Objective>(
        &self,
        trainer: &mut crate::train::Trainer<O>,
        backend: Option<&str>,
    ) -> Result<()> {
        if let Some(n) = self.devices {
            trainer.set_devices(crate::backend::devices(backend, n)?)?;
            tracing::info!(devices = n, "data-parallel training");
        }
        Ok(())
    }

    /// The config file: `--config`, or the run directory's `config.toml` when resuming.
    pub fn config_path(&self) -> Option<PathBuf> {
        match (&self.config, &self.run_dir) {
            (Some(c), _) => Some(resolve_path(c)),
            (None, Some(d)) if self.resume => Some(d.join("config.toml")),
            _ => None,
        }
    }

    /// `--set` overrides followed by the shortcuts, then the domain's `extra` overrides
    /// (its own shortcuts), which therefore win.
    pub fn overrides(&self, extra: &[String]) -> Vec<String> {
        let mut o = self.set.clone();
        if let Some(s) = self.steps {
            o.push(format!("train.steps={s}"));
        }
        if let Some(b) = &self.backend {
            o.push(format!("run.backend=\"{b}\""));
        }
        o.extend_from_slice(extra);
        o
    }

    /// The config with file and command-line overrides applied.
    pub fn load<C: DeserializeOwned>(&self, extra: &[String]) -> Result<C> {
        load_config(self.config_path().as_deref(), &self.overrides(extra))
    }

    /// The run directory: `--run-dir`, else the config's `run.dir`, else
    /// `runs/<config stem>` (or `runs/<fallback>` without a config file).
    pub fn run_dir(&self, configured: Option<&Path>, fallback: &str) -> PathBuf {
        if let Some(d) = &self.run_dir {
            return d.clone();
        }
        if let Some(d) = configured {
            return d.to_path_buf();
        }
        let stem = self
            .config
            .as_deref()
            .and_then(Path::file_stem)
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| fallback.to_string());
        PathBuf::from("runs").join(stem)
    }
}

/// Logs to stderr through `tracing`, level from `RUST_LOG` (default `info`). Colour only when
/// stderr is a terminal and `NO_COLOR` is unset, so logs redirected to a file stay plain text.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second initialisation (tests calling `main` twice) is harmless; ignore it.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(log_colour(
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
            std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        ))
        .try_init();
}

/// Whether log lines carry ANSI colour codes.
fn log_colour(stderr_is_terminal: bool, no_color: bool) -> bool {
    stderr_is_terminal && !no_color
}

/// Nothing a user produced is replaced without asking: an output folder must be missing or
/// empty, an output file missing, unless `force` (the binaries' `--force`). Checked before
/// any work is done. `flag` names the option in the error.
pub fn check_output(path: &Path, flag: &str, force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    let taken = if path.is_dir() {
        std::fs::read_dir(path)
            .map_err(|e| CoreError::io(path, e))?
            .next()
            .is_some()
    } else {
        path.exists()
    };
    if taken {
        return Err(CoreError::config(
            flag,
            format!(
                "{} already holds earlier results; choose another {flag} or pass --force to replace them",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Bytes free for an unprivileged writer on the file system that holds `path` (or its
/// nearest existing ancestor); None where it cannot be asked.
pub fn free_space(path: &Path) -> Option<u64> {
    let mut p = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    while !p.exists() {
        p = p.parent()?.to_path_buf();
    }
    free_space_at(&p)
}

#[cfg(unix)]
fn free_space_at(p: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized out-parameter.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| (st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

#[cfg(not(unix))]
fn free_space_at(_: &Path) -> Option<u64> {
    None
}

/// Refuse, before any work, an output of about `bytes` that cannot fit where it goes
/// (`flag` names the option): e.g. `-n 1000000000000` molecules. Streamed outputs have no
/// memory limit, so the disk is what bounds them.
pub fn check_output_size(path: &Path, flag: &str, bytes: u128) -> Result<()> {
    let Some(free) = free_space(path) else {
        return Ok(());
    };
    if bytes > free as u128 {
        let gib = |b: f64| b / (1u64 << 30) as f64;
        return Err(CoreError::config(
            flag,
            format!(
                "the samples would take about {:.1} GiB in {}, which has {:.1} GiB free",
                gib(bytes as f64),
                path.display(),
                gib(free as f64)
            ),
        ));
    }
    Ok(())
}

/// Parse a comma-separated list of numbers (`0,1,2.5`); the error names the bad item.
pub fn parse_list(s: &str) -> Result<Vec<f64>> {
    s.split(',')
        .map(|x| {
            x.trim().parse::<f64>().map_err(|_| {
                CoreError::config("list", format!("`{}` in `{s}` is not a number", x.trim()))
            })
        })
        .collect()
}

/// The config section `[name]` a command needs, or an error naming it; `hint` (e.g. ` (kind =
/// "mdlm" | "udlm")`) says what goes in it.
pub fn section<T: Clone>(value: &Option<T>, name: &str, hint: &str) -> Result<T> {
    value.clone().ok_or_else(|| {
        CoreError::config(
            format!("[{name}]"),
            format!("the config has no such section{hint}"),
        )
    })
}

/// An error naming `what` if the file `p` does not exist.
pub fn require_file(p: &Path, what: &str) -> Result<()> {
    if !crate::paths::resolve_checkpoint(p).is_file() {
        return Err(CoreError::io(
            p,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{what} does not exist"),
            ),
        ));
    }
    Ok(())
}

/// `report` arguments.
#[derive(clap::Args, Clone, Debug)]
pub struct ReportArgs {
    /// A run directory written by `train` or `train-classifier`.
    pub run_dir: PathBuf,
}

/// The `report` subcommand: draw a run directory's curves and print its summary.
pub fn print_report(run_dir: &Path) -> Result<()> {
    for f in crate::report::render_run(run_dir)? {
        println!("wrote {}", f.display());
    }
    let summary = run_dir.join("summary.json");
    if summary.is_file() {
        let text = std::fs::read_to_string(&summary).map_err(|e| CoreError::io(&summary, e))?;
        println!("{text}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_larger_than_the_disk_are_refused() {
        let dir = std::env::temp_dir().join("gdd-free-space/not/yet/made");
        let free = free_space(&dir).expect("statvfs answers on unix");
        assert!(free > 0);
        assert!(check_output_size(&dir, "-n", 1024).is_ok());
        let e = check_output_size(&dir, "-n", free as u128 * 2 + (1 << 40))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`-n`") && e.contains("GiB free"), "{e}");
    }

    #[test]
    fn overrides_put_shortcuts_after_set_and_domain_last() {
        let a = RunArgs {
            set: vec!["train.lr=0.1".into()],
            steps: Some(5),
            backend: Some("ndarray".into()),
            ..Default::default()
        };
        assert_eq!(
            a.overrides(&["diffusion.kind=\"udlm\"".into()]),
            vec![
                "train.lr=0.1".to_string(),
                "train.steps=5".into(),
                "run.backend=\"ndarray\"".into(),
                "diffusion.kind=\"udlm\"".into()
            ]
        );
    }

    #[test]
    fn outputs_are_not_replaced_without_force() {
        let root = std::env::temp_dir().join(format!("gdd-out-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        assert!(
            check_output(&root, "--out", false).is_ok(),
            "missing folder"
        );
        std::fs::create_dir_all(&root).unwrap();
        assert!(check_output(&root, "--out", false).is_ok(), "empty folder");
        let f = root.join("samples.smi");
        std::fs::write(&f, "C\n").unwrap();
        let e = check_output(&root, "--out", false).unwrap_err().to_string();
        assert!(
            e.contains("--force") && e.contains(&root.display().to_string()),
            "{e}"
        );
        assert!(check_output(&f, "--out", false).is_err(), "existing file");
        assert!(check_output(&f, "--out", true).is_ok());
        assert!(check_output(&root, "--out", true).is_ok());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn log_colour_only_on_a_terminal() {
        assert!(log_colour(true, false));
        assert!(!log_colour(false, false), "stderr redirected to a file");
        assert!(!log_colour(true, true), "NO_COLOR set");
    }

    #[test]
    fn run_dir_precedence() {
        let mut a = RunArgs {
            config: Some("configs/species-udlm.toml".into()),
            ..Default::default()
        };
        assert_eq!(a.run_dir(None, "x"), PathBuf::from("runs/species-udlm"));
        assert_eq!(a.run_dir(Some(Path::new("r")), "x"), PathBuf::from("r"));
        a.run_dir = Some("mine".into());
        assert_eq!(a.run_dir(Some(Path::new("r")), "x"), PathBuf::from("mine"));
        a.config = None;
        a.run_dir = None;
        assert_eq!(a.run_dir(None, "x"), PathBuf::from("runs/x"));
    }

    #[test]
    fn lists_parse_and_name_the_bad_item() {
        assert_eq!(parse_list("0, 1,2.5").ok(), Some(vec![0.0, 1.0, 2.5]));
        let e = parse_list("1,x")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("`x`"), "{e}");
    }
}
