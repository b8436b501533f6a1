//! `sweep`: one generator sampled over guidance strengths γ and step counts T (spec Table E
//! varies T), each setting scored with the evaluation classifier. Writes `sweep.csv`,
//! `sweep.md`, a grid per setting and plots of FID, IS and accuracy over γ (one line per T).

use super::eval::score_images;
use super::sample::{Request, generate, write_images};
use super::{Images, ImagesGenerator, device, load_eval_net, num_classes};
use anyhow::{Context, Result};
use clap::Args;
use diffusion_core::cli::parse_list;
use diffusion_core::cli::sweep::SweepGuide;
use diffusion_core::nos::NosConfig;
use diffusion_core::plot::{Series, lines};
use diffusion_core::report::features::FeatureNetwork;
use diffusion_core::run_dir::RunDir;
use images::sample_metrics::SampleMetrics;
use std::path::{Path, PathBuf};

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

/// One setting of a sweep and its scores.
pub struct SweepRow {
    pub gamma: f64,
    pub steps: usize,
    pub metrics: SampleMetrics,
}

pub fn run(a: &SweepArgs) -> Result<()> {
    a.guide.require_guidance()?;
    let dev = device(a.guide.backend.as_deref())?;
    let g = ImagesGenerator::load(&a.guide.checkpoint, &dev)?;
    let models = a.guide.load_models::<Images>(&g.loaded, &dev)?;
    let eval = load_eval_net(&a.eval_classifier, &dev, Some(a.reference_max))?;
    let gammas = parse_list(&a.gammas)?;
    let steps: Vec<usize> = parse_list(&a.steps)?
        .into_iter()
        .map(|s| {
            (s >= 1.0 && s.fract() == 0.0)
                .then_some(s as usize)
                .with_context(|| format!("--steps: `{s}` is not a positive whole number"))
        })
        .collect::<Result<_>>()?;
    let tok = &g.facts.tokenizer;
    let mut rows = Vec::new();
    println!("{}", SampleMetrics::table_header());
    for &t in &steps {
        for &gamma in &gammas {
            let req = Request {
                core: a.guide.request(
                    gamma,
                    models.models(NosConfig::default()),
                    t,
                    a.batch_size,
                    g.diffusion.config.seq_len,
                ),
                classes: (0..num_classes(&g) as i64).collect(),
                per_class: a.per_class,
            };
            let out = generate(&g, &req, &dev)?;
            let pixels = tok.decode_image(&out.tokens);
            let sub = a.out.join(format!("T{t}-gamma{gamma}"));
            write_images(
                &sub,
                "grid.png",
                tok,
                &pixels,
                out.intended.as_deref(),
                a.per_class,
                a.scale,
            )?;
            let m = score_images(&eval, &pixels, out.intended.as_deref())?;
            println!(
                "{}   ({:.1} s)",
                m.table_row(&format!("T = {t}, γ = {gamma}")),
                out.done.seconds
            );
            rows.push(SweepRow {
                gamma,
                steps: t,
                metrics: m,
            });
        }
    }
    write_sweep(
        &a.out,
        &rows,
        a.guide.guidance.label(a.guide.exact),
        eval.net.name(),
    )
}

/// `sweep.csv`, `sweep.md` and the plots `fid`, `is`, `accuracy` (`.svg` and `.png`).
pub fn write_sweep(out: &Path, rows: &[SweepRow], label: &str, net: &str) -> Result<()> {
    let dir = RunDir {
        path: out.to_path_buf(),
    };
    let mut csv = format!("gamma,steps,{}\n", SampleMetrics::csv_header());
    let mut md = format!(
        "{label} sweep; FID / IS on {net} features\n\n{}\n",
        SampleMetrics::table_header()
    );
    for r in rows {
        csv.push_str(&format!(
            "{},{},{}\n",
            r.gamma,
            r.steps,
            r.metrics.csv_row()
        ));
        md.push_str(
            &r.metrics
                .table_row(&format!("T = {}, γ = {}", r.steps, r.gamma)),
        );
        md.push('\n');
    }
    dir.write("sweep.csv", csv.as_bytes())?;
    dir.write("sweep.md", md.as_bytes())?;
    let mut ts: Vec<usize> = rows.iter().map(|r| r.steps).collect();
    ts.dedup();
    type Pick = fn(&SampleMetrics) -> Option<f64>;
    let plots: [(&str, &str, Pick); 3] = [
        ("fid", "FID (project classifier features)", |m| Some(m.fid)),
        ("is", "IS (project classifier)", |m| Some(m.inception_score)),
        (
            "accuracy",
            "eval-classifier accuracy on intended class",
            |m| m.accuracy,
        ),
    ];
    for (stem, name, pick) in plots {
        let series: Vec<Series> = ts
            .iter()
            .map(|&t| {
                Series::line(
                    &format!("T = {t}"),
                    rows.iter()
                        .filter(|r| r.steps == t)
                        .filter_map(|r| pick(&r.metrics).map(|v| (r.gamma, v))),
                )
            })
            .collect();
        lines(
            &dir.file(stem),
            &format!("{label}: {name}"),
            "guidance strength γ",
            name,
            &series,
        )?;
    }
    println!("sweep written to {}", out.display());
    Ok(())
}
