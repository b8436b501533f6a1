//! The application layer end to end with a domain that is nothing but its `Domain` impl: QM9
//! SMILES as characters, labelled by ring closure (the real slice of `tests/common`). `train`
//! on the conv backbone, resume, `validate` (the number `train` recorded), a clean classifier
//! scored on a held-out test split, and the errors a run folder and the backbone sections give.

mod common;

use common::{lock_backend_rng, qm9, tmp_dir};
use diffusion_core::app::{
    BackboneKind, Domain, DomainClassifier, ExperimentConfig, Generator, Splits, TrainArgs,
    ValidateArgs, metadata_field, train_classifier, train_generator, validate,
};
use diffusion_core::checkpoint::CheckpointFile;
use diffusion_core::cli::RunArgs;
use diffusion_core::domain::{CharTokenizer, SequenceDataset, TokenSequences, Tokenizer};
use diffusion_core::error::CoreError;
use diffusion_core::train::LoadedGenerator;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The `[data]` section: how many molecules to use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    n_train: usize,
    n_val: usize,
}

impl Default for Data {
    fn default() -> Self {
        Self {
            n_train: 96,
            n_val: 48,
        }
    }
}

struct Prepared {
    tok: CharTokenizer,
    train: TokenSequences,
    val: TokenSequences,
    test: TokenSequences,
}

struct Smiles;

impl Domain for Smiles {
    const NAME: &'static str = "smiles-chars";
    type DataConfig = Data;
    type Tokenizer = CharTokenizer;
    type Data = Prepared;
    type Error = CoreError;
    type Facts = Data;

    fn prepare(cfg: &Data, vocabulary: Option<&[String]>) -> Result<Prepared, CoreError> {
        let (tok, train, held_out) = qm9(cfg.n_train, cfg.n_val);
        if let Some(v) = vocabulary
            && v != tok.vocabulary()
        {
            return Err(CoreError::Data("another vocabulary".into()));
        }
        // Half the held-out molecules validate, the other half are the test split.
        let half = held_out.len() / 2;
        let val = held_out.subset(&(0..half).collect::<Vec<_>>());
        let test = held_out.subset(&(half..held_out.len()).collect::<Vec<_>>());
        Ok(Prepared {
            tok,
            train,
            val,
            test,
        })
    }
    fn splits(d: &Prepared) -> Splits<'_, CharTokenizer> {
        let test = Some(&d.test);
        Splits {
            test,
            ..Splits::new(&d.tok, &d.train, &d.val)
        }
    }
    fn generator_classes(_: &Data, _: &Prepared) -> Option<usize> {
        None
    }
    fn classifier_classes(_: &Data, _: &Prepared) -> Option<usize> {
        Some(2)
    }
    fn metadata(cfg: &Data, _: &Prepared) -> Value {
        json!({ "data": cfg })
    }
    fn report(d: &Prepared) -> Value {
        json!({ "train": d.train.len(), "val": d.val.len() })
    }
    fn describe(d: &Prepared) -> String {
        format!(
            "{} train / {} validation molecules",
            d.train.len(),
            d.val.len()
        )
    }
    fn facts(_: &[String], metadata: &Value, path: &Path) -> Result<Data, CoreError> {
        metadata_field(metadata, "data", path)
    }
    fn checkpoint_data(
        g: &LoadedGenerator,
        path: &Path,
        _: Option<&Path>,
    ) -> Result<Prepared, CoreError> {
        Self::prepare(&Self::facts(&[], &g.metadata, path)?, Some(&g.vocabulary))
    }
    fn nos_data(
        cfg: &ExperimentConfig<Data>,
        _: &LoadedGenerator,
    ) -> Result<(Data, Prepared), CoreError> {
        Ok((cfg.data.clone(), Self::prepare(&cfg.data, None)?))
    }
}

fn args(config: &Path, run_dir: &Path, resume: bool, steps: Option<usize>) -> TrainArgs {
    TrainArgs {
        run: RunArgs {
            config: (!resume).then(|| config.to_path_buf()),
            run_dir: Some(run_dir.to_path_buf()),
            resume,
            steps,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const TRAIN: &str = "[train]\nsteps = 2\nbatch_size = 8\nval_batches = 1\ncheckpoint_every = 1\n";

fn summary(run: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn a_domain_impl_trains_resumes_and_validates_on_the_conv_backbone() {
    let _g = lock_backend_rng();
    let dir = tmp_dir("app-conv");
    let config = write(
        &dir,
        "conv.toml",
        &format!(
            "[diffusion]\nkind = \"udlm\"\n\n[conv]\nhidden_size = 16\ncond_dim = 16\nmax_dilation = 4\nn_cycles = 1\n\n{TRAIN}"
        ),
    );
    let run = dir.join("run");
    let a = args(&config, &run, false, None);
    let t = train_generator::<Smiles>(&a, a.load::<Smiles>(&[]).unwrap()).unwrap();
    assert_eq!(t.steps, 2);
    // The resolved config has the token facts; the checkpoint knows its domain and role.
    let resolved = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(resolved.contains("vocab_size"), "{resolved}");
    let header = CheckpointFile::read_header(&t.model).unwrap();
    assert_eq!(header["metadata"]["domain"], "smiles-chars");
    assert_eq!(header["metadata"]["role"], "generator");
    assert_eq!(
        BackboneKind::of_checkpoint(&t.model).unwrap(),
        BackboneKind::Conv
    );
    // Loaded for sampling, it brings back the data facts the domain recorded.
    let g = Generator::<Smiles>::load(&t.model, &Default::default()).unwrap();
    assert_eq!(g.facts, Data::default());
    assert_eq!(g.backbone(), "dilated-convolution ([conv])");
    assert!(!g.is_conditional());

    // validate prints the number the run recorded, for the same weights.
    let v = validate::<Smiles>(&ValidateArgs {
        checkpoint: t.model.clone(),
        data: None,
        max_val: None,
        batch_size: None,
        backend: None,
        markdown_row: None,
    })
    .unwrap();
    let recorded = summary(&run)["validation"]["nll"].as_f64().unwrap();
    assert!((v.nll - recorded).abs() < 1e-9, "{} vs {recorded}", v.nll);

    // A second run into the same folder is refused; --resume continues it to 4 steps.
    assert!(train_generator::<Smiles>(&a, a.load::<Smiles>(&[]).unwrap()).is_err());
    let r = args(&config, &run, true, Some(4));
    let t = train_generator::<Smiles>(&r, r.load::<Smiles>(&[]).unwrap()).unwrap();
    assert_eq!(t.steps, 4);
    assert_eq!(summary(&run)["steps"], 4);
}

#[test]
fn a_clean_classifier_is_scored_on_the_test_split_and_the_score_travels_with_it() {
    let _g = lock_backend_rng();
    let dir = tmp_dir("app-oracle");
    let config = write(
        &dir,
        "clf.toml",
        &format!(
            "[classifier]\npooling = \"mean\"\n\n[classifier.backbone]\nhidden_size = 16\nn_blocks = 1\nn_heads = 2\ncond_dim = 16\n\n{TRAIN}"
        ),
    );
    let run = dir.join("run");
    let a = args(&config, &run, false, None);
    let t = train_classifier::<Smiles>(&a, a.load::<Smiles>(&[]).unwrap()).unwrap();
    let acc = t
        .validation
        .accuracy
        .expect("a classifier's validation has an accuracy");
    assert!((0.0..=1.0).contains(&acc));
    let test = &summary(&run)["test"];
    let n: u64 = test["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()))
        .sum();
    assert_eq!(n, 24, "the 24 test molecules, not the validation ones");
    let header = CheckpointFile::read_header(&t.model).unwrap();
    assert_eq!(header["metadata"]["held_out"]["accuracy"], test["accuracy"]);
    assert_eq!(header["metadata"]["role"], "evaluation");
    let c = DomainClassifier::<Smiles>::load(&t.model, &Default::default()).unwrap();
    assert_eq!(c.facts, Data::default());
    // A generator is not a classifier, and a checkpoint of another domain is refused.
    let mut other = CheckpointFile::load(&t.model).unwrap();
    other.header["metadata"]["domain"] = json!("images");
    let p = dir.join("other.ckpt");
    other.save(&p).unwrap();
    let e = DomainClassifier::<Smiles>::load(&p, &Default::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("not a smiles-chars checkpoint"), "{e}");
}

#[test]
fn backbone_sections_are_checked_before_any_work() {
    let dir = tmp_dir("app-sections");
    let load = |body: &str| -> ExperimentConfig<Data> {
        let p = write(
            &dir,
            "x.toml",
            &format!("[diffusion]\nkind = \"mdlm\"\n\n{body}{TRAIN}"),
        );
        args(&p, &dir.join("r"), false, None)
            .load::<Smiles>(&[])
            .unwrap()
    };
    let both = load("[model]\nhidden_size = 16\nn_blocks = 1\nn_heads = 2\n\n[conv]\n\n");
    let e = BackboneKind::of_config(&both).unwrap_err().to_string();
    assert!(e.contains("[model] (a DiT) and [conv]"), "{e}");
    let none = load("");
    let e = BackboneKind::of_config(&none).unwrap_err().to_string();
    assert!(e.contains("no such section"), "{e}");
    // The UNet needs an image grid, which this domain does not have.
    let unet = load("[unet]\n\n");
    assert_eq!(BackboneKind::of_config(&unet).unwrap(), BackboneKind::Unet);
    let a = args(&dir.join("x.toml"), &dir.join("unet-run"), false, None);
    let e = train_generator::<Smiles>(&a, unet)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("image grid"), "{e}");
    // An unknown section is refused by name.
    let p = write(&dir, "bad.toml", &format!("[modle]\n\n{TRAIN}"));
    let e = args(&p, &dir.join("r2"), false, None)
        .load::<Smiles>(&[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("modle"), "{e}");
}
