//! `sweep`: the same generator sampled at several guidance strengths γ (and step counts T).
//! Writes the core's sweep files (`sweep.csv`, `sweep.md`, `sweep.json`, validity against γ)
//! and a Pareto plot of novelty against the guided property.

use super::sample::{Generator, decode, generate, known_set};
use super::{Molecules, device};
use anyhow::{Context, Result, bail};
use clap::Args;
use diffusion_core::cli::sweep::SweepGuide;
use diffusion_core::cli::sweep_table::{Pick, SweepPlot, SweepRow, SweepTable, settings};
use diffusion_core::nos::NosConfig;
use molecules::config::Property;
use molecules::metrics::{Qm9Metrics, score};
use serde_json::json;
use std::path::PathBuf;

#[derive(Args, Clone, Debug)]
pub struct SweepArgs {
    #[command(flatten)]
    pub guide: SweepGuide,
    /// Comma-separated γ values.
    #[arg(long, default_value = "0,1,2,3,5", allow_hyphen_values = true)]
    pub gammas: String,
    #[arg(long, default_value_t = 1)]
    pub target: i64,
    /// The property on the plot's y axis (default: the label of the generator or classifier).
    #[arg(long)]
    pub property: Option<Property>,
    #[arg(short = 'n', long, default_value_t = 1024)]
    pub num_samples: usize,
    /// Comma-separated numbers of reverse steps T.
    #[arg(long, default_value = "32")]
    pub steps: String,
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    #[arg(long)]
    pub reference: Option<PathBuf>,
    #[arg(long, default_value = "runs/sweep")]
    pub out: PathBuf,
}

/// The property a sweep is about: `--property`, else the classifier's label, else the
/// generator's.
fn property(a: &SweepArgs, g: &Generator) -> Result<Property> {
    if let Some(p) = a.property {
        return Ok(p);
    }
    let from_clf = a.guide.classifier.as_deref().and_then(|p| {
        diffusion_core::checkpoint::CheckpointFile::read_header(p)
            .ok()?
            .get("metadata")?
            .get("label")
            .and_then(|l| l.get("property"))
            .and_then(|p| serde_json::from_value::<Property>(p.clone()).ok())
    });
    from_clf
        .or(g.facts.label.as_ref().map(|l| l.property))
        .context("say which property to plot with --property")
}

pub fn run(a: &SweepArgs) -> Result<()> {
    let dev = device(a.guide.backend.as_deref())?;
    let g = Generator::load(&a.guide.checkpoint, &dev)?;
    a.guide.require_guidance()?;
    let models = a.guide.load_models::<Molecules>(&g.loaded, &dev)?;
    let property = property(a, &g)?;
    let grid = settings(&a.gammas, &a.steps)?;
    let several = grid.first().map(|f| f.0) != grid.last().map(|l| l.0);
    let reference = a
        .reference
        .clone()
        .or_else(|| g.facts.data_path.clone())
        .context("no --reference data set and the checkpoint names none")?;
    let known = known_set(&reference)?;
    let mut table = SweepTable::create(&a.out)?;
    for (steps, gamma) in grid {
        let seq_len = g.loaded.diffusion.config.seq_len;
        let nos = models.models(NosConfig::default());
        let req = a.guide.request(gamma, nos, steps, a.batch_size, seq_len);
        let start = std::time::Instant::now();
        let (tokens, nfe) = generate(&g, &req, a.target, a.num_samples, &dev)?;
        let (_, smiles) = decode(&g.facts.tokenizer, &tokens);
        table.push(SweepRow {
            label: a.guide.row_label(steps, gamma, several),
            gamma: Some(gamma),
            steps: Some(steps),
            nfe: Some(nfe),
            seconds: Some(start.elapsed().as_secs_f64()),
            scores: score(&smiles, &known),
        });
    }
    let novel_property: Pick<Qm9Metrics> = match property {
        Property::Qed => |m| m.qed_novel.as_ref().map(|s| s.mean),
        Property::RingCount => |m| m.rings_novel.as_ref().map(|s| s.mean),
    };
    let label = a.guide.guidance.label(a.guide.exact);
    let plots = [
        SweepPlot {
            stem: "validity",
            title: format!("{label}: valid % against γ"),
            metrics: vec![("valid %", |m: &Qm9Metrics| Some(100.0 * m.valid))],
        },
        SweepPlot {
            stem: "property",
            title: format!("{label}: mean {} of novel molecules", property.name()),
            metrics: vec![(property.name(), novel_property)],
        },
    ];
    let caption = format!(
        "{label}, target class {}; {} molecules per row; novelty against {}.",
        a.target,
        a.num_samples,
        reference.display()
    );
    let settings = json!({
        "checkpoint": a.guide.checkpoint, "classifier": a.guide.classifier,
        "guidance": a.guide.guidance.name(), "exact": a.guide.exact, "target": a.target,
        "property": property.name(), "seed": a.guide.seed, "sampler": a.guide.refine.describe(),
    });
    table.write(&caption, settings, &plots)?;
    pareto(&table, property, novel_property, label)
}

/// `pareto.svg` / `pareto.png`: novelty against the property of novel molecules, one point per
/// row.
fn pareto(
    table: &SweepTable<Qm9Metrics>,
    property: Property,
    pick: Pick<Qm9Metrics>,
    label: &str,
) -> Result<()> {
    let points = table.rows.iter().filter_map(|r| {
        let p = pick(&r.scores)?;
        Some((100.0 * r.scores.novel, p, r.label.clone()))
    });
    let series = [diffusion_core::plot::Series {
        name: label.to_string(),
        points: points.collect(),
    }];
    diffusion_core::plot::scatter(
        &table.dir.file("pareto"),
        "novelty vs property of novel molecules",
        "novel %",
        &format!("mean {} of novel molecules", property.name()),
        &series,
    )?;
    Ok(())
}

#[derive(Args, Clone, Debug)]
pub struct PlotParetoArgs {
    /// `SERIES,POINT,DIR` of a `sample` run (repeatable): reads `DIR/metrics.json`; points of one
    /// series are joined in order.
    #[arg(long = "run", value_name = "SERIES,POINT,DIR", required = true)]
    pub runs: Vec<String>,
    /// The property on the y axis: qed or rings (mean over novel molecules).
    #[arg(long, default_value = "qed")]
    pub property: String,
    /// Output stem: writes STEM.svg, STEM.png and STEM.md (the table).
    #[arg(long)]
    pub out: PathBuf,
}

/// One `sample` run as a Pareto point.
#[derive(Clone, Debug, PartialEq)]
pub struct ParetoPoint {
    pub series: String,
    pub point: String,
    pub seconds: f64,
    pub samples: f64,
    pub valid: f64,
    pub novel: f64,
    pub property: f64,
    pub mean_reward: Option<f64>,
}

/// Read a `sample` run's `metrics.json` as a Pareto point; errors name the file and field.
pub fn read_pareto_point(spec: &str, property: &str) -> Result<ParetoPoint> {
    let parts: Vec<&str> = spec.splitn(3, ',').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        bail!("--run `{spec}`: expected SERIES,POINT,DIR");
    }
    let path = PathBuf::from(parts[2]).join("metrics.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let num = |ptr: &str| -> Result<f64> {
        v.pointer(ptr)
            .and_then(serde_json::Value::as_f64)
            .with_context(|| format!("{}: no number at `{ptr}`", path.display()))
    };
    let key = match property {
        "qed" => "/qed_novel/mean",
        "rings" => "/rings_novel/mean",
        other => bail!("--property `{other}`: expected qed or rings"),
    };
    Ok(ParetoPoint {
        series: parts[0].to_string(),
        point: parts[1].to_string(),
        seconds: num("/run/seconds")?,
        samples: num("/samples")?,
        valid: num("/valid")?,
        novel: num("/novel")?,
        // No novel valid molecule: no mean (plotted nowhere, NaN in the table).
        property: num(key).unwrap_or(f64::NAN),
        mean_reward: v
            .pointer("/run/steer_stats/mean_reward")
            .and_then(serde_json::Value::as_f64),
    })
}

pub fn plot_pareto(a: &PlotParetoArgs) -> Result<()> {
    let points = a
        .runs
        .iter()
        .map(|r| read_pareto_point(r, &a.property))
        .collect::<Result<Vec<_>>>()?;
    let mut series: Vec<diffusion_core::plot::Series> = Vec::new();
    let mut md = format!(
        "| method | setting | s / 1,024 | valid % | novel % | valid × novel % | {} (novel) |\n|---|---|---|---|---|---|---|\n",
        a.property
    );
    for p in &points {
        let vn = p.valid * p.novel;
        md.push_str(&format!(
            "| {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.3} |\n",
            p.series,
            p.point,
            p.seconds * 1024.0 / p.samples.max(1.0),
            100.0 * p.valid,
            100.0 * p.novel,
            100.0 * vn,
            p.property
        ));
        if !p.property.is_finite() {
            continue;
        }
        let entry = match series.iter_mut().find(|s| s.name == p.series) {
            Some(s) => s,
            None => {
                series.push(diffusion_core::plot::Series {
                    name: p.series.clone(),
                    points: Vec::new(),
                });
                series.last_mut().expect("just pushed")
            }
        };
        entry.points.push((100.0 * vn, p.property, p.point.clone()));
    }
    diffusion_core::plot::scatter(
        &a.out,
        &format!("{} of novel molecules against valid × novel", a.property),
        "valid × novel (% of samples)",
        &format!("mean {} (novel)", a.property),
        &series,
    )?;
    let md_path = a.out.with_extension("md");
    diffusion_core::atomic_file::write_atomic(&md_path, md.as_bytes())?;
    print!("{md}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pareto_points_are_read_and_bad_runs_named() {
        let dir = std::env::temp_dir().join(format!("gdd-pareto-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("metrics.json"),
            r#"{"samples": 512, "valid": 0.5, "novel": 0.8, "qed_novel": {"mean": 0.47},
               "rings_novel": null, "run": {"seconds": 10.0, "steer_stats": {"mean_reward": 0.4}}}"#,
        )
        .unwrap();
        let spec = format!("SMC,λ=5,{}", dir.display());
        let p = read_pareto_point(&spec, "qed").unwrap();
        assert_eq!((p.series.as_str(), p.point.as_str()), ("SMC", "λ=5"));
        assert_eq!(
            (p.samples, p.valid, p.novel, p.property),
            (512.0, 0.5, 0.8, 0.47)
        );
        assert_eq!(p.mean_reward, Some(0.4));
        // No novel valid molecule: the property is NaN, not an error.
        assert!(read_pareto_point(&spec, "rings").unwrap().property.is_nan());
        let e = read_pareto_point("SMC,x", "qed").unwrap_err().to_string();
        assert!(e.contains("SERIES,POINT,DIR"), "{e}");
        let e = read_pareto_point(&spec, "logp").unwrap_err().to_string();
        assert!(e.contains("logp"), "{e}");
        std::fs::write(dir.join("metrics.json"), r#"{"valid": 0.5}"#).unwrap();
        let e = format!("{:#}", read_pareto_point(&spec, "qed").unwrap_err());
        assert!(
            e.contains("metrics.json") && e.contains("/run/seconds"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
