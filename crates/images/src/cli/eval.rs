//! `eval`: score generated images — an IDX file as `sample` writes it, or any IDX image file of
//! the evaluation classifier's image size — with FID (project classifier features), IS (project
//! classifier) and, given the intended classes, evaluation-classifier accuracy and macro F1.

use super::{EvalNet, device, load_eval_net};
use anyhow::{Context, Result, bail};
use clap::Args;
use diffusion_core::report::features::FeatureNetwork;
use diffusion_core::run_dir::RunDir;
use images::idx::{default_labels_path, read_idx};
use images::sample_metrics::{SampleMetrics, score};
use std::path::{Path, PathBuf};

#[derive(Args, Clone, Debug)]
pub struct EvalArgs {
    /// IDX file of generated images (`samples-images-idx3-ubyte` of a `sample` output folder,
    /// or the folder itself).
    #[arg(long)]
    pub samples: PathBuf,
    /// IDX labels file with the intended class of each image (default: the one next to the
    /// samples, if present).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Clean evaluation classifier (`train-classifier --config configs/mnist-eval-classifier.toml`).
    #[arg(long)]
    pub eval_classifier: PathBuf,
    /// Real held-out images used as the FID reference (at most this many).
    #[arg(long, default_value_t = 1000)]
    pub reference_max: usize,
    /// Write `metrics.json` / `metrics.csv` into this folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the results of an earlier run at the output path (refused otherwise).
    #[arg(long)]
    pub force: bool,
    #[arg(long)]
    pub backend: Option<String>,
}

/// Score 8-bit channel-major images (`n` × C·H·W) under the evaluation network.
pub fn score_images(
    eval: &EvalNet,
    pixels: &[u8],
    intended: Option<&[i64]>,
) -> Result<SampleMetrics> {
    let tok = &eval.info.tokenizer;
    let l = tok.seq_len();
    if pixels.is_empty() || !pixels.len().is_multiple_of(l) {
        bail!(
            "{} pixel values are not whole {}×{}×{} images (the evaluation classifier's size)",
            pixels.len(),
            tok.channels,
            tok.height,
            tok.width
        );
    }
    let tokens: Vec<i64> = pixels.iter().map(|&v| tok.bin(v)).collect();
    if let Some(y) = intended
        && y.len() != pixels.len() / l
    {
        bail!(
            "{} intended classes for {} images",
            y.len(),
            pixels.len() / l
        );
    }
    let ev = eval.net.evaluate(&tokens, l)?;
    Ok(score(&eval.reference, &ev, intended)?)
}

/// Generated images read back: IDX dimensions, 8-bit values and the intended classes.
pub struct SampleFile {
    pub dims: Vec<usize>,
    pub pixels: Vec<u8>,
    pub intended: Option<Vec<i64>>,
}

/// Read IDX images (and optional labels) written by `sample`.
pub fn read_samples(path: &Path, labels: Option<&Path>) -> Result<SampleFile> {
    let file = if path.is_dir() {
        path.join("samples-images-idx3-ubyte")
    } else {
        path.to_path_buf()
    };
    let img = read_idx(&file)?;
    let labels_path = labels
        .map(Path::to_path_buf)
        .or_else(|| default_labels_path(&file).filter(|p| p.is_file()));
    let intended = match labels_path {
        Some(p) => {
            let l = read_idx(&p)?;
            if l.dims != [img.dims[0]] {
                bail!(
                    "{} holds {:?} labels for {} images in {}",
                    p.display(),
                    l.dims,
                    img.dims[0],
                    file.display()
                );
            }
            Some(l.data.iter().map(|&v| v as i64).collect())
        }
        None => None,
    };
    Ok(SampleFile {
        dims: img.dims,
        pixels: img.data,
        intended,
    })
}

pub fn run(a: &EvalArgs) -> Result<()> {
    if let Some(out) = &a.out {
        diffusion_core::cli::check_output(out, "--out", a.force)?;
    }
    let dev = device(a.backend.as_deref())?;
    let eval = load_eval_net(&a.eval_classifier, &dev, Some(a.reference_max))?;
    let SampleFile {
        dims,
        pixels,
        intended,
    } = read_samples(&a.samples, a.labels.as_deref())?;
    let tok = &eval.info.tokenizer;
    let geometry = match dims[..] {
        [_, h, w] => (1, h, w),
        [_, c, h, w] => (c, h, w),
        _ => bail!(
            "{}: images have 3 or 4 IDX dimensions, not {dims:?}",
            a.samples.display()
        ),
    };
    if geometry != (tok.channels, tok.height, tok.width) {
        bail!(
            "{}: {:?} images, but the evaluation classifier takes {}×{}×{}",
            a.samples.display(),
            geometry,
            tok.channels,
            tok.height,
            tok.width
        );
    }
    let m = score_images(&eval, &pixels, intended.as_deref())
        .with_context(|| format!("scoring {}", a.samples.display()))?;
    println!(
        "FID / IS on {} features; reference: {} real held-out images (evaluation-classifier accuracy on them {:.4})",
        eval.net.name(),
        eval.reference_size,
        eval.real_accuracy
    );
    println!("{}", SampleMetrics::table_header());
    println!("{}", m.table_row(&a.samples.display().to_string()));
    if let Some(out) = &a.out {
        let dir = RunDir { path: out.clone() };
        dir.write_json("metrics.json", &m)?;
        dir.write(
            "metrics.csv",
            format!("{}\n{}\n", SampleMetrics::csv_header(), m.csv_row()).as_bytes(),
        )?;
    }
    Ok(())
}
