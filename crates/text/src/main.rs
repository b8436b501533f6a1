//! `text`: train, validate and sample character-level language models (AR, MDLM, UDLM) on
//! text8-style English, and compare them in bits per character.
//!
//! Every training command takes a TOML config (`--config configs/text8-udlm.toml`) and/or
//! overrides (`--set train.steps=500`), and writes its files into one run directory.

mod cli;

use clap::Parser;

fn main() {
    diffusion_core::allocator::tune_for_tensors();
    diffusion_core::cli::init_tracing();
    let args = cli::Cli::parse();
    if let Err(e) = cli::run(args) {
        eprintln!("text: error: {e:#}");
        std::process::exit(1);
    }
}
