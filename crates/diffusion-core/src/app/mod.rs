//! The application layer every domain binary is built from: the experiment file
//! ([`ExperimentConfig`]), the [`Domain`] trait a domain implements, the backbone sections, and
//! the `train` / `train-classifier` lifecycle. A domain binary keeps only what is its own (data,
//! tokenizer, metrics, domain subcommands).

pub mod backbone;
pub mod binary;
pub mod checkpoint;
pub mod command;
pub mod domain;
pub mod experiment;
pub mod guidance_models;
pub mod sample;
pub mod train;
pub mod validate;

pub use backbone::{Backbone, BackboneKind};
pub use checkpoint::{DomainClassifier, Generator, metadata_field};
pub use command::{AppCommand, TrainCommandArgs};
pub use domain::{Domain, Role, Splits};
pub use experiment::ExperimentConfig;
pub use train::{TrainArgs, Trained, train_classifier, train_generator, train_run};
pub use validate::{ValidateArgs, validate};
