//! `genomics`: train, guide, sample and score species-conditioned DNA generators.
//!
//! Every training command takes a TOML config (`--config configs/species-udlm.toml`) and/or
//! overrides (`--set train.steps=500`), and writes its files into one run directory.

mod cli;

fn main() {
    diffusion_core::app::binary::main("genomics", cli::ABOUT, cli::run);
}
