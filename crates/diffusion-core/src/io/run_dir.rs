//! One folder per run: `config.toml` (the resolved config), `metrics.csv` / `metrics.jsonl`,
//! `checkpoints/last.ckpt`, samples and result tables. A new run never overwrites an earlier
//! run's checkpoint: it must be resumed or given another folder.

use crate::error::{CoreError, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A run directory.
#[derive(Clone, Debug)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    /// Open `path` for a run. Without `resume`, a folder that already holds a checkpoint is an
    /// error (nothing is lost by a mistyped command); with `resume`, the checkpoint must exist.
    pub fn open(path: &Path, resume: bool) -> Result<Self> {
        let dir = Self {
            path: path.to_path_buf(),
        };
        let ck = dir.checkpoint();
        match (resume, ck.exists()) {
            (false, true) => Err(CoreError::config(
                "run.dir",
                format!(
                    "{} already holds a trained run; pass --resume to continue it or choose another --run-dir",
                    path.display()
                ),
            )),
            (true, false) => Err(CoreError::checkpoint(
                &ck,
                "nothing to resume: the file does not exist",
            )),
            _ => {
                std::fs::create_dir_all(path.join("checkpoints"))
                    .map_err(|e| CoreError::io(path, e))?;
                Ok(dir)
            }
        }
    }

    /// The training checkpoint the trainer writes and resumes from.
    pub fn checkpoint(&self) -> PathBuf {
        self.path.join("checkpoints").join("last.ckpt")
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Write `name` atomically (temporary file + rename).
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        let p = self.file(name);
        write_atomic(&p, bytes)?;
        Ok(p)
    }

    /// Write a value as pretty JSON.
    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<PathBuf> {
        let p = self.file(name);
        write_json_atomic(&p, value)?;
        Ok(p)
    }
}

pub use crate::atomic_file::write_atomic;

/// Write a value as pretty JSON to `path`, atomically (a run record beside a sample file,
/// scores asked for with `--json`).
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| {
        CoreError::config(
            path.display().to_string(),
            format!("cannot be written as JSON: {e}"),
        )
    })?;
    write_atomic(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_clobber_and_requires_a_checkpoint_to_resume() {
        let root = std::env::temp_dir().join(format!("gdd-rundir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        assert!(RunDir::open(&root, true).is_err());
        let d = RunDir::open(&root, false).unwrap();
        d.write("config.toml", b"a = 1\n").unwrap();
        assert_eq!(std::fs::read(d.file("config.toml")).unwrap(), b"a = 1\n");
        std::fs::write(d.checkpoint(), b"x").unwrap();
        let e = RunDir::open(&root, false).unwrap_err().to_string();
        assert!(e.contains("--resume"), "{e}");
        assert!(RunDir::open(&root, true).is_ok());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
