//! `images`: train class-conditional MDLM / UDLM models on discretised pixels, train noisy
//! (D-CBG) and clean (evaluation) classifiers, sample with D-CFG / D-CBG / inpainting, and score
//! samples with FID and IS on project-classifier features and evaluation-classifier accuracy.
//!
//! Every training command takes a TOML config (`--config configs/mnist-udlm.toml`) and/or
//! overrides (`--set train.steps=500`), and writes its files into one run directory.

mod cli;

fn main() {
    diffusion_core::app::binary::main("images", cli::ABOUT, cli::run);
}
