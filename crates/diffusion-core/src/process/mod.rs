//! The noise process and what it defines: the schedule α_t, the forward process q(z_t | x)
//! and its prior, the time draws, the parameterisation of x_θ, the posteriors / reverse
//! steps, and the NELBO losses, tied together by `Diffusion`.

pub mod diffusion;
pub mod diffusion_config;
pub mod forward;
pub mod hybrid;
pub mod loss;
pub mod noise;
pub mod parameterization;
pub mod posterior;
pub mod schedule;
pub mod time;
