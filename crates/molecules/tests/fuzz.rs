//! Fuzzing of the molecules parsers of outside input (see `diffusion_core::fuzz`): validity /
//! chemistry of any string, the SMILES regex tokenizer, the SELFIES decoder and encoder, QM9
//! CSV files and `molecules` configs. Each must give `Ok`/`None` or an error, never a panic.
//! Cases: `GDD_FUZZ_CASES` per parser (default 2,000; CSV files a tenth of that).

use diffusion_core::config_file::from_table;
use diffusion_core::fuzz::{Fuzzer, cases, check_no_panic};
use molecules::chemistry::analyze;
use molecules::config::MolConfig;
use molecules::qm9::load_qm9;
use molecules::selfies::{decoder, encoder};
use molecules::smiles_tokenizer::split_smiles;
use std::path::Path;

const SMILES_SYMBOLS: &[&str] = &[
    "C", "c", "N", "n", "O", "o", "F", "S", "Cl", "Br", "[nH]", "[NH3+]", "[O-]", "[C@@H]", "(",
    ")", "=", "#", "-", ":", "/", "\\", ".", "1", "2", "3", "%10", "%1", "[", "]", "@", "+", "*",
    "H", "[2H]", "B", "P", "I", "Si",
];
const SELFIES_SYMBOLS: &[&str] = &[
    "[C]",
    "[N]",
    "[O]",
    "[=C]",
    "[#N]",
    "[Branch1]",
    "[Branch2]",
    "[=Branch1]",
    "[Ring1]",
    "[Ring2]",
    "[=Ring1]",
    "[nop]",
    "[F]",
    "[NH1+1]",
    "[O-1]",
    "[C@@H1]",
    "[",
    "]",
    ".",
    "[X]",
];
const QM9: &[&str] = &[
    "CC1CCC(C)C11CC1",
    "OC1CC11CC(=O)N1",
    "C#CC1(O)CC1C#N",
    "Cc1cnc(O)[nH]1",
    "CC12CCCC11CC2C1",
    "[NH3+]CC([O-])=O",
    "O=C1CC2(CC2O)N1",
];

#[test]
fn fuzz_smiles_validity_and_tokenizer() {
    let mut f = Fuzzer::new(10);
    check_no_panic(
        "SMILES (random symbols)",
        cases(),
        |_| f.string(SMILES_SYMBOLS, 40),
        |s| {
            let _ = analyze(s);
            let _ = split_smiles(s);
        },
    );
    let mut f = Fuzzer::new(11);
    check_no_panic(
        "SMILES (mutated QM9)",
        cases(),
        |k| f.mutate_str(QM9[k % QM9.len()], "C1()=#[]N+-@%2"),
        |s| {
            let _ = analyze(s);
            let _ = split_smiles(s);
        },
    );
}

#[test]
fn fuzz_selfies_decoder_and_encoder() {
    let mut f = Fuzzer::new(12);
    check_no_panic(
        "SELFIES decoder",
        cases(),
        |k| {
            if k % 2 == 0 {
                f.string(SELFIES_SYMBOLS, 30)
            } else {
                let s = encoder(QM9[k % QM9.len()]).unwrap_or_default();
                f.mutate_str(&s, "[]CNO=#Branch1Ring2")
            }
        },
        |s| {
            let _ = decoder(s);
        },
    );
    let mut f = Fuzzer::new(13);
    check_no_panic(
        "SELFIES encoder",
        cases(),
        |k| f.mutate_str(QM9[k % QM9.len()], "C1()=#[]N+-@"),
        |s| {
            let _ = encoder(s);
        },
    );
}

#[test]
fn fuzz_qm9_csv_files() {
    let dir = std::env::temp_dir().join(format!("mol-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("qm9.csv");
    let text = "canonical_smiles,qed,ring_count\nCC,0.4,0\nC1CC1O,0.45,1\n\"CO\",0.3,0\n";
    let mut f = Fuzzer::new(14);
    check_no_panic(
        "QM9 CSV",
        cases().div_ceil(10),
        |_| f.mutate(text.as_bytes(), b",\n\"0.1e-"),
        |bytes| {
            std::fs::write(&path, bytes).unwrap();
            let _ = load_qm9(&path);
        },
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn fuzz_molecules_configs() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let texts: Vec<String> = ["qm9-mdlm", "qm9-classifier", "qm9-udlm-selfies"]
        .iter()
        .map(|n| std::fs::read_to_string(repo.join(format!("configs/{n}.toml"))).unwrap())
        .collect();
    let mut f = Fuzzer::new(15);
    check_no_panic(
        "molecules config",
        cases(),
        |k| f.mutate_str(&texts[k % texts.len()], "[]=.\"\n{}#,"),
        |t| {
            if let Ok(table) = toml::from_str::<toml::Table>(t) {
                let _ = from_table::<MolConfig>(table, "fuzz.toml");
            }
        },
    );
}
