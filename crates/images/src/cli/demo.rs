//! `demo`: the whole pipeline on the shipped MNIST subset in minutes on a 2-core CPU. It takes
//! the evaluation classifier and the class-conditional MDLM and UDLM models from
//! `checkpoints/images/` (written by `scripts/images-release-checkpoints.sh`), else from an
//! earlier demo run, else trains small ones now (`--retrain` forces that); then samples each
//! model unguided and with D-CFG, and writes sample grids and the metrics table.

use super::eval::score_images;
use super::sample::{GuidanceKind, Request, generate, write_images};
use super::{EvalNet, Images, ImagesGenerator, device, load_eval_net, num_classes};
use anyhow::Result;
use burn::prelude::Device;
use clap::Args;
use diffusion_core::cli::demo::DemoModelArgs;
use diffusion_core::cli::sweep_table::{SweepRow, SweepTable};
use diffusion_core::report::features::FeatureNetwork;
use diffusion_core::sampler::SamplerConfig;
use images::dataset::{ImageData, prepare};
use images::sample_metrics::SampleMetrics;
use std::path::PathBuf;
use std::time::Instant;

/// The demo's table: one row per generator and setting, after the real images.
type Table = SweepTable<SampleMetrics>;

#[derive(Args, Clone, Debug)]
pub struct DemoArgs {
    /// Where runs, grids and the table go.
    #[arg(long, default_value = "runs/images-demo")]
    pub out: PathBuf,
    /// Backbone of generators trained now (shipped ones are what they are).
    #[arg(long, value_enum, default_value = "unet")]
    pub backbone: Backbone,
    /// Training steps per generator trained now.
    #[arg(long, default_value_t = 800)]
    pub train_steps: usize,
    /// Training steps of the evaluation classifier.
    #[arg(long, default_value_t = 1000)]
    pub classifier_steps: usize,
    /// Images per class in each row of the table.
    #[arg(short = 'n', long, default_value_t = 10)]
    pub per_class: usize,
    /// Reverse steps T.
    #[arg(long, default_value_t = 64)]
    pub steps: usize,
    /// D-CFG strength of the guided row (γ = 1, plain conditional sampling, is always shown).
    #[arg(long, default_value_t = 3.0, allow_negative_numbers = true)]
    pub gamma: f64,
    /// Generators to train.
    #[arg(long, default_value = "mdlm,udlm")]
    pub kinds: String,
    /// Shipped checkpoints, --retrain, --set and the backend.
    #[command(flatten)]
    pub models: DemoModelArgs,
}

/// The generator network trained when no checkpoint is found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backbone {
    /// `configs/mnist-<kind>.toml` shrunk to 64 hidden × 2 blocks.
    Dit,
    /// `configs/mnist-<kind>-unet.toml` as it is.
    Unet,
}

/// The configs' models shrunk to train in a couple of minutes each on two cores.
const SMALL: [&str; 6] = [
    "model.hidden_size=64",
    "model.n_blocks=2",
    "model.n_heads=4",
    "model.cond_dim=64",
    "train.val_every=0",
    "train.checkpoint_every=0",
];
const SMALL_CLASSIFIER: [&str; 2] = ["train.val_every=0", "train.checkpoint_every=0"];

/// A shipped checkpoint, a model of an earlier demo run, or a fresh one.
fn obtain(
    a: &DemoArgs,
    name: &str,
    config: &str,
    set: &[&str],
    classifier: bool,
) -> Result<PathBuf> {
    let steps = if classifier {
        a.classifier_steps
    } else {
        a.train_steps
    };
    let set = set.iter().map(|s| s.to_string()).collect();
    a.models
        .obtain::<Images>(&a.out, name, config, set, Some(steps), classifier)
}

pub fn run(a: &DemoArgs) -> Result<()> {
    let start = Instant::now();
    let dev = device(a.models.backend.as_deref())?;
    let (eval_path, generators) = obtain_all(a)?;
    let eval = load_eval_net(&eval_path, &dev, None)?;
    println!();
    let mut table = SweepTable::named(&a.out, "table")?;
    let data = real_row(a, &eval, &mut table)?;
    let mut described = Vec::new();
    for (kind, path) in &generators {
        described.push(generator_rows(a, &eval, kind, path, &dev, &mut table)?);
    }
    write_table(a, &eval, &data, &table, &described)?;
    println!(
        "Demo finished in {:.1} min; grids grid-<kind>.png (D-CFG γ = {}, one row per digit), samples/*/grid.png and table.md in {}",
        start.elapsed().as_secs_f64() / 60.0,
        a.gamma,
        a.out.display()
    );
    Ok(())
}

/// The evaluation classifier and every generator: shipped, from an earlier demo run, or
/// trained now.
fn obtain_all(a: &DemoArgs) -> Result<(PathBuf, Vec<(String, PathBuf)>)> {
    let eval_path = obtain(
        a,
        "eval-classifier",
        "configs/mnist-eval-classifier.toml",
        &SMALL_CLASSIFIER,
        true,
    )?;
    let mut generators = Vec::new();
    for kind in a.kinds.split(',').map(str::trim) {
        let p = match a.backbone {
            Backbone::Dit => obtain(
                a,
                kind,
                &format!("configs/mnist-{kind}.toml"),
                &SMALL,
                false,
            )?,
            Backbone::Unet => obtain(
                a,
                kind,
                &format!("configs/mnist-{kind}-unet.toml"),
                &SMALL_CLASSIFIER,
                false,
            )?,
        };
        generators.push((kind.to_string(), p));
    }
    Ok((eval_path, generators))
}

/// The calibration row: real training images, as many as a row of samples, quantised and
/// scored like samples; returns the data set.
fn real_row(a: &DemoArgs, eval: &EvalNet, table: &mut Table) -> Result<ImageData> {
    // Calibration: real training images, as many as a row of samples.
    let data = prepare(&eval.info.data, Some(eval.info.tokenizer.clone()))?;
    let mut idx = Vec::new();
    for k in 0..data.train_images.num_classes() as i64 {
        idx.extend(
            (0..data.train_images.len())
                .filter(|&i| data.train_images.labels[i] == k)
                .take(a.per_class),
        );
    }
    let real = data.train_images.subset(&idx);
    let tok = &eval.info.tokenizer;
    let real_tokens: Vec<i64> = real.pixels.iter().map(|&v| tok.bin(v)).collect();
    let real_px = tok.decode_image(&real_tokens);
    let m = score_images(eval, &real_px, Some(&real.labels))?;
    table.push(SweepRow::reference("real training images (quantised)", m));
    write_images(
        &a.out.join("samples/real"),
        "grid.png",
        tok,
        &real_px,
        Some(&real.labels),
        a.per_class,
        4,
    )?;
    Ok(data)
}

/// The rows of one generator (unguided, D-CFG γ = 1 and γ = `--gamma`), printed and added to
/// `table`; returns the generator's description.
fn generator_rows(
    a: &DemoArgs,
    eval: &EvalNet,
    kind: &str,
    path: &std::path::Path,
    dev: &Device,
    table: &mut Table,
) -> Result<String> {
    let g = ImagesGenerator::load(path, dev)?;
    let described = |bpd: Option<f64>| {
        let bpd = bpd.map_or(String::new(), |b| {
            format!(", validation {b:.3} bits per pixel")
        });
        let (net, params) = (g.backbone(), g.num_params() as f64 / 1e6);
        format!(
            "{kind}: {net} of {params:.2} M parameters, {} training steps{bpd}",
            g.step
        )
    };
    // The run's summary.json, or `<name>.summary.json` next to a shipped checkpoint.
    let summary: serde_json::Value = [
        path.with_file_name("summary.json"),
        path.with_extension("summary.json"),
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok())
    .and_then(|s| serde_json::from_str(&s).ok())
    .unwrap_or_default();
    let bpd = summary["validation"]["bpc"].as_f64();
    let settings = [
        (GuidanceKind::None, 0.0, "unguided (null class)".to_string()),
        (
            GuidanceKind::Cfg,
            1.0,
            "D-CFG γ = 1 (conditional)".to_string(),
        ),
        (GuidanceKind::Cfg, a.gamma, format!("D-CFG γ = {}", a.gamma)),
    ];
    for (guidance, gamma, label) in settings {
        let req = Request {
            core: diffusion_core::generate::Request::new(
                guidance,
                gamma,
                Default::default(),
                SamplerConfig::run(a.steps, 100, 0),
            ),
            classes: (0..num_classes(&g) as i64).collect(),
            per_class: a.per_class,
        };
        let out = generate(&g, &req, dev)?;
        let px = g.facts.tokenizer.decode_image(&out.tokens);
        let slug = format!(
            "{kind}-{}-gamma{gamma}",
            format!("{guidance:?}").to_lowercase()
        );
        write_images(
            &a.out.join("samples").join(&slug),
            "grid.png",
            &g.facts.tokenizer,
            &px,
            out.intended.as_deref(),
            a.per_class,
            4,
        )?;
        if guidance == GuidanceKind::Cfg && gamma == a.gamma {
            std::fs::copy(
                a.out.join("samples").join(&slug).join("grid.png"),
                a.out.join(format!("grid-{kind}.png")),
            )?;
        }
        table.push(SweepRow {
            label: format!("{kind} {label}"),
            gamma: (guidance != GuidanceKind::None).then_some(gamma),
            steps: Some(a.steps),
            nfe: Some(out.done.nfe),
            seconds: Some(out.done.seconds),
            scores: score_images(eval, &px, out.intended.as_deref())?,
        });
    }
    Ok(described(bpd))
}

/// `table.md` (the table, then the setting and the notes on what FID and IS mean here), with
/// `table.csv` and `table.json`.
fn write_table(
    a: &DemoArgs,
    eval: &EvalNet,
    data: &ImageData,
    table: &Table,
    described: &[String],
) -> Result<()> {
    let tok = &eval.info.tokenizer;
    let c = &eval.info.data;
    let setting = format!(
        "MNIST subset (datasets/images), {}×{} pixels ({}×{} average of 28×28), {} grey levels, L = {}; generators trained at batch 32 ({}); evaluation classifier: clean DiT, held-out accuracy {:.3} on {} real images; sampling T = {}, {} images per class per row.",
        tok.height,
        tok.width,
        c.downsample,
        c.downsample,
        tok.levels,
        tok.seq_len(),
        described.join("; "),
        eval.real_accuracy,
        eval.reference_size,
        a.steps,
        a.per_class
    );
    let notes = format!(
        "FID and IS use the features / class probabilities of the project's own evaluation classifier ({}), not Inception-v3: they compare rows of this table only, not the paper's CIFAR-10 numbers. FID is against all {} real held-out images; with {} samples per row it is biased upwards, and the real-images row shows that floor. Unguided rows have no intended class, so no accuracy. Bits per pixel: validation NELBO at {} levels.",
        eval.net.name(),
        eval.reference_size,
        a.per_class * data.train_images.num_classes(),
        tok.levels
    );
    let settings =
        serde_json::json!({"steps": a.steps, "per_class": a.per_class, "gamma": a.gamma});
    table.write(&format!("{setting}\n\n{notes}"), settings, &[])?;
    println!("\n{setting}\n\n{notes}");
    Ok(())
}
