//! The one way the project writes a file: into a temporary file beside the target, fsync, rename
//! over the target, fsync the folder. A crash or `kill -9` leaves either the old file or the new
//! one, never a torn one, and a file that `write_atomic` returned from is on disk.

use crate::error::{CoreError, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `<path>.tmp<pid>` in the same folder (same file system, so the rename is atomic).
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".tmp{}", std::process::id()));
    PathBuf::from(s)
}

fn ensure_parent(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| CoreError::io(dir, e))?;
    }
    Ok(())
}

/// Write `bytes` to `path` atomically and durably.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes).map_err(|e| CoreError::io(path, e))?;
    f.commit()
}

/// A file being written: everything goes to a temporary file until [`AtomicFile::commit`];
/// dropped without a commit, the temporary file is removed and the target is untouched.
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
}

impl AtomicFile {
    pub fn create(path: &Path) -> Result<Self> {
        ensure_parent(path)?;
        let tmp = tmp_path(path);
        let file = std::fs::File::create(&tmp).map_err(|e| CoreError::io(&tmp, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            tmp,
            file: Some(std::io::BufWriter::new(file)),
        })
    }

    /// The temporary file, for writers that need a path (e.g. safetensors' serialiser); it is
    /// truncated and rewritten by them, then committed as usual.
    pub fn tmp(&self) -> &Path {
        &self.tmp
    }

    /// The destination.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flush, fsync, rename over the target and fsync its folder.
    pub fn commit(mut self) -> Result<()> {
        let w = self.file.take().expect("not yet committed");
        let f = w
            .into_inner()
            .map_err(|e| CoreError::io(&self.tmp, e.into_error()))?;
        drop(f);
        // Reopen: a path-based writer may have replaced the temporary file.
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.tmp)
            .map_err(|e| CoreError::io(&self.tmp, e))?;
        f.sync_all().map_err(|e| CoreError::io(&self.tmp, e))?;
        drop(f);
        std::fs::rename(&self.tmp, &self.path).map_err(|e| CoreError::io(&self.path, e))?;
        if let Some(dir) = self.path.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            // Directory fsync makes the rename durable; not every platform allows opening a
            // folder, and the data itself is already synced.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.as_mut().expect("not yet committed").write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().expect("not yet committed").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("gdd-atomic-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn writes_replaces_and_leaves_no_temporary_file() {
        let d = dir("write");
        let p = d.join("sub/a.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(d.join("sub")).unwrap().collect();
        assert_eq!(names.len(), 1, "only the target remains");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn an_uncommitted_file_leaves_the_old_one_untouched() {
        let d = dir("abort");
        let p = d.join("a.txt");
        write_atomic(&p, b"old").unwrap();
        {
            let mut f = AtomicFile::create(&p).unwrap();
            f.write_all(b"half of the new").unwrap();
            // dropped: an error half-way through a write
        }
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
