//! The sampling flags every domain binary shares, as clap groups: which guidance and how strong
//! (`--guidance`, `--gamma`, `--classifier`, `--exact`, `--also-cbg`, NOS and FUDGE settings),
//! sampler refinements (corrector, remasking, Ψ), reward steering, and the run itself (T, batch
//! size, seed, backend). [`SampleFlags`] bundles them and builds the [`Request`] of a run.

use crate::generate::{Generated, OwnedGuidanceModels, Request};
use crate::guidance::steer::{
    FinalPick, Potential, Resampling, Reward, SmcConfig, SteerMethod, X0Estimate, parse_reward_spec,
};
use crate::guidance::{GammaSchedule, exact_chunk};
use crate::nos::NosConfig;
use crate::psi::{PsiConfig, PsiMode};
use crate::sampler::SamplerConfig;
use crate::{CoreError, Result};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

/// Which guidance rule a sampling run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GuidanceKind {
    /// Unguided (a class-conditional model samples its class, or its null class).
    None,
    /// Classifier-free guidance (D-CFG) of a class-conditional model.
    Cfg,
    /// Classifier-based guidance (D-CBG) with a noisy classifier.
    Cbg,
    /// FUDGE, the AR baseline: top-k next tokens rescored by a causal classifier.
    Fudge,
    /// NOS: gradient steps on the generator's hidden state against a trained head.
    Nos,
}

impl GuidanceKind {
    pub fn name(self) -> &'static str {
        match self {
            GuidanceKind::None => "none",
            GuidanceKind::Cfg => "cfg",
            GuidanceKind::Cbg => "cbg",
            GuidanceKind::Fudge => "fudge",
            GuidanceKind::Nos => "nos",
        }
    }

    /// The rule's name in tables and plots (`exact`: D-CBG with the exact rule).
    pub fn label(self, exact: bool) -> &'static str {
        match self {
            GuidanceKind::None => "unguided",
            GuidanceKind::Cfg => "D-CFG",
            GuidanceKind::Cbg if exact => "D-CBG (exact)",
            GuidanceKind::Cbg => "D-CBG (first order)",
            GuidanceKind::Fudge => "FUDGE",
            GuidanceKind::Nos => "NOS",
        }
    }
}

/// The guidance flags shared by every domain's `sample` (and, where it fits, `sweep`).
#[derive(Args, Clone, Debug)]
pub struct GuidanceArgs {
    #[arg(long, value_enum, default_value = "none")]
    pub guidance: GuidanceKind,
    /// Guidance strength γ (D-CFG, D-CBG, FUDGE; NOS uses the --nos-* settings).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub gamma: f64,
    /// How γ varies over the reverse process: constant, ramp (none at pure noise, full at the
    /// end) or late:T (only for t ≤ T). D-CFG and D-CBG; AR decoding keeps γ.
    #[arg(long, default_value = "constant")]
    pub gamma_schedule: String,
    /// Classifier checkpoint for D-CBG or FUDGE, or a NOS head for NOS.
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    /// Exact D-CBG (every single-token edit) instead of first-order.
    #[arg(long)]
    pub exact: bool,
    /// Sequences per classifier pass in exact D-CBG (default: about 8,192 tokens per pass).
    #[arg(long)]
    pub chunk: Option<usize>,
    /// Extra D-CBG term `CLASSIFIER:TARGET:GAMMA` (repeatable): multi-objective guidance.
    #[arg(long = "also-cbg", value_name = "CKPT:TARGET:GAMMA")]
    pub also_cbg: Vec<String>,
    /// NOS: Adagrad steps on the hidden state per reverse step.
    #[arg(long, default_value_t = 1)]
    pub nos_steps: usize,
    /// NOS: step size.
    #[arg(long, default_value_t = 0.1)]
    pub nos_step_size: f64,
    /// NOS: weight λ of the KL stability term.
    #[arg(long, default_value_t = 0.01)]
    pub nos_stability: f64,
    /// FUDGE: candidates rescored per step.
    #[arg(long, default_value_t = 40)]
    pub top_k: usize,
}

impl GuidanceArgs {
    /// The NOS settings of these flags (the target is set per class group).
    pub fn nos_config(&self) -> NosConfig {
        NosConfig {
            steps: self.nos_steps,
            step_size: self.nos_step_size,
            stability: self.nos_stability,
            target: 0,
        }
    }

    /// `--exact` as the pass size of exact D-CBG for sequences of `seq_len` tokens.
    pub fn exact_chunk(&self, seq_len: usize) -> Result<Option<usize>> {
        match (self.exact, self.chunk) {
            (false, Some(_)) => Err(CoreError::config("--chunk", "applies only with --exact")),
            (true, Some(0)) => Err(CoreError::config("--chunk", "must be at least 1")),
            (true, c) => Ok(Some(c.unwrap_or_else(|| exact_chunk(seq_len)))),
            (false, None) => Ok(None),
        }
    }

    /// The `--also-cbg` terms as (classifier path, target, γ).
    pub fn extra_terms(&self) -> Result<Vec<(PathBuf, i64, f64)>> {
        self.also_cbg.iter().map(|s| parse_extra_cbg(s)).collect()
    }

    /// `--gamma-schedule`.
    pub fn schedule(&self) -> Result<GammaSchedule> {
        GammaSchedule::parse(&self.gamma_schedule)
    }
}

/// Sampler refinements shared by every domain's `sample` (off by default; §5.2, §5.4):
/// forward–backward corrector steps for UDLM, ReMDM-cap remasking for MDLM, Ψ-samplers for both.
#[derive(Args, Clone, Debug, Default)]
pub struct RefineArgs {
    /// UDLM: corrector steps after each reverse step (each one more network pass).
    #[arg(long, default_value_t = 0)]
    pub corrector_steps: usize,
    /// MDLM: ReMDM-cap remasking with this η_cap in [0, 1] (unmasked tokens may be revised).
    #[arg(long)]
    pub remask_cap: Option<f64>,
    /// Finish with the denoiser's argmax at t = ε (noise-free last step).
    #[arg(long)]
    pub final_denoise: bool,
    /// Ψ-sampler (MDLM / UDLM, no extra network pass): how κ_t mixes the reverse step with the
    /// re-noised prediction: posterior, pc, constant-K, remdm-constant-η, max-capped-η or
    /// max-rescale-η.
    #[arg(long, value_name = "MODE")]
    pub psi: Option<PsiMode>,
    /// The steps where --psi applies, as fractions START,END of T counted from t = 1 (default
    /// 0,1: all); the ancestral step runs elsewhere.
    #[arg(long, value_name = "START,END", value_parser = parse_window, requires = "psi")]
    pub psi_window: Option<[f64; 2]>,
    /// Hold t fixed inside the --psi-window where α_t = ALPHA (ReMDM's loop).
    #[arg(long, value_name = "ALPHA", requires = "psi")]
    pub psi_loop: Option<f64>,
    /// Run the categorical draws in f64, as the reference does (f32 truncates the race's
    /// exponential draws, which lowers the diversity of samples over many steps).
    #[arg(long)]
    pub float64: bool,
    /// Nucleus sampling: draw from the smallest top set of x_θ (AR: of the next-token
    /// distribution) with probability ≥ P, in (0, 1]; fewer unlikely tokens, less diversity.
    #[arg(long, value_name = "P")]
    pub top_p: Option<f64>,
}

/// `START,END` of `--psi-window`: two fractions with 0 ≤ START ≤ END ≤ 1.
fn parse_window(s: &str) -> std::result::Result<[f64; 2], String> {
    let bad = || format!("'{s}': expected START,END with 0 ≤ START ≤ END ≤ 1, e.g. 0.5,0.9");
    let (a, b) = s.split_once(',').ok_or_else(bad)?;
    let (a, b): (f64, f64) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if !(0.0 <= a && a <= b && b <= 1.0) {
        return Err(bad());
    }
    Ok([a, b])
}

impl RefineArgs {
    /// `config` with these refinements (the sampler checks that they fit the model).
    pub fn apply(&self, config: SamplerConfig) -> SamplerConfig {
        let psi = match self.psi {
            Some(mode) => Some(PsiConfig {
                mode,
                window: self.psi_window.unwrap_or([0.0, 1.0]),
                loop_alpha: self.psi_loop,
            }),
            None => config.psi.clone(),
        };
        SamplerConfig {
            corrector_steps: self.corrector_steps,
            remask_cap: self.remask_cap,
            final_denoise: self.final_denoise || config.final_denoise,
            use_float64: self.float64 || config.use_float64,
            psi,
            top_p: self.top_p.or(config.top_p),
            ..config
        }
    }

    /// A short description for logs and metrics files.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.corrector_steps > 0 {
            parts.push(format!("corrector×{}", self.corrector_steps));
        }
        if let Some(p) = self.top_p {
            parts.push(format!("top-p {p}"));
        }
        if let Some(eta) = self.remask_cap {
            parts.push(format!("remdm-cap η={eta}"));
        }
        if let Some(mode) = self.psi {
            let mut p = format!("Ψ {mode}");
            if let Some(w) = &self.psi_window {
                p += &format!(" on [{}, {})", w[0], w[1]);
            }
            if let Some(c) = self.psi_loop {
                p += &format!(" looped at α={c}");
            }
            parts.push(p);
        }
        if self.final_denoise {
            parts.push("final-denoise".into());
        }
        if self.float64 {
            parts.push("f64 draws".into());
        }
        if parts.is_empty() {
            "ancestral".into()
        } else {
            parts.join(", ")
        }
    }
}

/// Which reward-steering method a sampling run uses (§6.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum SteerKind {
    /// No reward steering.
    #[default]
    None,
    /// Sequential Monte Carlo / Feynman–Kac steering with --particles K per sample.
    Smc,
    /// SVDD: --candidates M draws of each step, the best by reward kept.
    Svdd,
    /// Best-of-N: --particles N independent samples, the one with the highest reward kept.
    BestOfN,
}

/// The reward-steering flags shared by every domain's `sample`. The reward names are the
/// domain's (`--reward qed`, `--reward qed:1,rings:0.5`, ...).
#[derive(Args, Clone, Debug)]
pub struct SteerArgs {
    #[arg(long, value_enum, default_value = "none")]
    pub steer: SteerKind,
    /// Reward for --steer: NAME[:WEIGHT][,NAME[:WEIGHT]...], a weighted sum of the domain's
    /// rewards (molecules: qed, rings, valid; genomics: gc, at, motif=BASES) and, in every
    /// domain, `classifier`: log p(target class) under --reward-classifier.
    #[arg(long)]
    pub reward: Option<String>,
    /// Clean classifier for `--reward classifier`. Steering with the evaluation classifier
    /// itself makes its scores optimistic; a separately trained one does not.
    #[arg(long)]
    pub reward_classifier: Option<PathBuf>,
    /// Particles per sample (SMC) or samples per kept one (best-of-N).
    #[arg(long, default_value_t = 4)]
    pub particles: usize,
    /// SMC tilt λ: the particles target p(x)·exp(λ·reward(x)).
    #[arg(long, default_value_t = 10.0, allow_negative_numbers = true)]
    pub steer_lambda: f64,
    /// SMC potential: difference (exact tilt), max or sum of the rewards along the path.
    #[arg(long, value_enum, default_value = "difference")]
    pub potential: Potential,
    /// SMC: resample a group when its ESS falls below this fraction of the particles.
    #[arg(long, default_value_t = 0.5)]
    pub ess_threshold: f64,
    #[arg(long, value_enum, default_value = "systematic")]
    pub resampling: Resampling,
    /// SMC: return a particle drawn by its final weight, or the one with the best reward.
    #[arg(long, value_enum, default_value = "sample")]
    pub steer_pick: FinalPick,
    /// SVDD: candidates of z_s per step.
    #[arg(long, default_value_t = 4)]
    pub candidates: usize,
    /// SVDD: 0 keeps the best candidate, α > 0 draws one ∝ exp(reward/α).
    #[arg(long, default_value_t = 0.0)]
    pub svdd_alpha: f64,
    /// How the reward reads x̂₀ from the denoiser: argmax or a draw.
    #[arg(long, value_enum, default_value = "argmax")]
    pub x0: X0Estimate,
}

impl SteerArgs {
    /// The method these flags select (None without --steer), checked.
    pub fn method(&self) -> Result<Option<SteerMethod>> {
        let m = match self.steer {
            SteerKind::None => return Ok(None),
            SteerKind::Smc => SteerMethod::Smc(SmcConfig {
                particles: self.particles,
                lambda: self.steer_lambda,
                potential: self.potential,
                ess_threshold: self.ess_threshold,
                resampling: self.resampling,
                pick: self.steer_pick,
            }),
            SteerKind::BestOfN => SteerMethod::Smc(SmcConfig::best_of_n(self.particles)),
            SteerKind::Svdd => SteerMethod::Svdd {
                candidates: self.candidates,
                alpha: self.svdd_alpha,
            },
        };
        m.validate()?;
        Ok(Some(m))
    }

    /// The reward terms (name, weight) of --reward; required with --steer.
    pub fn reward_terms(&self) -> Result<Vec<(String, f64)>> {
        match (&self.reward, self.steer) {
            (Some(spec), _) => parse_reward_spec(spec),
            (None, SteerKind::None) => Ok(Vec::new()),
            (None, _) => Err(CoreError::config(
                "--reward",
                "reward steering needs --reward NAME[:WEIGHT],...",
            )),
        }
    }

    /// The steering of a [`Request`], with the domain's `reward` (built from
    /// [`SteerArgs::reward_terms`]; needed when --steer is set).
    pub fn request<'a>(&self, reward: Option<&'a dyn Reward>) -> Result<Option<SteerRequest<'a>>> {
        let Some(method) = self.method()? else {
            return Ok(None);
        };
        let reward = reward.ok_or_else(|| {
            CoreError::config(
                "--reward",
                "reward steering needs --reward NAME[:WEIGHT],...",
            )
        })?;
        Ok(Some(SteerRequest {
            reward,
            method,
            x0: self.x0,
        }))
    }

    /// The line a domain's `sample` prints about what steering did.
    pub fn report(&self, st: &crate::guidance::steer::SteerStats) -> String {
        format!(
            "steering ({}; reward {}): mean reward {:.4}, mean final ESS/K {:.3}, {} resamplings, {} reward evaluations",
            self.describe(),
            self.reward.as_deref().unwrap_or("-"),
            st.mean_reward(),
            st.mean_final_ess(),
            st.resamples,
            st.reward_evals
        )
    }

    /// A short description for logs and metrics files.
    pub fn describe(&self) -> String {
        match self.steer {
            SteerKind::None => "none".into(),
            SteerKind::Smc => format!(
                "smc K={} λ={} {:?} ess<{} {:?} pick={:?} x0={:?}",
                self.particles,
                self.steer_lambda,
                self.potential,
                self.ess_threshold,
                self.resampling,
                self.steer_pick,
                self.x0
            ),
            SteerKind::BestOfN => format!("best-of-{}", self.particles),
            SteerKind::Svdd => format!(
                "svdd M={} α={} x0={:?}",
                self.candidates, self.svdd_alpha, self.x0
            ),
        }
    }
}

/// Reward steering of a [`Request`]: the reward (built by the domain) and the method.
pub struct SteerRequest<'a> {
    pub reward: &'a dyn Reward,
    pub method: SteerMethod,
    pub x0: X0Estimate,
}

/// Parse `CLASSIFIER:TARGET:GAMMA` (the path may itself contain `:`).
pub fn parse_extra_cbg(spec: &str) -> Result<(PathBuf, i64, f64)> {
    let parts: Vec<&str> = spec.rsplitn(3, ':').collect();
    let bad = |why: String| CoreError::config("--also-cbg", format!("`{spec}`: {why}"));
    if parts.len() != 3 || parts[2].is_empty() {
        return Err(bad("expected CLASSIFIER:TARGET:GAMMA".into()));
    }
    let gamma = parts[0]
        .parse()
        .map_err(|e| bad(format!("γ `{}`: {e}", parts[0])))?;
    let target = parts[1]
        .parse()
        .map_err(|e| bad(format!("target `{}`: {e}", parts[1])))?;
    Ok((PathBuf::from(parts[2]), target, gamma))
}

/// The sampling-run flags every domain's `sample` shares, with the domain's defaults for T
/// (`STEPS`) and the batch size (`BATCH`).
#[derive(Args, Clone, Debug)]
pub struct SampleRunArgs<const STEPS: usize, const BATCH: usize> {
    /// Reverse steps T (AR models ignore it).
    #[arg(long, default_value_t = STEPS)]
    pub steps: usize,
    /// Sequences per batch.
    #[arg(long, default_value_t = BATCH)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Compute backend.
    #[arg(long)]
    pub backend: Option<String>,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Replace the results of an earlier run at the output path (refused otherwise).
    #[arg(long)]
    pub force: bool,
}

impl<const STEPS: usize, const BATCH: usize> SampleRunArgs<STEPS, BATCH> {
    /// The sampler settings these flags name (the rest at their defaults).
    pub fn sampler(&self) -> SamplerConfig {
        SamplerConfig {
            steps: self.steps,
            batch_size: self.batch_size,
            seed: self.seed,
            ..Default::default()
        }
    }
}

/// Every sampling flag of a domain's `sample` in one group: guidance, reward steering, sampler
/// refinements and the run (T, batch size, seed, backend, progress, --force), with the domain's
/// defaults for T (`STEPS`) and the batch size (`BATCH`).
#[derive(Args, Clone, Debug)]
pub struct SampleFlags<const STEPS: usize, const BATCH: usize> {
    #[command(flatten)]
    pub guide: GuidanceArgs,
    /// Reward steering (SMC / FK, SVDD, best-of-N) with the domain's rewards.
    #[command(flatten)]
    pub steer: SteerArgs,
    /// Sampler refinements: UDLM corrector steps, MDLM ReMDM-cap remasking, Ψ-samplers, a
    /// final noise-free step.
    #[command(flatten)]
    pub refine: RefineArgs,
    #[command(flatten)]
    pub run: SampleRunArgs<STEPS, BATCH>,
}

impl<const STEPS: usize, const BATCH: usize> SampleFlags<STEPS, BATCH> {
    /// The request these flags make for a generator of length `seq_len`: the loaded guidance
    /// `models`, the domain's steering `reward` (when `--steer` asks for one) and `pins`.
    pub fn request<'a>(
        &self,
        models: &'a OwnedGuidanceModels,
        reward: Option<&'a dyn Reward>,
        seq_len: usize,
        pins: Vec<(usize, i64)>,
    ) -> Result<Request<'a>> {
        Ok(Request {
            guidance: self.guide.guidance,
            gamma: self.guide.gamma,
            schedule: self.guide.schedule()?,
            models: models.models(self.guide.nos_config()),
            exact: self.guide.exact_chunk(seq_len)?,
            top_k: self.guide.top_k,
            sampler: self.refine.apply(self.run.sampler()),
            pins,
            progress: !self.run.quiet,
            steer: self.steer.request(reward)?,
        })
    }

    /// The `run` record of a sample command's `metrics.json`, the same in every domain: what
    /// was asked (checkpoint, guidance, γ and its schedule, T, steering, sampler refinements,
    /// reward) and what `done`, the generation of `n` samples, cost (network evaluations,
    /// seconds, steering statistics). Domains add their own fields (target, classes, …).
    pub fn run_record(&self, checkpoint: &Path, done: &Generated, n: usize) -> serde_json::Value {
        let (g, secs) = (&self.guide, done.seconds);
        serde_json::json!({
            "checkpoint": checkpoint,
            "guidance": g.guidance.name(),
            "exact": g.exact,
            "gamma": g.gamma,
            "gamma_schedule": g.gamma_schedule,
            "steps": self.run.steps,
            "seed": self.run.seed,
            "nfe": done.nfe,
            "seconds": secs,
            "samples_per_s": n as f64 / secs.max(1e-9),
            "steer": self.steer.describe(),
            "sampler": self.refine.describe(),
            "reward": self.steer.reward,
            "steer_stats": done.steer.as_ref().map(|st| serde_json::json!({
                "mean_reward": st.mean_reward(),
                "mean_final_ess": st.mean_final_ess(),
                "mean_log_z": st.mean_log_z(),
                "resamples": st.resamples,
                "reward_evals": st.reward_evals,
            })),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_cbg_spec_parses_paths_with_colons() {
        let (p, t, g) = parse_extra_cbg("C:/runs/clf.ckpt:1:2.5").unwrap();
        assert_eq!(p, PathBuf::from("C:/runs/clf.ckpt"));
        assert_eq!((t, g), (1, 2.5));
        let (_, t, g) = parse_extra_cbg("a.ckpt:0:-1").unwrap();
        assert_eq!((t, g), (0, -1.0));
        for bad in ["a.ckpt", "a.ckpt:1", ":1:2", "a.ckpt:x:2", "a.ckpt:1:y"] {
            let e = parse_extra_cbg(bad).unwrap_err().to_string();
            assert!(e.contains("--also-cbg") && e.contains(bad), "{bad}: {e}");
        }
    }

    /// The Ψ flags build `sampling.psi`; a bad window or mode is a clap error naming the flag.
    #[test]
    fn psi_flags_parse_into_the_sampler_config() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            refine: RefineArgs,
        }
        let parse = |args: &[&str]| Cli::try_parse_from([&["x"], args].concat());
        let c = parse(&["--psi", "constant-0.95", "--psi-window", "0.5,0.9"]).unwrap();
        let cfg = c.refine.apply(SamplerConfig::default());
        assert_eq!(
            cfg.psi,
            Some(PsiConfig {
                mode: PsiMode::Constant(0.95),
                window: [0.5, 0.9],
                loop_alpha: None
            })
        );
        assert_eq!(c.refine.describe(), "Ψ constant-0.95 on [0.5, 0.9)");
        let c = parse(&["--psi", "max-capped-0.02", "--psi-loop", "0.9"]).unwrap();
        let psi = c.refine.apply(SamplerConfig::default()).psi.unwrap();
        assert_eq!((psi.window, psi.loop_alpha), ([0.0, 1.0], Some(0.9)));
        assert!(
            parse(&[])
                .unwrap()
                .refine
                .apply(SamplerConfig::default())
                .psi
                .is_none()
        );
        for bad in [
            &["--psi", "constant-2"][..],
            &["--psi", "pc", "--psi-window", "0.5"],
            &["--psi", "pc", "--psi-window", "0.9,0.5"],
            &["--psi-window", "0,1"],
        ] {
            let e = parse(bad).err().unwrap().to_string();
            assert!(e.contains("--psi"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn chunk_needs_exact() {
        let mut a = GuidanceArgs {
            guidance: GuidanceKind::Cbg,
            gamma: 1.0,
            gamma_schedule: "constant".into(),
            classifier: None,
            exact: false,
            chunk: Some(4),
            also_cbg: vec![],
            nos_steps: 1,
            nos_step_size: 0.1,
            nos_stability: 0.01,
            top_k: 40,
        };
        assert!(a.exact_chunk(32).is_err());
        a.exact = true;
        assert_eq!(a.exact_chunk(32).unwrap(), Some(4));
        a.chunk = None;
        assert_eq!(a.exact_chunk(32).unwrap(), Some(exact_chunk(32)));
        a.chunk = Some(0);
        assert!(a.exact_chunk(32).is_err());
    }
}
