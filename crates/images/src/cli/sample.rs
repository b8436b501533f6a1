//! `sample`: generate images from a checkpoint — unguided (`none`; a conditional model then
//! samples its null class), D-CFG (`cfg --gamma γ`; γ = 1 is plain conditional sampling) or
//! D-CBG (`cbg --classifier C --gamma γ`) — optionally inpainting around the known pixels of a
//! PNG. Writes `grid.png` (one row per class), the images as IDX files, and with
//! `--eval-classifier` the image metrics. Reward steering (SMC / FK, SVDD, best-of-N) with
//! `--reward classifier`: log p(class | image) under --reward-classifier.

use super::eval::score_images;
use super::{Images, ImagesGenerator, device, load_eval_net, num_classes};
use anyhow::{Context, Result, bail};
use burn::prelude::Device;
use clap::Args;
use diffusion_core::app::guidance_models::SampleModels;
pub use diffusion_core::generate::GuidanceKind;
use diffusion_core::generate::SampleFlags;
use diffusion_core::generate::{Unguided, class_groups};
use diffusion_core::run_dir::RunDir;
use images::grid::{CellShape, save_grid};
use images::idx::write_idx;
use images::inpaint::inpainting_pins;
use images::sample_metrics::SampleMetrics;
use images::tokenizer::PixelTokenizer;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[derive(Args, Clone, Debug)]
pub struct SampleArgs {
    /// Generator checkpoint (`model.ckpt` or a run's `checkpoints/last.ckpt`).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Only this class (default: every class, one grid row each).
    #[arg(long)]
    pub class: Option<i64>,
    /// Images per class (per grid row).
    #[arg(short = 'n', long, default_value_t = 8)]
    pub per_class: usize,
    /// Inpainting: PNG with the known pixels (the model's image size).
    #[arg(long, requires = "inpaint_mask")]
    pub inpaint: Option<PathBuf>,
    /// Inpainting: PNG mask, white where the pixel of `--inpaint` is kept.
    #[arg(long, requires = "inpaint")]
    pub inpaint_mask: Option<PathBuf>,
    /// Clean evaluation classifier: also compute FID / IS / accuracy of the samples.
    #[arg(long)]
    pub eval_classifier: Option<PathBuf>,
    /// Real held-out images for the FID reference (at most this many).
    #[arg(long, default_value_t = 1000)]
    pub reference_max: usize,
    /// Grid upscaling factor.
    #[arg(long, default_value_t = 4)]
    pub scale: usize,
    #[arg(long, default_value = "runs/images-samples")]
    pub out: PathBuf,
    /// Guidance, reward steering, sampler refinements, T, batch size, seed, backend, progress
    /// and --force.
    #[command(flatten)]
    pub flags: SampleFlags<128, 64>,
}

/// Settings of one sampling run (also used by `sweep` and `demo`): the core request (guidance,
/// sampler, pins) and the classes to draw, `per_class` images each (rows of the grid).
pub struct Request<'a> {
    pub core: diffusion_core::generate::Request<'a>,
    pub classes: Vec<i64>,
    pub per_class: usize,
}

/// Generated token images, class-major when guided.
pub struct Generated {
    /// Row-major [n, L].
    pub tokens: Vec<i64>,
    /// The class each image was generated for (None when unguided).
    pub intended: Option<Vec<i64>>,
    /// Network evaluations, seconds and steering statistics.
    pub done: diffusion_core::generate::Generated,
}

/// Sample per `req` through the core's generate layer, one group per class with the core's
/// seeding rule (group k of `req.classes` draws from `seed + k·1,000,003`). Unguided sampling is
/// one group of `per_class × classes` images (a conditional model samples its null class), unless
/// reward steering aims each class group at its class.
pub fn generate(g: &ImagesGenerator, req: &Request, dev: &Device) -> Result<Generated> {
    let n_classes = num_classes(g) as i64;
    if let Some(bad) = req.classes.iter().find(|&&c| c < 0 || c >= n_classes) {
        bail!("--class {bad}: the model has classes 0..{}", n_classes - 1);
    }
    let core = &req.core;
    let n = req.per_class.saturating_mul(req.classes.len());
    diffusion_core::sampler::check_sample_count(n, g.diffusion.config.seq_len).context("-n")?;
    let groups = class_groups(
        core,
        g.is_conditional(),
        Unguided::NullClass,
        &req.classes,
        req.per_class,
    )?;
    let mut tokens = Vec::with_capacity(n * g.diffusion.config.seq_len);
    let done = g.generate(core, &groups, dev, &mut |_, s| {
        tokens.extend_from_slice(&s.tokens);
        Ok(())
    })?;
    let intended = (core.guidance != GuidanceKind::None || core.steer.is_some()).then(|| {
        req.classes
            .iter()
            .flat_map(|&c| std::iter::repeat_n(c, req.per_class))
            .collect()
    });
    Ok(Generated {
        tokens,
        intended,
        done,
    })
}

/// Tokens → 8-bit channel-major images.
pub fn decode_all(tok: &PixelTokenizer, tokens: &[i64]) -> Vec<u8> {
    tok.decode_image(tokens)
}

/// `grid.png` (rows of `per_row` images), `samples-images-idx3-ubyte` (+ labels when guided).
pub fn write_images(
    out: &Path,
    grid_name: &str,
    tok: &PixelTokenizer,
    pixels: &[u8],
    intended: Option<&[i64]>,
    per_row: usize,
    scale: usize,
) -> Result<()> {
    let l = tok.seq_len();
    let n = pixels.len() / l;
    let images: Vec<&[u8]> = pixels.chunks(l).collect();
    let rows: Vec<Vec<&[u8]>> = images
        .chunks(per_row.max(1))
        .map(<[&[u8]]>::to_vec)
        .collect();
    save_grid(
        &out.join(grid_name),
        &rows,
        CellShape {
            channels: tok.channels,
            height: tok.height,
            width: tok.width,
            scale,
        },
    )?;
    let dims = if tok.channels == 1 {
        vec![n, tok.height, tok.width]
    } else {
        vec![n, tok.channels, tok.height, tok.width]
    };
    write_idx(&out.join("samples-images-idx3-ubyte"), &dims, pixels)?;
    if let Some(y) = intended {
        let labels: Vec<u8> = y.iter().map(|&v| v as u8).collect();
        write_idx(&out.join("samples-labels-idx1-ubyte"), &[n], &labels)?;
    }
    Ok(())
}

/// Write the run record and metrics.
pub fn write_metrics(out: &Path, run: Value, metrics: Option<&SampleMetrics>) -> Result<()> {
    let dir = RunDir {
        path: out.to_path_buf(),
    };
    let mut v = json!({ "run": run });
    if let Some(m) = metrics {
        v["metrics"] = serde_json::to_value(m)?;
        dir.write(
            "metrics.csv",
            format!("{}\n{}\n", SampleMetrics::csv_header(), m.csv_row()).as_bytes(),
        )?;
    }
    dir.write_json("metrics.json", &v)?;
    Ok(())
}

pub fn run(a: &SampleArgs) -> Result<()> {
    let dev = device(a.flags.run.backend.as_deref())?;
    let g = ImagesGenerator::load(&a.checkpoint, &dev)?;
    diffusion_core::cli::check_output(&a.out, "--out", a.flags.run.force)?;
    let tok = g.facts.tokenizer.clone();
    let models = SampleModels::load::<Images>(&a.flags.guide, &a.flags.steer, &g, &dev)?;
    let reward = models.reward(&a.flags.steer, &[], "class", &dev, &|_| Ok(None))?;
    let pins = match (&a.inpaint, &a.inpaint_mask) {
        (Some(img), Some(mask)) => inpainting_pins(&tok, img, mask)?,
        _ => Vec::new(),
    };
    let classes: Vec<i64> = match a.class {
        Some(c) => vec![c],
        None => (0..num_classes(&g) as i64).collect(),
    };
    let req = Request {
        core: a.flags.request(
            &models.guidance,
            reward.as_deref(),
            g.diffusion.config.seq_len,
            pins.clone(),
        )?,
        classes,
        per_class: a.per_class,
    };
    let gen_out = generate(&g, &req, &dev)?;
    let pixels = decode_all(&tok, &gen_out.tokens);
    write_images(
        &a.out,
        "grid.png",
        &tok,
        &pixels,
        gen_out.intended.as_deref(),
        a.per_class,
        a.scale,
    )?;
    let metrics = match &a.eval_classifier {
        Some(p) => {
            let eval = load_eval_net(p, &dev, Some(a.reference_max))?;
            Some(score_images(&eval, &pixels, gen_out.intended.as_deref())?)
        }
        None => None,
    };
    let n = pixels.len() / tok.seq_len();
    let mut run = a.flags.run_record(&a.checkpoint, &gen_out.done, n);
    for (k, v) in [
        ("backbone", json!(g.backbone())),
        ("generator_step", json!(g.step)),
        ("generator_parameters", json!(g.num_params())),
        ("classes", json!(req.classes)),
        ("per_class", json!(a.per_class)),
        ("inpainting_pins", json!(pins.len())),
        ("tokenizer", json!(tok)),
    ] {
        run[k] = v;
    }
    write_metrics(&a.out, run, metrics.as_ref())?;
    print_summary(a, &g, metrics.as_ref(), &gen_out, n);
    Ok(())
}

/// The metrics row (with an evaluation classifier), the generator and the timing.
fn print_summary(
    a: &SampleArgs,
    g: &ImagesGenerator,
    metrics: Option<&SampleMetrics>,
    gen_out: &Generated,
    n: usize,
) {
    let tok = &g.facts.tokenizer;
    if let Some(m) = metrics {
        println!("{}", SampleMetrics::table_header());
        println!(
            "{}",
            m.table_row(&match a.flags.guide.guidance {
                GuidanceKind::None => a
                    .flags
                    .guide
                    .guidance
                    .label(a.flags.guide.exact)
                    .to_string(),
                kind => format!(
                    "{} γ={}",
                    kind.label(a.flags.guide.exact),
                    a.flags.guide.gamma
                ),
            })
        );
    }
    println!(
        "generator: {}, {:.2} M parameters, {} training steps; {}×{}×{} at {} levels",
        g.backbone(),
        g.num_params() as f64 / 1e6,
        g.step,
        tok.channels,
        tok.height,
        tok.width,
        tok.levels
    );
    println!(
        "{n} images in {:.1} s ({} network evaluations); grid and IDX files in {}",
        gen_out.done.seconds,
        gen_out.done.nfe,
        a.out.display()
    );
}
