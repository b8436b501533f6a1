//! Golden tests for the SELFIES port against Python `selfies` 2.2.0
//! (files produced by `scripts/make_selfies_golden.py`).

use std::fs;
use std::path::PathBuf;

use molecules::selfies::{
    SelfiesError, decoder, encoder, len_selfies, semantic_robust_alphabet, split_selfies,
};

fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
        .join(name)
}

/// Rows of a TSV file without its header, each split into `columns` cells.
fn read_tsv(name: &str, columns: usize) -> Vec<Vec<String>> {
    let text =
        fs::read_to_string(data_path(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"));
    text.lines()
        .skip(1)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let cells: Vec<String> = line.split('\t').map(str::to_string).collect();
            assert_eq!(cells.len(), columns, "malformed row in {name}: {line:?}");
            cells
        })
        .collect()
}

/// Asserts that no mismatch was collected, printing a sample of them otherwise.
fn assert_no_mismatches(what: &str, total: usize, mismatches: &[String]) {
    assert!(
        mismatches.is_empty(),
        "{} of {total} {what} rows differ from Python selfies, e.g.:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn encoder_matches_python_on_golden_pairs() {
    let rows = read_tsv("selfies_golden.tsv", 3);
    assert!(
        rows.len() >= 2000,
        "expected ~2,000 golden pairs, found {}",
        rows.len()
    );
    let mismatches: Vec<String> = rows
        .iter()
        .filter_map(|row| match encoder(&row[0]) {
            Ok(got) if got == row[1] => None,
            Ok(got) => Some(format!("{}: expected {} got {got}", row[0], row[1])),
            Err(err) => Some(format!("{}: expected {} got error {err}", row[0], row[1])),
        })
        .collect();
    assert_no_mismatches("encoder", rows.len(), &mismatches);
}

#[test]
fn decoder_matches_python_on_golden_pairs() {
    let rows = read_tsv("selfies_golden.tsv", 3);
    let mismatches: Vec<String> = rows
        .iter()
        .filter_map(|row| match decoder(&row[1]) {
            Ok(got) if got == row[2] => None,
            Ok(got) => Some(format!("{}: expected {} got {got}", row[1], row[2])),
            Err(err) => Some(format!("{}: expected {} got error {err}", row[1], row[2])),
        })
        .collect();
    assert_no_mismatches("decoder", rows.len(), &mismatches);
}

#[test]
fn decoder_matches_python_on_random_selfies() {
    let rows = read_tsv("selfies_decode_golden.tsv", 2);
    assert!(
        rows.len() >= 500,
        "expected 500 random SELFIES, found {}",
        rows.len()
    );
    let mismatches: Vec<String> = rows
        .iter()
        .filter_map(|row| match decoder(&row[0]) {
            Ok(got) if got == row[1] => None,
            Ok(got) => Some(format!("{}: expected {} got {got}", row[0], row[1])),
            Err(err) => Some(format!("{}: expected {} got error {err}", row[0], row[1])),
        })
        .collect();
    assert_no_mismatches("random decoder", rows.len(), &mismatches);
}

#[test]
fn decoded_golden_smiles_are_encoder_fixed_points() {
    // decoder output is Kekulé SMILES in SELFIES atom order, so re-encoding it must
    // reproduce the SELFIES string
    for row in read_tsv("selfies_golden.tsv", 3) {
        assert_eq!(
            encoder(&row[2]).as_deref(),
            Ok(row[1].as_str()),
            "re-encoding {}",
            row[2]
        );
    }
}

#[test]
fn robust_alphabet_has_69_sorted_symbols() {
    let alphabet = semantic_robust_alphabet();
    assert_eq!(alphabet.len(), 69);
    assert!(alphabet.windows(2).all(|w| w[0] < w[1]));
    for symbol in [
        "[C]",
        "[=C]",
        "[#C]",
        "[N+1]",
        "[=O+1]",
        "[#S-1]",
        "[Br]",
        "[Ring3]",
        "[=Ring1]",
        "[#Branch2]",
    ] {
        assert!(alphabet.iter().any(|s| s == symbol), "missing {symbol}");
    }
    for symbol in ["[#O]", "[=F]", "[#Ring1]", "[nop]"] {
        assert!(!alphabet.iter().any(|s| s == symbol), "unexpected {symbol}");
    }
}

#[test]
fn split_and_len() {
    assert_eq!(
        split_selfies("[C][=C][F].[C]"),
        Ok(vec![
            "[C]".into(),
            "[=C]".into(),
            "[F]".into(),
            ".".into(),
            "[C]".into()
        ])
    );
    assert_eq!(len_selfies("[C][=C][F].[C]"), 5);
    assert_eq!(split_selfies(""), Ok(vec![]));
    assert_eq!(len_selfies(""), 0);
    assert_eq!(
        split_selfies("[=Branch1][#C-1]"),
        Ok(vec!["[=Branch1]".into(), "[#C-1]".into()])
    );
    // text outside brackets is swallowed into the next symbol, as in Python
    assert_eq!(
        split_selfies("[C]x[O]"),
        Ok(vec!["[C]".into(), "x[O]".into()])
    );
    assert!(matches!(
        split_selfies("[C][O"),
        Err(SelfiesError::HangingBracket { position: 3, .. })
    ));

    for row in read_tsv("selfies_golden.tsv", 3) {
        let symbols = split_selfies(&row[1]).expect("golden SELFIES split");
        assert_eq!(symbols.len(), len_selfies(&row[1]));
        assert_eq!(symbols.concat(), row[1]);
    }
}

#[test]
fn encoder_rejects_malformed_smiles() {
    for bad in [
        "",
        "[C",
        "C(",
        "C)",
        "()",
        "(C)",
        ".C",
        "C=",
        "C1CC",
        "C1CC2",
        "C=1CC-1",
        "C1CC1C1",
        "[Xx]",
        "[CL]",
        "C%1",
        "C%a1",
        "C(=)C",
        "C-.C",
        "Cx",
        "C$C",
        "*",
        "C11",
        "C12CC12",
        "[C@@@H]",
        "[CH+0+]",
        "c1cccc1",
        "[Na]:[Na]",
        "C(F)(F)(F)(F)F",
        "FF=C",
    ] {
        match encoder(bad) {
            Err(err) => assert!(!err.to_string().is_empty()),
            Ok(selfies) => panic!("encoder accepted malformed SMILES {bad:?} as {selfies}"),
        }
    }
}

#[test]
fn encoder_errors_name_the_problem() {
    let err = encoder("C(").unwrap_err();
    assert!(err.to_string().contains("hanging '(' bracket"), "{err}");
    let err = encoder("[Xx]").unwrap_err();
    assert!(err.to_string().contains("[Xx]"), "{err}");
    let err = encoder("C1CC").unwrap_err();
    assert!(err.to_string().contains("hanging ring number '1'"), "{err}");
    let err = encoder("C(F)(F)(F)(F)F").unwrap_err();
    assert!(
        matches!(
            err,
            SelfiesError::BondConstraint {
                bonds: 5,
                capacity: 4,
                ..
            }
        ),
        "{err}"
    );
    assert!(matches!(
        encoder("c1cccc1"),
        Err(SelfiesError::Kekulization { .. })
    ));
}

#[test]
fn decoder_rejects_malformed_selfies() {
    for bad in [
        "[C",
        "[C][O",
        "[Xx]",
        "[C][Xx]",
        "[C][=Branch4][C]",
        "[C][Ring0]",
        "[C+0]",
        "[C][#Ring1]x",
    ] {
        match decoder(bad) {
            Err(err) => assert!(!err.to_string().is_empty()),
            Ok(smiles) => panic!("decoder accepted malformed SELFIES {bad:?} as {smiles}"),
        }
    }
    let err = decoder("[C][Xx]").unwrap_err();
    assert!(
        matches!(&err, SelfiesError::InvalidSymbol { symbol, index: 1, .. } if symbol == "[Xx]"),
        "{err}"
    );
    assert!(err.to_string().contains("[Xx]"));
    assert!(matches!(
        decoder("[C].[O"),
        Err(SelfiesError::HangingBracket { position: 4, .. })
    ));
}

#[test]
fn decoder_edge_cases_match_python() {
    // (input, output) pairs checked against Python selfies 2.2.0
    let cases = [
        ("", ""),
        ("no brackets", ""),
        ("x]", ""),
        ("[nop][C][nop][O]", "CO"),
        ("[C]..[C]", "C.C"),
        ("[F][F][Xx]", "FF"),
        ("[C][Branch1][Xx][C]", "CC"),
        ("[epsilon][C]", "C"),
        ("[C][epsilon][C]", "C"),
        ("[CH4][C]", "[CH4]"),
        ("[C][CH4][C]", "C"),
        ("[C][=C][Ring1][C]", "C#C"),
        ("[C][C][C][=Ring1][Ring1]", "C=1CC=1"),
        ("[O][=C][Branch1][C][F][F]", "O=C(F)F"),
        ("[13C@@H1][O]", "[13C@@H1]O"),
        ("[=N-1][#C]", "[N-1]=C"),
    ];
    for (selfies, smiles) in cases {
        assert_eq!(
            decoder(selfies).as_deref(),
            Ok(smiles),
            "decoding {selfies:?}"
        );
    }
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let depth = 20_000;
    let smiles = format!("{}C{}", "C(".repeat(depth), ")".repeat(depth));
    let selfies = encoder(&smiles).expect("deeply nested SMILES encodes");
    let decoded = decoder(&selfies).expect("deeply nested SELFIES decodes");
    assert_eq!(
        len_selfies(&decoded.replace(['(', ')'], "").replace('C', "[C]")),
        depth + 1
    );
    let nested = "[C][Branch1][C]".repeat(depth);
    assert!(decoder(&nested).is_ok());
}
