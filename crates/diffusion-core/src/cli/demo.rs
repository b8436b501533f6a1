//! Where each model of a domain's `demo` comes from: the shipped checkpoint, the demo's own
//! earlier run, or a training run now, in that order (`--retrain` skips the first two). Every
//! domain's demo asks the same question for each model it needs; this answers it once.

use super::RunArgs;
use crate::app::{Domain, train_run};
use crate::error::{CoreError, Result};
use crate::paths::resolve_path;
use clap::Args;
use std::path::{Path, PathBuf};

/// The flags every domain's `demo` shares about its models: where the shipped checkpoints are,
/// whether to train anyway, overrides for what it trains, and the backend.
#[derive(Args, Clone, Debug, Default)]
pub struct DemoModelArgs {
    /// Folder of the shipped checkpoints `<name>.ckpt` (default: `checkpoints/<domain>`).
    #[arg(long)]
    pub checkpoints: Option<PathBuf>,
    /// Train every model now, even where a shipped checkpoint or an earlier demo run has one.
    #[arg(long)]
    pub retrain: bool,
    /// Overrides for every model trained now (after the demo's own), e.g.
    /// `--set model.hidden_size=64`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    #[arg(long)]
    pub backend: Option<String>,
}

impl DemoModelArgs {
    /// Model `name` of domain `D` for a demo writing into `out` ([`DemoModels::find`]: the
    /// shipped `<checkpoints>/<name>.ckpt`, default `checkpoints/<domain>`, else an earlier demo
    /// run's), or trained now by the application layer's run (a generator, or a classifier when
    /// `classifier`) with a line saying how it went.
    pub fn obtain<D: Domain>(
        &self,
        out: &Path,
        name: &str,
        config: &str,
        set: Vec<String>,
        steps: Option<usize>,
        classifier: bool,
    ) -> std::result::Result<PathBuf, D::Error> {
        let checkpoints = self
            .checkpoints
            .clone()
            .unwrap_or_else(|| Path::new("checkpoints").join(D::NAME));
        let models = DemoModels {
            checkpoints: &checkpoints,
            out,
            retrain: self.retrain,
            set: &self.set,
            backend: self.backend.as_deref(),
        };
        models.obtain(name, config, set, steps, |run| {
            let t = train_run::<D>(run, classifier, &[])?;
            let v = &t.validation;
            let score = match v.accuracy {
                None => format!("validation {:.4} bits per {}", v.bpc, D::TOKEN),
                Some(acc) => format!("held-out accuracy {acc:.4}"),
            };
            println!(
                "  {name}: {} steps in {:.0} s, {score}",
                t.steps, t.train_seconds
            );
            Ok(t.model)
        })
    }
}

/// The demo's model folders and flags.
#[derive(Clone, Debug)]
pub struct DemoModels<'a> {
    /// Shipped checkpoints, `<name>.ckpt`.
    pub checkpoints: &'a Path,
    /// The demo's output folder; models trained now go to `<out>/train/<name>`.
    pub out: &'a Path,
    /// Train every model now even if a checkpoint exists.
    pub retrain: bool,
    /// `--set` overrides for every model trained now.
    pub set: &'a [String],
    pub backend: Option<&'a str>,
}

/// Where [`DemoModels::find`] found a model, or where to train it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// A checkpoint to use as it is (shipped, or from an earlier demo run).
    Checkpoint(PathBuf),
    /// No checkpoint: train into this (emptied) run folder.
    Train(PathBuf),
}

impl DemoModels<'_> {
    /// Model `name`: the shipped `<checkpoints>/<name>.ckpt`, else `model.ckpt` of an earlier
    /// demo run in `<out>/train/<name>`, else that folder, emptied of any interrupted run, to
    /// train into. Prints which it is.
    pub fn find(&self, name: &str) -> Result<Found> {
        let shipped = resolve_path(&self.checkpoints.join(format!("{name}.ckpt")));
        if !self.retrain && shipped.is_file() {
            println!("using shipped {}", shipped.display());
            return Ok(Found::Checkpoint(shipped));
        }
        let run = self.out.join("train").join(name);
        let done = run.join("model.ckpt");
        if !self.retrain && done.is_file() {
            println!(
                "using {} from an earlier demo run (--retrain to train again)",
                done.display()
            );
            return Ok(Found::Checkpoint(done));
        }
        if run.exists() {
            std::fs::remove_dir_all(&run).map_err(|e| CoreError::io(&run, e))?;
        }
        Ok(Found::Train(run))
    }

    /// The training arguments of model `name` trained now into `run_dir` from `config`, with
    /// the model's own overrides `set` followed by the demo's `--set` (which win), and `steps`
    /// (None: the config's `train.steps`).
    pub fn run_args(
        &self,
        config: &str,
        set: Vec<String>,
        run_dir: PathBuf,
        steps: Option<usize>,
    ) -> RunArgs {
        RunArgs {
            config: Some(resolve_path(Path::new(config))),
            set: set.into_iter().chain(self.set.iter().cloned()).collect(),
            run_dir: Some(run_dir),
            steps,
            backend: self.backend.map(str::to_string),
            ..Default::default()
        }
    }

    /// Model `name`: found by [`Self::find`], or trained now by `train` (given the run's
    /// arguments, it returns the weights-only checkpoint).
    pub fn obtain<E: From<CoreError>>(
        &self,
        name: &str,
        config: &str,
        set: Vec<String>,
        steps: Option<usize>,
        train: impl FnOnce(RunArgs) -> std::result::Result<PathBuf, E>,
    ) -> std::result::Result<PathBuf, E> {
        match self.find(name)? {
            Found::Checkpoint(p) => Ok(p),
            Found::Train(run) => {
                match steps {
                    Some(s) => println!("training {name} ({config}, {s} steps) …"),
                    None => println!("training {name} ({config}) …"),
                }
                train(self.run_args(config, set, run, steps))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shipped first, then an earlier demo run, then a fresh (emptied) run folder; --retrain
    /// always trains.
    #[test]
    fn finds_shipped_then_earlier_then_trains() {
        let tmp = std::env::temp_dir().join(format!("gdd-demo-models-{}", std::process::id()));
        let (ck, out) = (tmp.join("ck"), tmp.join("out"));
        std::fs::create_dir_all(&ck).unwrap();
        let m = DemoModels {
            checkpoints: &ck,
            out: &out,
            retrain: false,
            set: &[],
            backend: None,
        };
        let run = out.join("train").join("mdlm");
        // Nothing yet: train; an interrupted run's files are removed.
        std::fs::create_dir_all(run.join("checkpoints")).unwrap();
        assert_eq!(m.find("mdlm").unwrap(), Found::Train(run.clone()));
        assert!(!run.exists());
        // An earlier demo run.
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("model.ckpt"), b"x").unwrap();
        assert_eq!(
            m.find("mdlm").unwrap(),
            Found::Checkpoint(run.join("model.ckpt"))
        );
        // A shipped checkpoint wins.
        std::fs::write(ck.join("mdlm.ckpt"), b"x").unwrap();
        let shipped = resolve_path(&ck.join("mdlm.ckpt"));
        assert_eq!(m.find("mdlm").unwrap(), Found::Checkpoint(shipped));
        // --retrain trains into an emptied folder.
        let r = DemoModels {
            retrain: true,
            ..m.clone()
        };
        assert_eq!(r.find("mdlm").unwrap(), Found::Train(run.clone()));
        assert!(!run.exists());
        // The demo's --set follows the model's own overrides.
        let set = vec!["train.seed=2".to_string()];
        let m = DemoModels {
            set: &set,
            backend: Some("ndarray"),
            ..m
        };
        let a = m.run_args(
            "configs/x.toml",
            vec!["model.n_blocks=2".into()],
            run.clone(),
            Some(5),
        );
        assert_eq!(a.set, ["model.n_blocks=2", "train.seed=2"]);
        assert_eq!((a.steps, a.backend.as_deref()), (Some(5), Some("ndarray")));
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
