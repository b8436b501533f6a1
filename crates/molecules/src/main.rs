//! `molecules`: train, guide, sample and score molecule generators on QM9-style data.
//!
//! Every subcommand takes a TOML config (`--config configs/qm9-udlm.toml`) and/or overrides
//! (`--set train.steps=500`), and writes its files into one run directory.

mod cli;

fn main() {
    diffusion_core::app::binary::main("molecules", cli::ABOUT, cli::run);
}
