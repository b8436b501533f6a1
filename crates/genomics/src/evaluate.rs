//! Scoring generated DNA as §9.4 does: oracle accuracy / macro F1 / MCC against the intended
//! species, k-mer Jensen–Shannon distances to the validation windows (k = 3 and 6, weighted by
//! validation frequencies), and the AUROC of a small discriminator trained to tell generated
//! from real windows (0.5 is ideal). Beyond §9.4: the Fréchet distance between the oracle's
//! features of the samples and of the validation windows (the "Fréchet biological distance" of
//! the DNA-generation literature, here on the project's oracle; the core's
//! `report::frechet`, the FID formula).

use crate::error::{GenomicsError, Result};
use crate::metrics::{ClassificationReport, auroc, classification_report, species_kmer_js};
use crate::tokenizer::DnaTokenizer;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use diffusion_core::CoreError;
use diffusion_core::classifier::{Classifier, ClassifierConfig, DitClassifier, Pooling};
use diffusion_core::dit::DitConfig;
use diffusion_core::domain::{TokenSequences, Tokenizer};
use diffusion_core::report::frechet::{Gaussian, frechet_distance};
use diffusion_core::rng::Xoshiro256StarStar;
use diffusion_core::tensor_util::{ids_tensor, to_vec_f32};
use diffusion_core::train::{TrainConfig, Trainer};
use serde::{Deserialize, Serialize};

/// What a clean classifier (σ = 0) makes of sequences: class log-probabilities [n][C] and the
/// pooled features [n][H] they come from (the head's input; the Fréchet distance's features).
pub struct Classified {
    pub log_probs: Vec<Vec<f32>>,
    pub features: Vec<Vec<f64>>,
}

/// [`Classified`] of `rows`, in batches of `batch`: one network pass gives both (the
/// log-probabilities are `DitClassifier::log_probs`, op for op).
pub fn classify(
    model: &DitClassifier,
    rows: &[Vec<i64>],
    seq_len: usize,
    batch: usize,
    device: &Device,
) -> Classified {
    let mut out = Classified {
        log_probs: Vec::with_capacity(rows.len()),
        features: Vec::with_capacity(rows.len()),
    };
    for chunk in rows.chunks(batch.max(1)) {
        let b = chunk.len();
        let flat: Vec<i64> = chunk.iter().flatten().copied().collect();
        let ids = ids_tensor(&flat, b, seq_len, device);
        let pooled = model.pooled_features(ids, Tensor::zeros([b], device)); // [b, H]
        let h = pooled.dims()[1];
        let lp = log_softmax(model.head.forward(pooled.clone()), 1); // [b, C]
        let c = lp.dims()[1];
        let (f, v) = (to_vec_f32(pooled), to_vec_f32(lp));
        out.log_probs.extend(v.chunks(c).map(<[f32]>::to_vec));
        (out.features).extend(f.chunks(h).map(|r| r.iter().map(|&x| x as f64).collect()));
    }
    out
}

/// The Gaussian of the oracle's pooled features (the input of its head) over `seqs`.
pub fn oracle_gaussian(
    oracle: &DitClassifier,
    seqs: &[Vec<u8>],
    seq_len: usize,
    device: &Device,
) -> Result<Gaussian> {
    let c = classify(oracle, &encode_all(seqs, seq_len), seq_len, 64, device);
    Ok(Gaussian::fit(&c.features)?)
}

fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .unwrap_or(0)
}

/// Bases → oracle-length token rows (`[BOS]` + bases, truncated or padded).
pub fn encode_all(seqs: &[Vec<u8>], seq_len: usize) -> Vec<Vec<i64>> {
    seqs.iter()
        .map(|s| DnaTokenizer.encode_bases(s, seq_len))
        .collect()
}

/// The oracle's report on sequences (already classified) with their intended classes.
pub fn oracle_report(
    classified: &Classified,
    classes: usize,
    intended: &[usize],
) -> Result<ClassificationReport> {
    let pred: Vec<usize> = classified.log_probs.iter().map(|v| argmax(v)).collect();
    classification_report(classes, intended, &pred).map_err(GenomicsError::from)
}

/// The discriminator of §9.4, scaled to a CPU: a small clean DiT classifier (the reference
/// uses a 2-layer HyenaDNA, 5 epochs, AdamW 1e-4, batch 8).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscriminatorConfig {
    pub hidden_size: usize,
    pub n_blocks: usize,
    pub n_heads: usize,
    /// Passes over the 90 % training part.
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    /// Seed of the 90/10 split (the reference's 42) and of training.
    pub seed: u64,
}

impl Default for DiscriminatorConfig {
    fn default() -> Self {
        Self {
            hidden_size: 64,
            n_blocks: 2,
            n_heads: 4,
            epochs: 5,
            batch_size: 32,
            lr: 1e-3,
            seed: 42,
        }
    }
}

/// The discriminator's network: a clean two-class DiT classifier of `cfg`'s size.
fn discriminator_net(cfg: &DiscriminatorConfig, seq_len: usize) -> Classifier {
    let tok = DnaTokenizer;
    let mut backbone = DitConfig::new(tok.vocab_size(), cfg.hidden_size, cfg.n_blocks, cfg.n_heads);
    backbone.cond_dim = cfg.hidden_size / 2;
    backbone.dropout = 0.0;
    Classifier::new(ClassifierConfig {
        backbone,
        num_classes: 2,
        pooling: Pooling::Mean,
        noise: None,
        schedule: Default::default(),
        time_conditioning: false,
        seq_len,
        mask_id: tok.special_ids().mask,
        pad_id: tok.special_ids().pad,
        sampling_eps: 1e-3,
        antithetic: true,
    })
}

/// Train a discriminator on generated (label 0) vs real (label 1) sequences with a seeded
/// 90/10 split; returns the held-out AUROC of the real-class score and the held-out size.
pub fn discriminator_auroc(
    generated: &[Vec<u8>],
    real: &[Vec<u8>],
    seq_len: usize,
    cfg: &DiscriminatorConfig,
    device: &Device,
) -> Result<(f64, usize)> {
    if generated.is_empty() || real.is_empty() {
        return Err(CoreError::Metric(
            "the discriminator needs generated and real sequences".into(),
        )
        .into());
    }
    // A seeded 90/10 split, stratified (10 % of each side, at least one) so that the held-out
    // part always has both labels and the AUROC is defined even for small sample sets.
    let mut rng = Xoshiro256StarStar::seed_from_u64(cfg.seed);
    let mut test = Vec::new();
    let mut train = Vec::new();
    for (set, y) in [(generated, 0i64), (real, 1)] {
        let mut rows = encode_all(set, seq_len);
        rng.shuffle(&mut rows);
        let held = (rows.len() / 10).max(1);
        if rows.len() < held + 1 {
            return Err(CoreError::Metric(format!(
                "{} sequences are too few for a 90/10 discriminator split",
                rows.len()
            ))
            .into());
        }
        let rest = rows.split_off(held);
        test.extend(rows.into_iter().map(|r| (r, y)));
        train.extend(rest.into_iter().map(|r| (r, y)));
    }
    rng.shuffle(&mut train);
    let held = test.len();
    let mut train_set = TokenSequences::new(seq_len);
    train_set.labels = Some(Vec::new());
    train_set.num_classes = Some(2);
    for (r, y) in &train {
        train_set.push(r, Some(*y))?;
    }
    let classifier = discriminator_net(cfg, seq_len);
    let steps = (cfg.epochs * train.len())
        .div_ceil(cfg.batch_size.max(1))
        .max(1);
    let mut tc = TrainConfig::new(steps, cfg.batch_size);
    tc.lr = cfg.lr;
    // A short run: warm up over its first tenth, not the generators' 2,500 steps.
    tc.lr_schedule = diffusion_core::train::lr::LrSchedule::ConstantWarmup {
        warmup: (steps / 10).max(1),
    };
    tc.ema_decay = 0.0; // no EMA: score the final weights, as the reference does
    tc.seed = cfg.seed;
    let mut t = Trainer::with_objective(classifier, tc, DnaTokenizer.vocabulary(), device)?;
    t.fit(&train_set, None, None)?;
    let test_rows: Vec<Vec<i64>> = test.iter().map(|(r, _)| r.clone()).collect();
    let lp = classify(&t.ema.model, &test_rows, seq_len, 64, device).log_probs;
    let scores: Vec<f64> = lp.iter().map(|v| v[1] as f64 - v[0] as f64).collect();
    let labels: Vec<bool> = test.iter().map(|(_, y)| *y == 1).collect();
    Ok((auroc(&scores, &labels)?, held))
}

/// The §9.4 row of one set of generated sequences.
#[derive(Clone, Debug, Serialize)]
pub struct SpeciesScores {
    pub n: usize,
    pub js3: f64,
    pub js6: f64,
    pub auroc: Option<f64>,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub mcc: f64,
    /// Fréchet distance between the oracle's features of the samples and of the validation
    /// windows (lower is closer; None for fewer than two samples).
    pub fbd: Option<f64>,
    /// Per-species 6-mer JS (None for species without samples).
    pub js6_per_species: Vec<Option<f64>>,
}

impl SpeciesScores {
    pub fn table_header() -> String {
        "| Model | Guidance | n | 3-mer JS ↓ | 6-mer JS ↓ | Disc. AUROC (→0.5) | Oracle acc. ↑ | Oracle F1 ↑ | MCC ↑ | FBD ↓ |\n|---|---|---|---|---|---|---|---|---|---|".into()
    }

    pub fn table_row(&self, model: &str, guidance: &str) -> String {
        use diffusion_core::cli::sweep_table::SweepScores;
        SweepScores::table_row(self, &format!("{model} | {guidance}"))
    }
}

/// A sweep row: the table's label is `Model | Guidance`.
impl diffusion_core::cli::sweep_table::SweepScores for SpeciesScores {
    fn table_header() -> String {
        SpeciesScores::table_header()
    }
    fn csv_header() -> String {
        "n,js3,js6,auroc,accuracy,macro_f1,mcc,fbd".into()
    }
    fn csv_row(&self) -> String {
        let opt = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
        let (a, b) = (opt(self.auroc), opt(self.fbd));
        let (n, js3, js6, acc, f1, mcc) = (
            self.n,
            self.js3,
            self.js6,
            self.accuracy,
            self.macro_f1,
            self.mcc,
        );
        format!("{n},{js3},{js6},{a},{acc},{f1},{mcc},{b}")
    }
    fn table_row(&self, label: &str) -> String {
        format!(
            "| {label} | {} | {:.3} | {:.3} | {} | {:.3} | {:.3} | {:.3} | {} |",
            self.n,
            self.js3,
            self.js6,
            self.auroc
                .map(|a| format!("{a:.3}"))
                .unwrap_or_else(|| "–".into()),
            self.accuracy,
            self.macro_f1,
            self.mcc,
            self.fbd
                .map(|f| format!("{f:.2}"))
                .unwrap_or_else(|| "–".into()),
        )
    }
}

/// Everything the scores need about the reference data.
pub struct Reference<'a> {
    /// Validation windows (bases) per species.
    pub val: &'a [Vec<Vec<u8>>],
    pub oracle: &'a DitClassifier,
    pub oracle_seq_len: usize,
    /// [`oracle_gaussian`] of all validation windows.
    pub val_gaussian: &'a Gaussian,
}

/// The discriminator AUROC of `seqs` against as many real validation windows per species as
/// there are generated ones (`by_class`), drawn with the discriminator's seed.
fn matched_auroc(
    seqs: &[Vec<u8>],
    by_class: &[Vec<Vec<u8>>],
    reference: &Reference,
    cfg: &DiscriminatorConfig,
    device: &Device,
) -> Result<f64> {
    let mut real = Vec::new();
    let mut rng = Xoshiro256StarStar::seed_from_u64(cfg.seed);
    for (c, gen_c) in by_class.iter().enumerate() {
        let mut pool = reference.val[c].clone();
        rng.shuffle(&mut pool);
        real.extend(pool.into_iter().take(gen_c.len()));
    }
    Ok(discriminator_auroc(seqs, &real, reference.oracle_seq_len, cfg, device)?.0)
}

/// Score generated sequences with their intended classes. `discriminator: None` skips the
/// AUROC (it trains a network).
pub fn score(
    seqs: &[Vec<u8>],
    intended: &[usize],
    reference: &Reference,
    discriminator: Option<&DiscriminatorConfig>,
    device: &Device,
) -> Result<SpeciesScores> {
    let classes = reference.val.len();
    if seqs.len() != intended.len() || seqs.is_empty() {
        return Err(CoreError::Metric(format!(
            "{} sequences and {} intended classes",
            seqs.len(),
            intended.len()
        ))
        .into());
    }
    let mut by_class: Vec<Vec<Vec<u8>>> = vec![Vec::new(); classes];
    for (s, &c) in seqs.iter().zip(intended) {
        by_class
            .get_mut(c)
            .ok_or_else(|| CoreError::Metric(format!("class {c} out of range")))?
            .push(s.clone());
    }
    // Species without samples (a run for one species) leave the weighted mean; the others
    // keep their relative validation frequencies.
    let val: Vec<&[Vec<u8>]> = (0..classes)
        .map(|c| {
            if by_class[c].is_empty() {
                &[][..]
            } else {
                reference.val[c].as_slice()
            }
        })
        .collect();
    let val: Vec<Vec<&[u8]>> = val
        .iter()
        .map(|v| v.iter().map(Vec::as_slice).collect())
        .collect();
    let js3 = species_kmer_js(&val, &by_class, 3)?;
    let js6 = species_kmer_js(&val, &by_class, 6)?;
    let classified = classify(
        reference.oracle,
        &encode_all(seqs, reference.oracle_seq_len),
        reference.oracle_seq_len,
        64,
        device,
    );
    let report = oracle_report(&classified, classes, intended)?;
    let auroc = match discriminator {
        Some(cfg) => Some(matched_auroc(seqs, &by_class, reference, cfg, device)?),
        None => None,
    };
    let fbd = match seqs.len() {
        0 | 1 => None,
        _ => {
            let g = Gaussian::fit(&classified.features)?;
            Some(frechet_distance(reference.val_gaussian, &g)?)
        }
    };
    Ok(SpeciesScores {
        n: seqs.len(),
        js3: js3.weighted,
        js6: js6.weighted,
        auroc,
        accuracy: report.accuracy,
        macro_f1: report.macro_f1,
        mcc: report.mcc,
        fbd,
        js6_per_species: js6.per_species,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A discriminator really trains: AT-only against GC-only sequences are told apart, and
    /// two sets from the same source are not (far from perfectly).
    #[test]
    fn discriminator_separates_different_sources() {
        let dev = Device::default();
        let mut rng = Xoshiro256StarStar::seed_from_u64(7);
        let mut draw = |alphabet: &[u8]| -> Vec<u8> {
            (0..24)
                .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
                .collect()
        };
        let at: Vec<Vec<u8>> = (0..40).map(|_| draw(b"AT")).collect();
        let gc: Vec<Vec<u8>> = (0..40).map(|_| draw(b"GC")).collect();
        let cfg = DiscriminatorConfig {
            hidden_size: 16,
            n_blocks: 1,
            n_heads: 2,
            epochs: 4,
            batch_size: 8,
            lr: 3e-3,
            seed: 42,
        };
        let (auc, held) = discriminator_auroc(&at, &gc, 25, &cfg, &dev).expect("defined");
        assert_eq!(held, 8, "4 generated and 4 real held out");
        assert!(auc >= 0.9, "AT vs GC AUROC {auc}");
        assert!(discriminator_auroc(&at, &[], 25, &cfg, &dev).is_err());
    }

    /// The Fréchet distance on the oracle's features: zero for the validation windows
    /// themselves (the same features, the same Gaussian), positive for sequences of another
    /// composition (an untrained two-class network is enough to tell them apart).
    #[test]
    fn fbd_is_zero_for_the_reference_windows_and_positive_elsewhere() {
        use diffusion_core::train::Objective;
        let dev = Device::default();
        let mut rng = Xoshiro256StarStar::seed_from_u64(3);
        let mut draw = |alphabet: &[u8]| -> Vec<u8> {
            (0..24)
                .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
                .collect()
        };
        let val: Vec<Vec<Vec<u8>>> = (0..2)
            .map(|_| (0..20).map(|_| draw(b"ACGT")).collect())
            .collect();
        let at: Vec<Vec<u8>> = (0..40).map(|_| draw(b"AT")).collect();
        let cfg = DiscriminatorConfig {
            hidden_size: 16,
            n_blocks: 1,
            n_heads: 2,
            ..Default::default()
        };
        let oracle = discriminator_net(&cfg, 25).init(&dev);
        let pooled: Vec<Vec<u8>> = val.iter().flatten().cloned().collect();
        let g = oracle_gaussian(&oracle, &pooled, 25, &dev).expect("fit");
        let reference = Reference {
            val: &val,
            oracle: &oracle,
            oracle_seq_len: 25,
            val_gaussian: &g,
        };
        let intended: Vec<usize> = (0..40).map(|i| i / 20).collect();
        let fbd = |seqs: &[Vec<u8>]| score(seqs, &intended, &reference, None, &dev).unwrap().fbd;
        let (same, other) = (fbd(&pooled).unwrap(), fbd(&at).unwrap());
        assert!(same.abs() < 1e-6 && other > 1e-3, "{same} {other}");
        let one = score(&at[..1], &[0], &reference, None, &dev).unwrap();
        assert_eq!(one.fbd, None);
    }
}
