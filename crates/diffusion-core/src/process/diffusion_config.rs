//! The `[diffusion]` section of a config: the model type (AR, MDLM, UDLM, GIDD), the schedule,
//! the time grid, the loss options and the token facts (N, L, mask and pad ids), with the
//! checks that name the field.

use crate::error::{CoreError, Result};
use crate::hybrid::GiddConfig;
use crate::schedule::Schedule;
use serde::{Deserialize, Serialize};

/// AR, MDLM or UDLM (spec §1, the flag triples of the reference scripts), or GIDD: hybrid
/// mask-plus-uniform noise (spec §2.5), beyond the paper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    Ar,
    Mdlm,
    Udlm,
    Gidd,
}

impl std::str::FromStr for ModelKind {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ar" => Ok(Self::Ar),
            "mdlm" => Ok(Self::Mdlm),
            "udlm" => Ok(Self::Udlm),
            "gidd" => Ok(Self::Gidd),
            _ => Err(CoreError::config(
                "kind",
                format!("`{s}` is not one of ar, mdlm, udlm, gidd"),
            )),
        }
    }
}

/// Which α_t the UDLM and discrete-time losses use (spec §4.2, §13.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlphaMode {
    /// α_t of the schedule that also noises the data. Default: the bound is then the NELBO of
    /// the process the model is trained on (with loglinear ε = 1e-3 the reference's α = 1 − t is
    /// off by up to 0.1 %), and it works for every schedule.
    #[default]
    Exact,
    /// The reference code's hard-coded α_t = 1 − t, α'_t = −1 (loglinear only), for bit-parity.
    Reference,
}

fn default_sampling_eps() -> f64 {
    1e-3
}
fn default_true() -> bool {
    true
}
fn default_cond_dropout() -> f64 {
    0.1
}

/// Everything about the diffusion process and its loss. Token facts (N, L, mask, pad) are
/// resolved from the domain's tokenizer and stored so checkpoints are self-describing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffusionConfig {
    pub kind: ModelKind,
    /// N, L and the mask id come from the domain's tokenizer; config files leave them out.
    #[serde(default)]
    pub vocab_size: usize,
    #[serde(default)]
    pub seq_len: usize,
    #[serde(default)]
    pub mask_id: i64,
    #[serde(default)]
    pub pad_id: Option<i64>,
    #[serde(default)]
    pub schedule: Schedule,
    /// T: 0 selects the continuous-time loss, T > 0 the discrete-time D3PM loss (spec §4.3).
    #[serde(default)]
    pub discrete_steps: usize,
    /// Condition the network on σ(t). Default: on for UDLM, off for MDLM and AR (spec §1).
    #[serde(default)]
    pub time_conditioning: Option<bool>,
    #[serde(default)]
    pub alpha_mode: AlphaMode,
    /// Training-time ε_s: t ∈ [ε_s, 1) (spec §2.3).
    #[serde(default = "default_sampling_eps")]
    pub sampling_eps: f64,
    #[serde(default = "default_true")]
    pub antithetic: bool,
    /// Training loss as the plain mean over all positions, pads included (QM9, Amazon).
    #[serde(default)]
    pub loss_on_pad: bool,
    /// Train with plain CE −log x_θ[x] instead of the NELBO (spec §4.5).
    #[serde(default)]
    pub simple_ce: bool,
    /// Label dropout to the null class for classifier-free training (spec §4.6).
    #[serde(default = "default_cond_dropout")]
    pub cond_dropout: f64,
    /// Continuous-time UDLM: add the reconstruction term −log x_θ(x; σ = 0)[x] from a second,
    /// clean pass (the reference's `zero_recon_loss = false`). Off by default, as the
    /// reference's UDLM runs (spec §4.2); discrete-time UDLM always has it (spec §4.3).
    #[serde(default)]
    pub recon_loss: bool,
    /// The hybrid process's knobs (GIDD models only; defaults when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gidd: Option<GiddConfig>,
}

impl DiffusionConfig {
    pub fn new(
        kind: ModelKind,
        vocab_size: usize,
        seq_len: usize,
        mask_id: i64,
        pad_id: Option<i64>,
    ) -> Self {
        Self {
            kind,
            vocab_size,
            seq_len,
            mask_id,
            pad_id,
            schedule: Schedule::default(),
            discrete_steps: 0,
            time_conditioning: None,
            alpha_mode: AlphaMode::Exact,
            sampling_eps: 1e-3,
            antithetic: true,
            loss_on_pad: false,
            simple_ce: false,
            cond_dropout: 0.1,
            recon_loss: false,
            gidd: None,
        }
    }

    /// Whether the network sees σ(t). Default: on for UDLM and GIDD (a token may be noise at
    /// any t, so the network needs the noise level), off for MDLM and AR (spec §1).
    pub fn time_conditioned(&self) -> bool {
        self.time_conditioning
            .unwrap_or(matches!(self.kind, ModelKind::Udlm | ModelKind::Gidd))
    }

    pub fn validate(&self) -> Result<()> {
        if self.vocab_size < 2 {
            return Err(CoreError::config(
                "diffusion.vocab_size",
                "must be at least 2 (it is set from the tokenizer)",
            ));
        }
        if self.mask_id < 0 || self.mask_id as usize >= self.vocab_size {
            return Err(CoreError::config(
                "diffusion.mask_id",
                format!(
                    "{} is outside the vocabulary of {}",
                    self.mask_id, self.vocab_size
                ),
            ));
        }
        if let Some(p) = self.pad_id
            && (p < 0 || p as usize >= self.vocab_size)
        {
            return Err(CoreError::config(
                "diffusion.pad_id",
                format!("{p} is outside the vocabulary"),
            ));
        }
        if self.seq_len < 2 {
            return Err(CoreError::config("diffusion.seq_len", "must be at least 2"));
        }
        if !(0.0..1.0).contains(&self.sampling_eps) {
            return Err(CoreError::config(
                "diffusion.sampling_eps",
                "must be in [0, 1)",
            ));
        }
        if !(0.0..=1.0).contains(&self.cond_dropout) {
            return Err(CoreError::config(
                "diffusion.cond_dropout",
                "must be in [0, 1]",
            ));
        }
        if self.alpha_mode == AlphaMode::Reference && !self.schedule.is_loglinear() {
            return Err(CoreError::config(
                "diffusion.alpha_mode",
                "`reference` (α = 1 − t) requires the loglinear schedule",
            ));
        }
        if self.recon_loss && self.kind != ModelKind::Udlm {
            return Err(CoreError::config(
                "diffusion.recon_loss",
                "applies to UDLM only (MDLM's SUBS bound and AR have no reconstruction term)",
            ));
        }
        self.validate_gidd()?;
        if self.kind == ModelKind::Ar && self.discrete_steps > 0 {
            return Err(CoreError::config(
                "diffusion.discrete_steps",
                "AR models have no diffusion time",
            ));
        }
        Ok(())
    }

    /// The hybrid process has its own schedule and only the continuous-time NELBO (spec §2.5);
    /// `[diffusion.gidd]` belongs to GIDD models only.
    fn validate_gidd(&self) -> Result<()> {
        if self.kind == ModelKind::Gidd {
            self.gidd.unwrap_or_default().validate()?;
            let refuse = |field: &str, why: &str| Err(CoreError::config(field, why.to_string()));
            if self.discrete_steps > 0 {
                return refuse(
                    "diffusion.discrete_steps",
                    "the GIDD model has the continuous-time NELBO only",
                );
            }
            if self.alpha_mode != AlphaMode::Exact {
                return refuse(
                    "diffusion.alpha_mode",
                    "`reference` applies to MDLM and UDLM; the hybrid process has its own α_t",
                );
            }
            if self.schedule != Schedule::default() {
                return refuse(
                    "diffusion.schedule",
                    "the hybrid process has its own schedule (diffusion.gidd.gamma shapes it)",
                );
            }
        } else if self.gidd.is_some() {
            return Err(CoreError::config(
                "diffusion.gidd",
                "applies to kind = \"gidd\" only",
            ));
        }
        Ok(())
    }
}
