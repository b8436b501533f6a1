//! `molecules`: train, guide, sample and score molecule generators on QM9-style data.
//!
//! Every subcommand takes a TOML config (`--config configs/qm9-udlm.toml`) and/or overrides
//! (`--set train.steps=500`), and writes its files into one run directory.

mod cli;

use clap::Parser;

fn main() {
    diffusion_core::allocator::tune_for_tensors();
    diffusion_core::cli::init_tracing();
    let args = cli::Cli::parse();
    if let Err(e) = cli::run(args) {
        eprintln!("molecules: error: {e:#}");
        std::process::exit(1);
    }
}
