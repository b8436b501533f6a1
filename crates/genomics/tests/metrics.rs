//! §9.4 metrics against hand-computed values and scikit-learn 1.9.1 / scipy 1.17.1.
//!
//! The reference numbers were produced with this script (Python 3.11, scikit-learn 1.9.1,
//! scipy 1.17.1), which builds the 4^k k-mer vector the way §9.4 describes:
//!
//! ```python
//! keys = ["".join(p) for p in itertools.product("ACGT", repeat=k)]
//! v = np.zeros(len(keys)); idx = {s: i for i, s in enumerate(keys)}
//! for s in seqs:
//!     for i in range(len(s) - k + 1):
//!         if s[i:i+k] in idx: v[idx[s[i:i+k]]] += 1
//! scipy.spatial.distance.jensenshannon(v_real, v_gen)
//! sklearn.metrics.roc_auc_score(y, s)
//! f1_score(t, p, average="macro", zero_division=0); matthews_corrcoef(t, p)
//! ```

use genomics::metrics::{
    ConfusionMatrix, auroc, classification_report, jensen_shannon_distance, kmer_frequencies,
    kmer_js_distance, species_kmer_js,
};
use genomics::random_baseline::{base_composition, random_sequences};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn kmer_js_distance_matches_hand_computation() {
    // k = 2. Real "ACGTA" has the 2-mers AC, CG, GT, TA; generated "AACGA" has AA, AC, CG, GA.
    // p = 1/4 on {AC, CG, GT, TA}, q = 1/4 on {AA, AC, CG, GA}, m = (p + q)/2:
    //   m = 1/4 on AC and CG, 1/8 on GT, TA, AA, GA.
    // KL(p‖m) = 2·(1/4)·ln(1) + 2·(1/4)·ln((1/4)/(1/8)) = (1/2)·ln 2, and KL(q‖m) likewise.
    // JS divergence = (KL(p‖m) + KL(q‖m))/2 = (ln 2)/2; distance = sqrt(ln 2 / 2)
    //   = 0.5887050112577373 (scipy 1.17.1 jensenshannon gives the same to the last digit).
    let expected = (std::f64::consts::LN_2 / 2.0).sqrt();
    let d = kmer_js_distance(&["ACGTA"], &["AACGA"], 2).expect("defined");
    assert!(close(d, expected), "{d}");
    assert!(close(d, 0.5887050112577373));
}

#[test]
fn kmer_js_distance_matches_scipy_with_n_and_several_sequences() {
    // k = 3; k-mers overlapping N are not counted. scipy 1.17.1: 0.7188395628032378.
    let real = ["ACGTNACGTT", "GGGCCCA"];
    let generated = ["ACGACGACG", "TTTNAAA", "CA"];
    let d = kmer_js_distance(&real, &generated, 3).expect("defined");
    assert!(close(d, 0.7188395628032378), "{d}");
    // k = 1 (base composition): "AAAC" vs "AC". scipy 1.17.1: 0.18390779094047432.
    let d = kmer_js_distance(&["AAAC"], &["AC"], 1).expect("defined");
    assert!(close(d, 0.18390779094047432), "{d}");
    // Soft-masked input counts like upper case.
    let d = kmer_js_distance(&["acgta"], &["AACGA"], 2).expect("defined");
    assert!(close(d, 0.5887050112577373), "{d}");
}

#[test]
fn kmer_frequencies_cover_all_4k_kmers_for_k_3_and_6() {
    for k in [3, 6] {
        let f = kmer_frequencies(&["ACGTTGCA".repeat(20)], k).expect("defined");
        assert_eq!(f.len(), 4usize.pow(k as u32));
        assert!(close(f.iter().sum(), 1.0));
    }
    // No k-mer at all (sequence shorter than k, or only N) is an error, not NaN.
    assert!(kmer_frequencies(&["ACG"], 6).is_err());
    assert!(kmer_js_distance(&["NNNNNNN"], &["ACGTACG"], 3).is_err());
}

#[test]
fn species_weighted_kmer_js_uses_validation_frequencies() {
    // Species 0: 3 validation sequences, species 1: 1, so weights 3/4 and 1/4.
    // d0 = sqrt(ln 2 / 2) (as above; repeating a sequence does not change frequencies);
    // d1 = JS("AAAC" vs "AAC", k = 2) = 0.11984403015647774 (scipy 1.17.1);
    // weighted = 0.75·d0 + 0.25·d1 = 0.4714897659824224.
    let real = vec![vec!["ACGTA"; 3], vec!["AAAC"]];
    let generated = vec![vec!["AACGA"], vec!["AAC"]];
    let js = species_kmer_js(&real, &generated, 2).expect("defined");
    assert_eq!(js.weights, [0.75, 0.25]);
    assert!(close(
        js.per_species[0].unwrap_or(f64::NAN),
        0.5887050112577373
    ));
    assert!(close(
        js.per_species[1].unwrap_or(f64::NAN),
        0.11984403015647774
    ));
    assert!(close(js.weighted, 0.4714897659824224), "{}", js.weighted);

    // A species without validation sequences has weight 0 and no distance.
    let real = vec![vec!["ACGTA"], vec![]];
    let generated = vec![vec!["AACGA"], vec!["AAC"]];
    let js = species_kmer_js(&real, &generated, 2).expect("defined");
    assert_eq!(js.per_species[1], None);
    assert!(close(js.weighted, 0.5887050112577373));

    // Validation sequences but nothing generated for the species: an error naming the class.
    let real = vec![vec!["ACGTA"], vec!["AAC"]];
    let generated: Vec<Vec<&str>> = vec![vec!["AACGA"], vec![]];
    let message = species_kmer_js(&real, &generated, 2)
        .expect_err("undefined")
        .to_string();
    assert!(message.contains("class 1"), "{message}");
}

#[test]
fn jensen_shannon_edge_cases() {
    assert!(jensen_shannon_distance(&[1.0], &[1.0, 0.0]).is_err());
    assert!(jensen_shannon_distance(&[], &[]).is_err());
    assert!(jensen_shannon_distance(&[f64::NAN, 1.0], &[1.0, 0.0]).is_err());
    assert!(jensen_shannon_distance(&[-1.0, 2.0], &[1.0, 0.0]).is_err());
    // Unnormalised inputs are normalised, as in scipy.
    let a = jensen_shannon_distance(&[1.0, 3.0], &[2.0, 2.0]).expect("defined");
    let b = jensen_shannon_distance(&[0.25, 0.75], &[0.5, 0.5]).expect("defined");
    assert!(close(a, b));
}

#[test]
fn auroc_with_ties_matches_hand_computation() {
    // Positives score 0.35, 0.8, 0.4; negatives 0.1, 0.4, 0.35. Over the 9 (positive,
    // negative) pairs a win counts 1 and a tie 1/2:
    //   0.35: beats 0.1, loses to 0.4, ties 0.35 → 1.5
    //   0.8 : beats all three                    → 3
    //   0.4 : beats 0.1 and 0.35, ties 0.4       → 2.5
    // AUROC = 7/9 = 0.7777777777777778 (sklearn 1.9.1 roc_auc_score agrees).
    let scores = [0.1, 0.4, 0.35, 0.8, 0.4, 0.35];
    let labels = [false, false, true, true, true, false];
    let auc = auroc(&scores, &labels).expect("defined");
    assert!(close(auc, 7.0 / 9.0), "{auc}");
    // Many ties across both classes. sklearn 1.9.1: 0.8799999999999999.
    let scores = [0.5, 0.5, 0.5, 0.2, 0.9, 0.5, 0.2, 0.1, 0.9, 0.5];
    let labels = [1, 0, 1, 0, 1, 1, 0, 0, 1, 0].map(|l| l == 1);
    assert!(close(auroc(&scores, &labels).expect("defined"), 0.88));
    // All scores equal: 0.5, the ideal value of the §9.4 discriminator.
    assert!(close(
        auroc(&[0.3; 4], &[true, false, true, false]).expect("defined"),
        0.5
    ));
}

#[test]
fn auroc_undefined_cases_are_errors() {
    assert!(auroc(&[0.1, 0.2], &[true, true]).is_err());
    assert!(auroc(&[0.1, 0.2], &[false, false]).is_err());
    assert!(auroc(&[0.1, f64::NAN], &[true, false]).is_err());
    assert!(auroc(&[0.1], &[true, false]).is_err());
}

#[test]
fn f1_and_mcc_on_a_three_class_confusion_matrix() {
    // Confusion matrix (rows true, columns predicted) [[3,1,0],[1,2,1],[0,2,3]].
    // By hand: F1_0 = 2·3/(4+4) = 0.75, F1_1 = 2·2/(4+5) = 4/9, F1_2 = 2·3/(5+4) = 2/3;
    // macro = 0.6203703703703703. MCC: s = 13, c = 8, t = (4,4,5), p = (4,5,4):
    // (8·13 − 56) / sqrt((169 − 57)(169 − 57)) = 48/112 = 0.42857142857142855.
    // sklearn 1.9.1 gives accuracy 0.6153846153846154, macro F1 0.6203703703703703,
    // MCC 0.42857142857142855.
    let truth = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2];
    let predicted = [0, 0, 0, 1, 0, 1, 1, 2, 1, 1, 2, 2, 2];
    let report = classification_report(3, &truth, &predicted).expect("valid");
    assert_eq!(
        report.confusion.rows(),
        [vec![3, 1, 0], vec![1, 2, 1], vec![0, 2, 3]]
    );
    assert!(close(report.accuracy, 0.6153846153846154));
    let f1 = report.confusion.f1_per_class();
    assert!(close(f1[0], 0.75) && close(f1[1], 4.0 / 9.0) && close(f1[2], 2.0 / 3.0));
    assert!(close(report.macro_f1, 0.6203703703703703));
    assert!(close(report.mcc, 0.42857142857142855));
}

#[test]
fn class_never_predicted_and_class_absent() {
    // Class 1 is never predicted: its F1 is 0 (sklearn zero_division=0); class 3 of 4 occurs
    // nowhere and, as in sklearn's macro average, is left out. sklearn 1.9.1: accuracy 0.75,
    // macro F1 0.5555555555555555, per-class [0.6667, 0, 1], MCC 0.6708203932499369.
    let report = classification_report(4, &[0, 1, 2, 2], &[0, 0, 2, 2]).expect("valid");
    assert!(close(report.accuracy, 0.75));
    assert_eq!(report.confusion.f1_per_class()[1], 0.0);
    assert_eq!(report.confusion.f1_per_class()[3], 0.0);
    assert!(close(report.macro_f1, 0.5555555555555555));
    assert!(close(report.mcc, 0.6708203932499369));
}

#[test]
fn mcc_with_zero_denominator_is_zero() {
    // One predicted class, or one true class: sklearn 1.9.1 returns MCC 0 and macro F1
    // 0.16666666666666666 for both.
    for (truth, predicted) in [([0, 1, 2], [1, 1, 1]), ([1, 1, 1], [0, 1, 2])] {
        let report = classification_report(3, &truth, &predicted).expect("valid");
        assert_eq!(report.mcc, 0.0);
        assert!(close(report.macro_f1, 1.0 / 6.0));
        assert!(close(report.accuracy, 1.0 / 3.0));
    }
    // Everything right with one class only: MCC is still 0/0 → 0, F1 1.
    let report = classification_report(2, &[1, 1], &[1, 1]).expect("valid");
    assert_eq!(report.mcc, 0.0);
    assert_eq!(report.macro_f1, 1.0);
}

#[test]
fn perfect_and_binary_predictions() {
    let perfect = classification_report(4, &[0, 1, 2, 3], &[0, 1, 2, 3]).expect("valid");
    assert_eq!(
        (perfect.accuracy, perfect.macro_f1, perfect.mcc),
        (1.0, 1.0, 1.0)
    );
    // sklearn 1.9.1: macro F1 0.5833333333333333, MCC 0.16666666666666666.
    let binary = classification_report(2, &[0, 0, 1, 1, 1], &[0, 1, 1, 1, 0]).expect("valid");
    assert!(close(binary.macro_f1, 0.5833333333333333));
    assert!(close(binary.mcc, 0.16666666666666666));
}

#[test]
fn bad_label_inputs_are_errors() {
    assert!(ConfusionMatrix::new(3, &[0, 1], &[0]).is_err());
    assert!(ConfusionMatrix::new(3, &[], &[]).is_err());
    assert!(ConfusionMatrix::new(3, &[0, 3], &[0, 1]).is_err());
}

#[test]
fn random_baseline_matches_the_data_composition() {
    // GC-rich "data": composition A 0.1, C 0.4, G 0.4, T 0.1.
    let data = ["ACCCCGGGGT", "CGGCTACGCG"];
    let comp = base_composition(&data).expect("defined");
    let seqs = random_sequences(8, 5_000, comp, 42).expect("valid");
    assert!(seqs.iter().all(|s| s.len() == 5_000));
    let got = base_composition(&seqs).expect("defined");
    for (g, w) in got.iter().zip(comp) {
        assert!((g - w).abs() < 0.01, "{got:?} vs {comp:?}");
    }
    // Its 1-mer JS distance to the data is small.
    let d1 = kmer_js_distance(&data, &seqs, 1).expect("defined");
    assert!(d1 < 0.02, "{d1}");
}

#[test]
fn generated_sequences_without_kmers_are_at_the_maximum_distance() {
    let real = vec![vec![b"ACGTACGT".to_vec()]];
    let generated = vec![vec![b"NNNNNNNN".to_vec()]];
    let js = species_kmer_js(&real, &generated, 3).expect("defined");
    assert!((js.weighted - std::f64::consts::LN_2.sqrt()).abs() < 1e-15);
    // The same value as a disjoint k-mer set.
    let disjoint = vec![vec![b"TTTTTTTT".to_vec()]];
    let d = species_kmer_js(&real, &disjoint, 3).expect("defined");
    assert!((d.weighted - js.weighted).abs() < 1e-12);
}
