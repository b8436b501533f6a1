#!/usr/bin/env python3
"""Generate golden files for the pure-Rust SELFIES port (crates/molecules/src/selfies).

Reference implementation: PyPI `selfies` 2.2.0 (Apache-2.0; its __version__
string reports 2.1.1), default semantic constraints. RDKit is only used to
check that every decoded SMILES parses.

Environment (run once):

    python3 -m venv /work/selfiesenv
    /work/selfiesenv/bin/pip install selfies==2.2.0 rdkit

Regenerate (from the repository root):

    /work/selfiesenv/bin/python scripts/make_selfies_golden.py

Outputs (deterministic; SEED = 20240611 drives every random choice):

* crates/molecules/tests/data/selfies_golden.tsv
  columns: smiles, selfies, decoded_smiles where
  selfies = sf.encoder(smiles) and decoded_smiles = sf.decoder(selfies).
  Rows: the first 1,000 `canonical_smiles` of datasets/molecules/qm9_first2000.csv,
  1,000 rows sampled (random.Random(SEED)) from the `smiles` column of
  datasets/molecules/qm9.csv.gz (the original GDB-17 strings, which keep
  stereo marks), then a hand-written list of hard cases.
* crates/molecules/tests/data/selfies_decode_golden.tsv
  columns: selfies, decoded_smiles for 500 random SELFIES strings of 1-25
  symbols drawn from the sorted semantic robust alphabet (69 symbols, which
  already contains [Branch1..3] and [Ring1..3]).
"""

import csv
import gzip
import random
import sys
from pathlib import Path

import selfies as sf
from rdkit import Chem, RDLogger

SEED = 20240611
N_QM9_HEAD = 1000
N_QM9_RANDOM = 1000
N_RANDOM_SELFIES = 500
MAX_RANDOM_SYMBOLS = 25

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT / "datasets" / "molecules"
OUT_DIR = ROOT / "crates" / "molecules" / "tests" / "data"

HARD_CASES = [
    "c1ccccc1O",  # phenol, aromatic kekulization
    "c1ccc2ccccc2c1",  # naphthalene
    "c1ccc2cc3ccccc3cc2c1",  # anthracene
    "c1cc2ccc3cccc4ccc(c1)c2c34",  # pyrene
    "c1ccc2cccc2cc1",  # azulene
    "c1cc[nH]c1",  # pyrrole, aromatic [nH]
    "c1ccc2[nH]ccc2c1",  # indole
    "o1cccc1",  # furan
    "[se]1cccc1",  # selenophene, bracketed aromatic
    "Cn1cnc2c1c(=O)n(C)c(=O)n2C",  # caffeine
    "C[n+]1ccccc1",  # aromatic cation
    "[NH3+]CC(=O)[O-]",  # zwitterion
    "C[N+](C)(C)C",  # quaternary ammonium
    "[O-][N+](=O)c1ccccc1",  # nitro group
    "N[C@@H](C)C(=O)O",  # L-alanine
    "N[C@H](C)C(=O)O",  # D-alanine
    "C[C@@]12CCC[C@H]1CCC2",  # chirality next to ring bonds
    "O[C@H]1CC[C@@H](C)CC1",  # chirality on ring-bond atom
    "F/C=C/F",  # trans double bond
    "F/C=C\\F",  # cis double bond
    "C/C=C/C(=O)O",
    "C1CCCCCCC/C=C/1",  # stereo bond on a ring closure
    "[13CH4]",  # isotope
    "[2H]C([2H])([2H])[2H]",  # deuterium
    "[2H][C@@H](O)C",  # isotope plus chirality
    "[15NH4+]",
    "[CH3:1]C",  # atom class (dropped by selfies)
    "C%10CCCCC%10",  # two-digit ring number
    "C1CC2CC3CC4CC5CC6CC7CC8CC9CC%10CCC%10C9C8C7C6C5C4C3C2C1",
    "[Na+].[Cl-]",  # fragments
    "CC(=O)[O-].[Na+]",
    "O.O.O",
    "C#N",  # triple bonds
    "CC#CC",
    "N#N",
    "[C-]#[O+]",
    "OS(=O)(=O)O",  # hypervalent sulfur
    "OP(=O)(O)O",
    "C=1CCC=CC=1",  # ring bond with explicit order
    "C1=CC=CC=C1",  # Kekule benzene
    "[Cu+2].[O-]S(=O)(=O)[O-]",
    "[OH-].[Fe+3]",
    "[CH2]",  # bracket atom with explicit H
    "[C]",  # bare bracket carbon (becomes [CH0])
    "C(C(C(C(C(C)C)C)C)C)C",  # nested branches
]

MALFORMED_SMILES = ["", "[C", "C(", "C)", "C1CC", "C=", "C1CC=1-", "[Xx]", "C%1", "(C)", ".C"]


def read_qm9_head():
    with open(DATASETS / "qm9_first2000.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [row["canonical_smiles"] for row in rows[:N_QM9_HEAD]]


def read_qm9_random(rng):
    with gzip.open(DATASETS / "qm9.csv.gz", "rt", newline="") as fh:
        rows = list(csv.DictReader(fh))
    picks = rng.sample(range(len(rows)), N_QM9_RANDOM)
    return [rows[i]["smiles"] for i in picks]


def check_rdkit(smiles, context):
    if Chem.MolFromSmiles(smiles) is None:
        print(f"warning: RDKit rejects decoded SMILES {smiles!r} ({context})", file=sys.stderr)
        return False
    return True


def write_tsv(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        fh.write("\t".join(header) + "\n")
        for row in rows:
            assert all("\t" not in cell and "\n" not in cell for cell in row)
            fh.write("\t".join(row) + "\n")


def main():
    RDLogger.DisableLog("rdApp.*")
    sf.set_semantic_constraints("default")
    rng = random.Random(SEED)

    smiles_list = read_qm9_head() + read_qm9_random(rng) + HARD_CASES
    pair_rows = []
    for smiles in smiles_list:
        encoded = sf.encoder(smiles)
        decoded = sf.decoder(encoded)
        check_rdkit(decoded, smiles)
        pair_rows.append((smiles, encoded, decoded))
    write_tsv(OUT_DIR / "selfies_golden.tsv", ("smiles", "selfies", "decoded_smiles"), pair_rows)

    for bad in MALFORMED_SMILES:
        try:
            sf.encoder(bad)
        except Exception:  # noqa: BLE001 - any failure is what the Rust tests expect
            continue
        raise SystemExit(f"expected selfies to reject malformed SMILES {bad!r}")

    alphabet = sorted(sf.get_semantic_robust_alphabet())
    assert len(alphabet) == 69, len(alphabet)
    decode_rows = []
    invalid = 0
    for _ in range(N_RANDOM_SELFIES):
        n = rng.randint(1, MAX_RANDOM_SYMBOLS)
        selfies = "".join(rng.choice(alphabet) for _ in range(n))
        decoded = sf.decoder(selfies)
        invalid += not check_rdkit(decoded, selfies)
        decode_rows.append((selfies, decoded))
    write_tsv(OUT_DIR / "selfies_decode_golden.tsv", ("selfies", "decoded_smiles"), decode_rows)

    print(
        f"wrote {len(pair_rows)} encoder rows and {len(decode_rows)} decoder rows "
        f"({invalid} decoded strings rejected by RDKit)"
    )


if __name__ == "__main__":
    main()
