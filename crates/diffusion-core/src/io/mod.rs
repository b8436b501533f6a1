//! Files: checkpoints (and the Hugging Face layout), atomic writes, config files with
//! `--set` overrides, run folders and the shipped-file paths.

pub mod atomic_file;
pub mod checkpoint;
pub mod config_file;
pub mod hf_checkpoint;
pub mod paths;
pub mod run_dir;
