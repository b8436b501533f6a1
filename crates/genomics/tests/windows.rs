//! Windowing and contiguous splits: no window shares a base with a window of another split,
//! N filtering, reverse complements, class balancing, determinism, and loading from a manifest.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use genomics::corpus::reverse_complement;
use genomics::fasta::FastaRecord;
use genomics::windows::{SplitCounts, make_windows};
use genomics::{
    Balance, Corpus, FastaStats, Manifest, SpeciesGenome, Split, SplitScope, Window, WindowConfig,
    Windows, Xoshiro256StarStar,
};

fn random_bases(rng: &mut Xoshiro256StarStar, len: usize) -> Vec<u8> {
    (0..len).map(|_| b"ACGT"[rng.below(4) as usize]).collect()
}

fn genome(name: &str, records: Vec<Vec<u8>>) -> SpeciesGenome {
    SpeciesGenome {
        name: name.into(),
        records: records
            .into_iter()
            .enumerate()
            .map(|(i, seq)| FastaRecord {
                id: format!("{name}_{i}"),
                desc: None,
                seq,
                line: 1,
            })
            .collect(),
        stats: FastaStats::default(),
    }
}

/// Three classes of unequal size; class 1 has a run of N at bases 1000..1010 of record 0.
fn corpus() -> Corpus {
    let mut rng = Xoshiro256StarStar::seed_from_u64(3);
    let mut with_n = random_bases(&mut rng, 5_000);
    with_n[1000..1010].fill(b'N');
    Corpus {
        species: vec![
            genome(
                "a",
                vec![
                    random_bases(&mut rng, 10_000),
                    random_bases(&mut rng, 3_333),
                ],
            ),
            genome("b", vec![with_n]),
            genome(
                "c",
                vec![
                    random_bases(&mut rng, 2_000),
                    random_bases(&mut rng, 2_100),
                    random_bases(&mut rng, 777),
                ],
            ),
        ],
    }
}

/// Every pair of windows from different splits on one record shares no base.
fn assert_no_cross_split_overlap(windows: &Windows) {
    let all: Vec<&Window> = windows.windows.iter().collect();
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            if a.class == b.class && a.record == b.record && a.split != b.split {
                assert!(
                    a.end() <= b.start || b.end() <= a.start,
                    "{a:?} overlaps {b:?}"
                );
            }
        }
    }
}

/// Per record, all train windows lie before all validation windows, which lie before test.
fn assert_split_order(windows: &Windows) {
    for a in &windows.windows {
        for b in &windows.windows {
            if a.class == b.class && a.record == b.record && a.split < b.split {
                assert!(a.end() <= b.start, "{a:?} should precede {b:?}");
            }
        }
    }
}

#[test]
fn record_split_windows_never_overlap_across_splits() {
    let corpus = corpus();
    for stride in [None, Some(37), Some(100)] {
        let config = WindowConfig {
            length: 100,
            stride,
            ..Default::default()
        };
        let windows = make_windows(&corpus, &config).expect("windows");
        assert_no_cross_split_overlap(&windows);
        assert_split_order(&windows);
        for w in &windows.windows {
            let len = corpus.species[w.class].records[w.record].seq.len();
            // Record scope: each split's windows stay inside its region of the record.
            let (lo, hi) = match w.split {
                Split::Train => (0.0, 0.90),
                Split::Validation => (0.90, 0.95),
                Split::Test => (0.95, 1.0),
            };
            let (lo, hi) = (
                (len as f64 * lo).round() as usize,
                (len as f64 * hi).round() as usize,
            );
            assert!(w.start >= lo && w.end() <= hi, "{w:?} outside {lo}..{hi}");
            assert_eq!(w.len, 100);
        }
        for split in Split::ALL {
            assert!(windows.split(split).count() > 0, "no {split:?} windows");
        }
    }
}

#[test]
fn tiling_counts_follow_length_and_stride() {
    let corpus = corpus();
    let config = WindowConfig {
        length: 100,
        max_n_fraction: 1.0,
        ..Default::default()
    };
    let windows = make_windows(&corpus, &config).expect("windows");
    // Class a, record 0: 10,000 bases → train 0..9000 (90 windows), validation 9000..9500 (5),
    // test 9500..10000 (5). Record 1: 3,333 → 0..3000 (30), 3000..3166 (1), 3166..3333 (1).
    let a = &windows.counts[0];
    assert_eq!(a[Split::Train.index()].kept, 120);
    assert_eq!(a[Split::Validation.index()].kept, 6);
    assert_eq!(a[Split::Test.index()].kept, 6);
    assert_eq!(a[Split::Train.index()].bases, 9000 + 3000);
    let starts: Vec<usize> = windows
        .split(Split::Validation)
        .filter(|w| w.class == 0 && w.record == 1)
        .map(|w| w.start)
        .collect();
    assert_eq!(starts, [3000]);
}

#[test]
fn windows_with_too_many_n_are_skipped_and_counted() {
    let corpus = corpus();
    let strict = WindowConfig {
        length: 100,
        ..Default::default()
    };
    let windows = make_windows(&corpus, &strict).expect("windows");
    let b: SplitCounts = windows.counts[1][Split::Train.index()];
    // N at 1000..1010 lies in exactly one window, 1000..1100.
    assert_eq!(b.skipped_n, 1);
    assert_eq!(b.kept, 44);
    assert!(
        windows
            .split(Split::Train)
            .all(|w| w.class != 1 || w.start != 1000)
    );
    // 10 N in 100 bases is a fraction of 0.1: kept at 0.1, skipped below it.
    let lenient = WindowConfig {
        max_n_fraction: 0.1,
        ..strict.clone()
    };
    let windows = make_windows(&corpus, &lenient).expect("windows");
    assert_eq!(windows.counts[1][Split::Train.index()].skipped_n, 0);
    let tight = WindowConfig {
        max_n_fraction: 0.09,
        ..strict
    };
    let windows = make_windows(&corpus, &tight).expect("windows");
    assert_eq!(windows.counts[1][Split::Train.index()].skipped_n, 1);
}

#[test]
fn species_scope_gives_short_records_validation_and_test_windows() {
    // Forty 200-bp records, as with the fly class (many short upstream regions).
    let mut rng = Xoshiro256StarStar::seed_from_u64(5);
    let corpus = Corpus {
        species: vec![genome(
            "fly",
            (0..40).map(|_| random_bases(&mut rng, 200)).collect(),
        )],
    };
    let per_record = WindowConfig {
        length: 50,
        ..Default::default()
    };
    let windows = make_windows(&corpus, &per_record).expect("windows");
    assert_eq!(windows.split(Split::Validation).count(), 0);
    let per_species = WindowConfig {
        scope: SplitScope::Species,
        ..per_record
    };
    let windows = make_windows(&corpus, &per_species).expect("windows");
    // 8,000 bases: train 0..7200 = records 0..36, validation records 36..38, test 38..40.
    assert_eq!(windows.split(Split::Train).count(), 36 * 4);
    assert_eq!(windows.split(Split::Validation).count(), 2 * 4);
    assert_eq!(windows.split(Split::Test).count(), 2 * 4);
    let records = |split| {
        windows
            .split(split)
            .map(|w| w.record)
            .collect::<HashSet<_>>()
    };
    assert!(records(Split::Train).is_disjoint(&records(Split::Validation)));
    assert!(records(Split::Validation).is_disjoint(&records(Split::Test)));
    assert_no_cross_split_overlap(&windows);
}

#[test]
fn reverse_complement_copies_training_windows_only() {
    let corpus = corpus();
    let config = WindowConfig {
        length: 100,
        reverse_complement: true,
        ..Default::default()
    };
    let windows = make_windows(&corpus, &config).expect("windows");
    let train: Vec<&Window> = windows.split(Split::Train).collect();
    assert_eq!(train.len() % 2, 0);
    for pair in train.chunks(2) {
        let (fwd, rc) = (pair[0], pair[1]);
        assert!(!fwd.reverse_complement && rc.reverse_complement);
        let fwd_bases = fwd.bases(&corpus).expect("in corpus");
        let rc_bases = rc.bases(&corpus).expect("in corpus");
        assert_eq!(rc_bases.as_ref(), reverse_complement(&fwd_bases).as_slice());
    }
    assert!(
        windows
            .split(Split::Validation)
            .chain(windows.split(Split::Test))
            .all(|w| !w.reverse_complement)
    );
    let c = windows.counts[0][Split::Train.index()];
    assert_eq!(c.reverse_complements, c.kept);
}

#[test]
fn cap_balances_training_classes_deterministically() {
    let corpus = corpus();
    let config = WindowConfig {
        length: 100,
        balance: Balance::Cap,
        seed: 11,
        ..Default::default()
    };
    let windows = make_windows(&corpus, &config).expect("windows");
    let counts = windows.class_counts(Split::Train);
    // Class c is smallest: 1800 + 1890 (18 windows) + 699 (6) = 42 windows.
    assert_eq!(counts, [42, 42, 42]);
    assert_eq!(
        windows.counts[0][Split::Train.index()].dropped_by_cap,
        120 - 42
    );
    // Validation and test keep every window.
    let uncapped = make_windows(
        &corpus,
        &WindowConfig {
            balance: Balance::None,
            ..config.clone()
        },
    )
    .expect("windows");
    assert_eq!(
        windows.class_counts(Split::Validation),
        uncapped.class_counts(Split::Validation)
    );
    // Same seed, same windows; another seed, another subset.
    let again = make_windows(&corpus, &config).expect("windows");
    assert_eq!(again.windows, windows.windows);
    let other = make_windows(&corpus, &WindowConfig { seed: 12, ..config }).expect("windows");
    assert_ne!(other.windows, windows.windows);
    assert_no_cross_split_overlap(&windows);
}

#[test]
fn cap_with_an_empty_class_is_an_error() {
    let mut corpus = corpus();
    corpus.species[2] = genome("tiny", vec![b"ACGT".to_vec()]);
    let config = WindowConfig {
        length: 100,
        balance: Balance::Cap,
        ..Default::default()
    };
    let message = make_windows(&corpus, &config)
        .expect_err("no windows")
        .to_string();
    assert!(message.contains("'tiny'"), "{message}");
}

#[test]
fn weights_give_each_class_equal_mass() {
    let corpus = corpus();
    let config = WindowConfig {
        length: 100,
        balance: Balance::Weights,
        ..Default::default()
    };
    let windows = make_windows(&corpus, &config).expect("windows");
    let weights = windows.sampling_weights(Split::Train);
    let mut per_class = [0.0; 3];
    for (w, weight) in windows.split(Split::Train).zip(&weights) {
        per_class[w.class] += weight;
    }
    for mass in per_class {
        assert!((mass - 1.0 / 3.0).abs() < 1e-12, "{per_class:?}");
    }
    let uniform = make_windows(
        &corpus,
        &WindowConfig {
            balance: Balance::None,
            ..config
        },
    )
    .expect("windows")
    .sampling_weights(Split::Train);
    assert!(uniform.iter().all(|&w| (w - uniform[0]).abs() < 1e-15));
    assert!((uniform.iter().sum::<f64>() - 1.0).abs() < 1e-12);
}

#[test]
fn config_deserialises_from_toml_and_rejects_unknown_keys() {
    let config: WindowConfig = toml::from_str(
        "length = 256\nstride = 128\nscope = \"species\"\nbalance = \"cap\"\n[split]\ntrain = 0.8\nvalidation = 0.1\ntest = 0.1\n",
    )
    .expect("valid config");
    assert_eq!(config.length, 256);
    assert_eq!(config.stride(), 128);
    assert_eq!(config.scope, SplitScope::Species);
    assert_eq!(config.balance, Balance::Cap);
    assert!(config.validate().is_ok());
    assert!(toml::from_str::<WindowConfig>("lenght = 3\n").is_err());
}

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("genomics-windows-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

#[test]
fn corpus_loads_from_a_manifest_and_windows_read_back() {
    let dir = temp_dir("corpus");
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).expect("fixture");
    write("a1.fa", ">r1\nACGTACGTAC\nacgtacgtac\n");
    write("a2.fa", ">r2\nGGGGGCCCCCRYGGGGG\n");
    write("b.fa", ">s\nTTTTTTTTTTAAAAAAAAAA\n");
    write(
        "species.toml",
        "[[species]]\nname = \"a\"\nfiles = [\"a1.fa\", \"a2.fa\"]\n\n[[species]]\nname = \"b\"\nfiles = [\"b.fa\"]\n",
    );
    let manifest = Manifest::load(dir.join("species.toml")).expect("manifest");
    let corpus = Corpus::load(&manifest).expect("corpus");
    assert_eq!(corpus.names(), ["a", "b"]);
    let a = &corpus.species[0];
    assert_eq!(a.records.len(), 2);
    assert_eq!(a.bases(), 37);
    assert_eq!((a.stats.lowercase, a.stats.non_acgt), (10, 2));
    let config = WindowConfig {
        length: 5,
        split: genomics::SplitFractions {
            train: 0.5,
            validation: 0.25,
            test: 0.25,
        },
        ..Default::default()
    };
    let windows = make_windows(&corpus, &config).expect("windows");
    assert_no_cross_split_overlap(&windows);
    // Record r2 (17 bases): train 0..9 holds 0..5 (5..10 would cross 9); the RY window of
    // validation 9..13 is too short anyway; test 13..17 is too short.
    let r2: Vec<(usize, Split)> = windows
        .windows
        .iter()
        .filter(|w| w.class == 0 && w.record == 1)
        .map(|w| (w.start, w.split))
        .collect();
    assert_eq!(r2, [(0, Split::Train)]);
    let first = windows.windows[0].bases(&corpus).expect("in corpus");
    assert_eq!(first.as_ref(), b"ACGTA");
    // A window from another corpus does not panic.
    let stray = Window {
        class: 9,
        ..windows.windows[0]
    };
    assert!(stray.bases(&corpus).is_none());
}

#[test]
fn shipped_celegans_windows_are_disjoint_across_splits() {
    let Some(dir) = shipped_genomes() else {
        eprintln!("skipped: shipped genomics data set not found");
        return;
    };
    let file = genomics::fasta::read_fasta(dir.join("02_celegans.fa.gz")).expect("genome");
    let corpus = Corpus {
        species: vec![SpeciesGenome {
            name: "celegans".into(),
            stats: file.stats,
            records: file.records,
        }],
    };
    let config = WindowConfig {
        length: 1024,
        stride: Some(512),
        ..Default::default()
    };
    let windows = make_windows(&corpus, &config).expect("windows");
    assert_no_cross_split_overlap(&windows);
    // CHROMOSOME_I (1,009,800 bp) alone gives 90 % of its bases to training.
    assert!(windows.split(Split::Validation).count() >= 90);
    assert_eq!(windows.counts[0][Split::Train.index()].skipped_n, 0);
}

fn shipped_genomes() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("GENOMICS_DATA_DIR") {
        return Some(PathBuf::from(dir));
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .take(4)
        .flat_map(|a| {
            [
                a.join("datasets/genomics"),
                a.join("shared/datasets/genomics"),
            ]
        })
        .find(|d| d.join("manifest.tsv").is_file())
}
