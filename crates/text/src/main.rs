//! `text`: train, validate and sample character-level language models (AR, MDLM, UDLM) on
//! text8-style English, and compare them in bits per character.
//!
//! Every training command takes a TOML config (`--config configs/text8-udlm.toml`) and/or
//! overrides (`--set train.steps=500`), and writes its files into one run directory.

mod cli;

fn main() {
    diffusion_core::app::binary::main("text", cli::ABOUT, cli::run);
}
