//! RDKit agreement on a committed sample (scripts/make_rdkit_golden.py, RDKit 2026.09.1): QM9
//! molecules, non-canonical spellings, generated strings (many invalid) and edge cases. Validity,
//! canonical SMILES and ring count must match exactly, QED to 1e-6.

use molecules::chemistry::analyze;

#[test]
fn chemistry_matches_rdkit_on_the_golden_sample() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rdkit_golden.tsv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut mismatches = Vec::new();
    let mut n = 0;
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 5, "line {}: {line}", i + 1);
        n += 1;
        let ours = analyze(f[0]);
        match (f[1], ours) {
            ("0", None) => {}
            ("1", Some(info)) => {
                let qed: f64 = f[3].parse().unwrap();
                let rings: usize = f[4].parse().unwrap();
                if info.canonical != f[2] || info.rings != rings || (info.qed - qed).abs() > 1e-6 {
                    mismatches.push(format!(
                        "line {}: `{}`: RDKit {} / {} / {qed}; ours {} / {} / {}",
                        i + 1,
                        f[0],
                        f[2],
                        rings,
                        info.canonical,
                        info.rings,
                        info.qed
                    ));
                }
            }
            (v, ours) => mismatches.push(format!(
                "line {}: `{}`: RDKit valid={v}, ours valid={}",
                i + 1,
                f[0],
                ours.is_some()
            )),
        }
    }
    assert!(n > 900, "golden file has only {n} rows");
    assert!(
        mismatches.is_empty(),
        "{} of {n} rows differ from RDKit:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
