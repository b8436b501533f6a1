//! Inspect and convert checkpoint files of any domain (the core's file format only; no model is
//! built).
//!
//! ```sh
//! gdd-checkpoint info checkpoints/molecules/udlm.ckpt           # kind, storage dtype, parameters
//! gdd-checkpoint to-f16 runs/qm9-udlm/model.ckpt udlm.ckpt      # weights-only file in half precision
//! gdd-checkpoint to-f32 udlm.ckpt udlm-f32.ckpt                 # and back (exact widening)
//! ```
//!
//! `to-f16` accepts only weights-only checkpoints (a run's exported `model.ckpt`, not
//! `checkpoints/last.ckpt` with its optimizer state) and refuses, naming the tensor, weights
//! outside the f16 range. Every command that loads a checkpoint reads an f16 file as f32.

use clap::{Parser, Subcommand};
use diffusion_core::checkpoint::{
    CheckpointFile, WeightsDtype, blob_tensors, convert_weights_dtype,
};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "gdd-checkpoint",
    version,
    about = "Inspect checkpoint files and convert weights-only ones between f32 and f16 storage"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a checkpoint's kind, storage dtype, step, blobs and parameter counts.
    Info {
        /// Checkpoint file.
        file: PathBuf,
    },
    /// Write a weights-only checkpoint with its weights stored in f16 (IN and OUT may be equal).
    ToF16 { input: PathBuf, output: PathBuf },
    /// Write a weights-only checkpoint with its weights stored in f32 (IN and OUT may be equal).
    ToF32 { input: PathBuf, output: PathBuf },
}

fn size(path: &Path) -> Result<u64, diffusion_core::CoreError> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| diffusion_core::CoreError::io(path, e))
}

fn info(path: &Path) -> diffusion_core::Result<()> {
    let dtype = WeightsDtype::from_header(&CheckpointFile::read_header(path)?, path)?;
    let ck = CheckpointFile::load(path)?;
    let h = &ck.header;
    let field = |k: &str| {
        h.get(k)
            .map(|v| v.to_string().trim_matches('"').to_string())
            .unwrap_or_else(|| "–".into())
    };
    println!("file: {}", path.display());
    println!("bytes: {}", size(path)?);
    println!("kind: {}", field("kind"));
    println!("weights dtype: {dtype}");
    println!(
        "weights only: {}",
        if ck.blobs.contains_key("optimizer") {
            "no (training checkpoint with optimizer state)"
        } else {
            "yes"
        }
    );
    println!("step: {}", field("step"));
    if let Some(domain) = h.pointer("/metadata/domain") {
        println!("domain: {}", domain.as_str().unwrap_or("–"));
    }
    let tensors = blob_tensors(&ck, path)?;
    for (name, ts) in &tensors {
        if name == "optimizer" {
            println!("blob optimizer: {} tensors (optimizer state)", ts.len());
            continue;
        }
        let params: usize = ts.iter().map(|(_, s)| s.iter().product::<usize>()).sum();
        println!("blob {name}: {} tensors, {params} parameters", ts.len());
    }
    Ok(())
}

fn convert(input: &Path, output: &Path, dtype: WeightsDtype) -> diffusion_core::Result<()> {
    let before = size(input)?;
    convert_weights_dtype(input, output, dtype)?;
    println!(
        "{} ({before} bytes) → {} ({} bytes, weights in {dtype})",
        input.display(),
        output.display(),
        size(output)?
    );
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Info { file } => info(file),
        Command::ToF16 { input, output } => convert(input, output, WeightsDtype::F16),
        Command::ToF32 { input, output } => convert(input, output, WeightsDtype::F32),
    };
    if let Err(e) = result {
        eprintln!("gdd-checkpoint: error: {e}");
        std::process::exit(1);
    }
}
