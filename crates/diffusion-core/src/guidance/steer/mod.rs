//! Reward-guided sampling with no classifier (beyond the paper): sequential Monte Carlo /
//! Feynman–Kac steering (Singhal et al. 2025; twisted SMC, Wu et al. 2023), SVDD (Li et al.
//! 2024) and best-of-N. A [`Reward`] scores clean sequences and may be non-differentiable (QED,
//! a motif count, an oracle); the sampler scores the model's prediction x̂₀ of each particle.
//!
//! The rules, each a function below with hand-computed tests (docs/spec.md §6.5):
//! - **Potentials.** SMC carries a log-weight per particle. After step i a particle has a
//!   log-potential φ_i = λ·r_i (`Difference`), λ·max_{j≤i} r_j (`Max`) or λ·Σ_{j≤i} r_j (`Sum`),
//!   r_j the reward of its x̂₀ at step j, and its log-weight grows by φ_i − φ_{i−1} (φ_0 = 0).
//!   With `Difference` the increments telescope to λ·r(x₀) for the final clean x₀, so the
//!   particles target p(x₀)·exp(λ·r(x₀)) / Z; `Max` and `Sum` target the path statistic instead.
//! - **Resampling.** ESS = (Σ w)² / Σ w²; when ESS < threshold·K the group is resampled
//!   (systematic or multinomial) and its weights are equal again. log Ẑ adds
//!   log mean w at each resampling and at the end.
//! - **Output.** One particle per group, drawn by its final weights (or the highest final
//!   reward).
//! - **SVDD.** Each step draws M candidates of z_s per sequence and keeps the best by the reward
//!   of x̂₀(z_s) (α = 0), or draws one with probabilities ∝ exp(v/α).

use crate::error::{CoreError, Result};

mod particles;
use particles::mean;
pub use particles::*;

/// A score of clean sequences, higher is better. It need not be differentiable.
pub trait Reward {
    /// A short name for logs and tables.
    fn name(&self) -> String;
    /// Scores of the row-major sequences `rows` ([n, L] token ids, special tokens included)
    /// aimed at class `target` (ignored by rewards that have no class).
    fn score(&self, rows: &[i64], seq_len: usize, target: i64) -> Vec<f64>;
}

/// Σ_k w_k·r_k: several rewards at once (multi-objective steering).
pub struct WeightedSum<'a> {
    pub terms: Vec<(f64, Box<dyn Reward + 'a>)>,
}

impl Reward for WeightedSum<'_> {
    fn name(&self) -> String {
        self.terms
            .iter()
            .map(|(w, r)| format!("{w}·{}", r.name()))
            .collect::<Vec<_>>()
            .join(" + ")
    }
    fn score(&self, rows: &[i64], seq_len: usize, target: i64) -> Vec<f64> {
        let mut total = vec![0.0; rows.len() / seq_len.max(1)];
        for (w, r) in &self.terms {
            for (t, v) in total.iter_mut().zip(r.score(rows, seq_len, target)) {
                *t += w * v;
            }
        }
        total
    }
}

/// log p_φ(target | x) of a classifier read on clean sequences (σ = 0): an oracle, or any
/// classifier trained separately from the one used for evaluation. Rows are scored in passes of
/// `chunk` sequences.
pub struct ClassifierReward<'a> {
    pub classifier: &'a dyn crate::guidance::GuidanceClassifier,
    pub device: burn::prelude::Device,
    pub chunk: usize,
    pub label: String,
}

impl Reward for ClassifierReward<'_> {
    fn name(&self) -> String {
        self.label.clone()
    }
    fn score(&self, rows: &[i64], seq_len: usize, target: i64) -> Vec<f64> {
        use crate::tensor_util::{ids_tensor, vec_tensor};
        let mut out = Vec::with_capacity(rows.len() / seq_len.max(1));
        for part in rows.chunks(seq_len * self.chunk.max(1)) {
            let b = part.len() / seq_len;
            let lp = self.classifier.log_probs(
                ids_tensor(part, b, seq_len, &self.device),
                vec_tensor(&vec![0.0; b], &self.device),
            );
            let c = self.classifier.num_classes();
            let v = crate::tensor_util::to_vec_f32(lp);
            out.extend((0..b).map(|i| v[i * c + target as usize] as f64));
        }
        out
    }
}

/// A domain's named rewards: the reward a `--reward` name stands for, or `None` for a name the
/// domain does not know.
pub type DomainRewards<'f, 'a> = &'f dyn Fn(&str) -> Result<Option<Box<dyn Reward + 'a>>>;

/// The reward of `--reward` terms (name, weight): each name is the domain's (`domain` turns it
/// into a reward, or `None` for a name it does not know; `names` lists them for the error),
/// except `classifier`, which is log p(target | x) under `classifier` (`--reward-classifier`),
/// labelled `log p(<class_word>)`. One term of weight 1 is that reward; several, their sum.
pub fn build_reward<'a>(
    terms: &[(String, f64)],
    names: &[&str],
    classifier: Option<(&'a dyn crate::guidance::GuidanceClassifier, &str)>,
    device: &burn::prelude::Device,
    domain: DomainRewards<'_, 'a>,
) -> Result<Box<dyn Reward + 'a>> {
    let one = |name: &str| -> Result<Box<dyn Reward + 'a>> {
        if name == "classifier" {
            let (classifier, class_word) = classifier.ok_or_else(|| {
                CoreError::config(
                    "--reward",
                    "`classifier` needs --reward-classifier (a clean classifier of the classes)",
                )
            })?;
            return Ok(Box::new(ClassifierReward {
                classifier,
                device: device.clone(),
                chunk: 64,
                label: format!("log p({class_word})"),
            }));
        }
        domain(name)?.ok_or_else(|| {
            let known: Vec<&str> = names.iter().copied().chain(["classifier"]).collect();
            CoreError::config(
                "--reward",
                format!("unknown reward `{name}` (known: {})", known.join(", ")),
            )
        })
    };
    match terms {
        [] => Err(CoreError::config("--reward", "no reward named")),
        [(name, w)] if *w == 1.0 => one(name),
        _ => Ok(Box::new(WeightedSum {
            terms: terms
                .iter()
                .map(|(name, w)| Ok((*w, one(name)?)))
                .collect::<Result<_>>()?,
        })),
    }
}

/// Parse a reward spec `NAME[:WEIGHT][,NAME[:WEIGHT]...]` (weights default to 1) into its
/// terms; the domain turns each name into a [`Reward`].
pub fn parse_reward_spec(spec: &str) -> Result<Vec<(String, f64)>> {
    let bad = |why: String| CoreError::config("--reward", format!("`{spec}`: {why}"));
    let mut terms = Vec::new();
    for part in spec.split(',') {
        let part = part.trim();
        let (name, weight) = match part.rsplit_once(':') {
            Some((name, w)) => {
                let w: f64 = w
                    .trim()
                    .parse()
                    .map_err(|e| bad(format!("weight `{w}`: {e}")))?;
                (name.trim(), w)
            }
            None => (part, 1.0),
        };
        if name.is_empty() {
            return Err(bad("expected NAME[:WEIGHT][,NAME[:WEIGHT]...]".into()));
        }
        if !weight.is_finite() {
            return Err(bad(format!("weight of `{name}` must be finite")));
        }
        terms.push((name.to_string(), weight));
    }
    Ok(terms)
}

/// The per-particle path statistic behind the log-potential φ = λ·stat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Potential {
    /// stat = the latest reward: the weights telescope to exp(λ·r(x₀)).
    Difference,
    /// stat = the highest reward so far.
    Max,
    /// stat = the sum of the rewards so far.
    Sum,
}

impl Potential {
    /// The statistic before any reward (φ_0 = 0 for `Difference` and `Sum`).
    pub fn initial(self) -> f64 {
        match self {
            Potential::Max => f64::NEG_INFINITY,
            _ => 0.0,
        }
    }

    /// The statistic after reward `r`.
    pub fn next(self, stat: f64, r: f64) -> f64 {
        match self {
            Potential::Difference => r,
            Potential::Max => stat.max(r),
            Potential::Sum => stat + r,
        }
    }
}

/// How a group of particles is resampled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Resampling {
    /// One uniform u: offspring at (u + k)/K on the weights' cumulative sum (lower variance).
    Systematic,
    /// K independent draws from the weights.
    Multinomial,
}

/// Which particle of a group is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FinalPick {
    /// Drawn by the final weights (the SMC estimate of the tilted distribution).
    Sample,
    /// The highest final reward (best-of-N when λ = 0).
    Best,
}

/// How x̂₀ is read from the denoiser's x_θ for the reward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum X0Estimate {
    /// The most probable token at every position that may still change.
    Argmax,
    /// One draw from x_θ per position.
    Sample,
}

/// SMC / Feynman–Kac steering settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SmcConfig {
    /// Particles K per returned sequence.
    pub particles: usize,
    /// Tilt λ of p(x)·exp(λ·r(x)); 0 scores only the final samples (best-of-N).
    pub lambda: f64,
    pub potential: Potential,
    /// Resample a group when its ESS falls below this fraction of K (0: never; 1: every step).
    pub ess_threshold: f64,
    pub resampling: Resampling,
    pub pick: FinalPick,
}

impl SmcConfig {
    /// Best-of-N: N independent samples, the one with the highest reward kept.
    pub fn best_of_n(n: usize) -> Self {
        Self {
            particles: n,
            lambda: 0.0,
            potential: Potential::Difference,
            ess_threshold: 0.0,
            resampling: Resampling::Systematic,
            pick: FinalPick::Best,
        }
    }
}

/// A reward-steering method.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SteerMethod {
    /// Sequential Monte Carlo with K particles per sequence (FK steering; best-of-N at λ = 0).
    Smc(SmcConfig),
    /// SVDD: M candidates of z_s per step, one kept by the reward of x̂₀ (best if α = 0).
    Svdd { candidates: usize, alpha: f64 },
}

impl SteerMethod {
    pub fn validate(&self) -> Result<()> {
        match *self {
            SteerMethod::Smc(c) => {
                if c.particles == 0 {
                    return Err(CoreError::config("--particles", "must be at least 1"));
                }
                if !c.lambda.is_finite() {
                    return Err(CoreError::config("--steer-lambda", "must be finite"));
                }
                if !(0.0..=1.0).contains(&c.ess_threshold) {
                    return Err(CoreError::config("--ess-threshold", "must be in [0, 1]"));
                }
            }
            SteerMethod::Svdd { candidates, alpha } => {
                if candidates == 0 {
                    return Err(CoreError::config("--candidates", "must be at least 1"));
                }
                if alpha.is_nan() || alpha < 0.0 || alpha.is_infinite() {
                    return Err(CoreError::config("--svdd-alpha", "must be finite and ≥ 0"));
                }
            }
        }
        Ok(())
    }

    /// Rows the sampler carries per returned sequence.
    pub fn particles(&self) -> usize {
        match *self {
            SteerMethod::Smc(c) => c.particles,
            SteerMethod::Svdd { .. } => 1,
        }
    }
}

/// Reward steering as the sampler takes it: the reward, the class it aims at, the method.
pub struct Steering<'a> {
    pub reward: &'a dyn Reward,
    pub target: i64,
    pub method: SteerMethod,
    pub x0: X0Estimate,
}

/// What steering did for one batch: per returned sequence, its reward and its group's final
/// effective sample size (ESS / K) and log Ẑ; the resampling events and reward evaluations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SteerStats {
    pub rewards: Vec<f64>,
    pub final_ess: Vec<f64>,
    pub log_z: Vec<f64>,
    pub resamples: usize,
    pub reward_evals: usize,
}

impl SteerStats {
    /// Mean reward of the returned sequences.
    pub fn mean_reward(&self) -> f64 {
        mean(&self.rewards)
    }

    /// Mean final ESS / K of their groups.
    pub fn mean_final_ess(&self) -> f64 {
        mean(&self.final_ess)
    }

    /// Mean log Ẑ of their groups.
    pub fn mean_log_z(&self) -> f64 {
        mean(&self.log_z)
    }

    /// Append another batch's statistics.
    pub fn extend(&mut self, other: &SteerStats) {
        self.rewards.extend_from_slice(&other.rewards);
        self.final_ess.extend_from_slice(&other.final_ess);
        self.log_z.extend_from_slice(&other.log_z);
        self.resamples += other.resamples;
        self.reward_evals += other.reward_evals;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_sums_and_specs() {
        struct Len;
        impl Reward for Len {
            fn name(&self) -> String {
                "len".into()
            }
            fn score(&self, rows: &[i64], l: usize, _: i64) -> Vec<f64> {
                rows.chunks(l)
                    .map(|r| r.iter().filter(|&&v| v > 0).count() as f64)
                    .collect()
            }
        }
        struct First;
        impl Reward for First {
            fn name(&self) -> String {
                "first".into()
            }
            fn score(&self, rows: &[i64], l: usize, t: i64) -> Vec<f64> {
                rows.chunks(l).map(|r| (r[0] == t) as u8 as f64).collect()
            }
        }
        let r = WeightedSum {
            terms: vec![(0.5, Box::new(Len)), (-2.0, Box::new(First))],
        };
        // Rows (3, 0) and (1, 1), target 3: 0.5·1 − 2·1 = −1.5; 0.5·2 − 0 = 1.
        assert_eq!(r.score(&[3, 0, 1, 1], 2, 3), [-1.5, 1.0]);
        assert_eq!(r.name(), "0.5·len + -2·first");
        assert_eq!(
            parse_reward_spec("qed, rings:-0.5").unwrap(),
            [("qed".to_string(), 1.0), ("rings".to_string(), -0.5)]
        );
        for bad in ["", "qed:x", ":2", "qed:inf"] {
            let e = parse_reward_spec(bad).unwrap_err().to_string();
            assert!(e.contains("--reward"), "{bad}: {e}");
        }
    }
}
