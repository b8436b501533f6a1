//! The arguments every domain's `sweep` shares: the generator, the guidance swept over γ (with
//! its classifier and exact D-CBG), the seed and the backend. Each domain adds its γ list,
//! sample counts, T and what it scores.

use crate::sample::args::GuidanceKind;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Clone, Debug)]
pub struct SweepGuide {
    /// Generator checkpoint.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// cfg (a class-conditional generator), cbg (needs --classifier), nos (a NOS head as
    /// --classifier) or none.
    #[arg(long, value_enum)]
    pub guidance: GuidanceKind,
    /// Noisy classifier for D-CBG, or NOS head.
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    /// Exact D-CBG (default: first order).
    #[arg(long)]
    pub exact: bool,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long)]
    pub backend: Option<String>,
}
