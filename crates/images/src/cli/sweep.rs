//! `sweep`: one generator sampled over guidance strengths γ and step counts T (spec Table E
//! varies T), each setting scored with the evaluation classifier. Writes a grid per setting and
//! the core's sweep files: `sweep.csv`, `sweep.md`, `sweep.json` and plots of FID, IS and
//! accuracy over γ (one line per T).

use super::eval::score_images;
use super::sample::{Request, generate, write_images};
use super::{Images, ImagesGenerator, device, load_eval_net, num_classes};
use anyhow::Result;
use clap::Args;
use diffusion_core::cli::sweep::SweepGuide;
use diffusion_core::cli::sweep_table::{SweepPlot, SweepRow, SweepTable, settings};
use diffusion_core::nos::NosConfig;
use diffusion_core::report::features::FeatureNetwork;
use images::sample_metrics::SampleMetrics;
use serde_json::json;
use std::path::PathBuf;

#[derive(Args, Clone, Debug)]
pub struct SweepArgs {
    #[command(flatten)]
    pub guide: SweepGuide,
    /// Comma-separated γ values.
    #[arg(long, default_value = "0,1,2,4", allow_hyphen_values = true)]
    pub gammas: String,
    /// Comma-separated numbers of reverse steps T.
    #[arg(long, default_value = "64")]
    pub steps: String,
    /// Clean evaluation classifier (FID / IS features, accuracy).
    #[arg(long)]
    pub eval_classifier: PathBuf,
    /// Images per class and setting.
    #[arg(short = 'n', long, default_value_t = 10)]
    pub per_class: usize,
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 1000)]
    pub reference_max: usize,
    #[arg(long, default_value_t = 3)]
    pub scale: usize,
    #[arg(long, default_value = "runs/images-sweep")]
    pub out: PathBuf,
}

pub fn run(a: &SweepArgs) -> Result<()> {
    a.guide.require_guidance()?;
    let dev = device(a.guide.backend.as_deref())?;
    let g = ImagesGenerator::load(&a.guide.checkpoint, &dev)?;
    let models = a.guide.load_models::<Images>(&g.loaded, &dev)?;
    let eval = load_eval_net(&a.eval_classifier, &dev, Some(a.reference_max))?;
    let grid = settings(&a.gammas, &a.steps)?;
    let tok = &g.facts.tokenizer;
    let mut table = SweepTable::create(&a.out)?;
    for (steps, gamma) in grid {
        let nos = models.models(NosConfig::default());
        let seq_len = g.diffusion.config.seq_len;
        let req = Request {
            core: a.guide.request(gamma, nos, steps, a.batch_size, seq_len),
            classes: (0..num_classes(&g) as i64).collect(),
            per_class: a.per_class,
        };
        let out = generate(&g, &req, &dev)?;
        let pixels = tok.decode_image(&out.tokens);
        let sub = a.out.join(format!("T{steps}-gamma{gamma}"));
        let intended = out.intended.as_deref();
        write_images(
            &sub,
            "grid.png",
            tok,
            &pixels,
            intended,
            a.per_class,
            a.scale,
        )?;
        table.push(SweepRow {
            label: format!("T = {steps}, γ = {gamma}"),
            gamma: Some(gamma),
            steps: Some(steps),
            nfe: Some(out.done.nfe),
            seconds: Some(out.done.seconds),
            scores: score_images(&eval, &pixels, intended)?,
        });
    }
    let label = a.guide.guidance.label(a.guide.exact);
    type P = SweepPlot<SampleMetrics>;
    let plot = |stem, name: &'static str, pick| P {
        stem,
        title: format!("{label}: {name}"),
        metrics: vec![(name, pick)],
    };
    let plots = [
        plot("fid", "FID (project classifier features)", |m| Some(m.fid)),
        plot("is", "IS (project classifier)", |m| Some(m.inception_score)),
        plot(
            "accuracy",
            "eval-classifier accuracy on intended class",
            |m| m.accuracy,
        ),
    ];
    let caption = format!("{label} sweep; FID / IS on {} features.", eval.net.name());
    let settings = json!({
        "checkpoint": a.guide.checkpoint, "classifier": a.guide.classifier,
        "eval_classifier": a.eval_classifier, "guidance": a.guide.guidance.name(),
        "exact": a.guide.exact, "per_class": a.per_class, "seed": a.guide.seed,
        "sampler": a.guide.refine.describe(),
    });
    Ok(table.write(&caption, settings, &plots)?)
}
