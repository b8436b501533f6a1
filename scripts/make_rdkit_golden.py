"""Golden RDKit values for crates/molecules/tests/rdkit_golden.rs.

Produced once with Python RDKit 2026.09.1 (the reference's chemistry toolkit) and committed:

    python3 -m venv /tmp/rdkitenv && /tmp/rdkitenv/bin/pip install rdkit==2026.9.1
    /tmp/rdkitenv/bin/python scripts/make_rdkit_golden.py > crates/molecules/tests/data/rdkit_golden.tsv

Rows: 400 QM9 molecules (seeded random sample of datasets/molecules/qm9.csv.gz), 50 non-canonical
kekulé spellings of QM9 molecules, generated SMILES of the shipped models (`molecules sample -n 256
--seed 7` with checkpoints/molecules/udlm.ckpt and mdlm.ckpt, the two samples.smi concatenated into
/tmp/rdkit-golden-samples.smi by the caller; many invalid), and hand-picked edge cases.
Columns: smiles, valid (0/1), canonical (MolToSmiles), qed (QED.qed, 9 decimals), rings (CalcNumRings).
"""
import csv, gzip, random, sys
from rdkit import Chem, RDLogger
from rdkit.Chem import QED, rdMolDescriptors

RDLogger.DisableLog("rdApp.*")
random.seed(2026)
with gzip.open("datasets/molecules/qm9.csv.gz", "rt") as f:
    rows = [r["canonical_smiles"] for r in csv.DictReader(f)]
smiles = random.sample(rows, 400)
# Non-canonical spellings of QM9 molecules (the reference scores strings as written).
for s in random.sample(rows, 50):
    m = Chem.MolFromSmiles(s)
    smiles.append(Chem.MolToSmiles(m, canonical=False, doRandom=True, kekuleSmiles=True))
try:
    with open("/tmp/rdkit-golden-samples.smi") as f:
        smiles += [l.rstrip("\n") for l in f if l.strip()]
except FileNotFoundError:
    pass
smiles += ["c1ccccc1O", "CC(=O)Oc1ccccc1C(=O)O", "C1CC", "C(C)(C)(C)(C)C", "c1cccc1", "[NH3+]CC([O-])=O",
           "C#N", "O=C1CC1", "C1=CC=CC=C1", "N1C=CC=C1", "c1cc[nH]c1", "C()C", "CC=", "C11", "[C-]#[O+]",
           "C12CC1C2", "OC1(C#N)CC1", "n1ccccc1", "c1ccncc1O", "CC(C)(C)C",
           # A ring label closed and reopened on one atom (spiro centres, as QM9's GDB column
           # spells them), and the two spellings RDKit refuses: a label opened and closed on one
           # atom, two closures to one opener.
           "CC1CCC(C)C11CC1", "OC1CC11CC(=O)N1", "CC12CCCC11CC2C1", "C1CC11CC1", "C1CC1C11CC1",
           "C12CC12"]
seen = set()
print("smiles\tvalid\tcanonical\tqed\trings")
for s in smiles:
    if s in seen:
        continue
    seen.add(s)
    m = Chem.MolFromSmiles(s) if s else None
    if m is None:
        print(f"{s}\t0\t\t\t")
    else:
        print(f"{s}\t1\t{Chem.MolToSmiles(m)}\t{QED.qed(m):.9f}\t{rdMolDescriptors.CalcNumRings(m)}")
