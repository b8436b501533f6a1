//! RDKit-equivalent chemistry through the pure-Rust `chematic` crates (pinned versions):
//! validity, RDKit canonical SMILES, ring count (symmetrised SSSR) and QED (spec §9.3).

/// Properties of a valid molecule.
#[derive(Clone, Debug, PartialEq)]
pub struct MolInfo {
    /// `Chem.MolToSmiles(Chem.MolFromSmiles(s))`.
    pub canonical: String,
    /// `rdMolDescriptors.CalcNumRings`.
    pub rings: usize,
    /// `QED.qed`.
    pub qed: f64,
}

/// Syntax that RDKit rejects but the chematic parser accepts: empty branches, dangling bonds,
/// `@` outside brackets, empty fragments, a ring label opening and closing on one atom.
/// A label that closes a ring and is then reopened on the same atom (`C11` after an open `1`,
/// a spiro atom, as in QM9's `CC1CCC(C)C11CC1`) is accepted, as RDKit accepts it.
pub fn strict_syntax_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let is_bond = |c: u8| matches!(c, b'-' | b'=' | b'#' | b'$' | b':' | b'/' | b'\\');
    let (mut i, mut prev) = (0usize, b'.'); // prev: last token outside [..]; 'A' = atom
    let mut atom = 0usize; // index of the current atom
    let mut opened_here: Vec<u32> = Vec::new(); // ring labels opened on the current atom
    let mut closed_here: Vec<usize> = Vec::new(); // openers of rings closed on the current atom
    let mut open: Vec<(u32, usize)> = Vec::new(); // open ring labels and the atom that opened each
    while i < b.len() {
        let c = b[i];
        if c == b'[' {
            match s[i..].find(']') {
                Some(j) => {
                    i += j + 1;
                    prev = b'A';
                    atom += 1;
                    opened_here.clear();
                    closed_here.clear();
                    continue;
                }
                None => return false,
            }
        }
        if c.is_ascii_digit() || c == b'%' {
            let (label, len) = if c == b'%' {
                if i + 2 >= b.len() || !b[i + 1].is_ascii_digit() || !b[i + 2].is_ascii_digit() {
                    return false;
                }
                ((b[i + 1] - b'0') as u32 * 10 + (b[i + 2] - b'0') as u32, 3)
            } else {
                ((c - b'0') as u32, 1)
            };
            if let Some(k) = open.iter().position(|&(l, _)| l == label) {
                // Closing a ring: not on the atom that opened it, and not a second bond to the
                // same opener (`C12CC12`).
                let opener = open[k].1;
                if opened_here.contains(&label) || closed_here.contains(&opener) {
                    return false;
                }
                closed_here.push(opener);
                open.swap_remove(k);
            } else {
                open.push((label, atom));
                opened_here.push(label);
            }
            prev = b'1';
            i += len;
            continue;
        }
        match c {
            b'@' => return false,
            b')' if prev == b'(' => return false,
            b'.' if matches!(prev, b'.' | b'(') => return false,
            b')' | b'(' | b'.' if is_bond(prev) => return false,
            b')' if prev == b'.' => return false,
            _ => {}
        }
        if c.is_ascii_alphabetic() || c == b'*' {
            atom += 1;
            closed_here.clear();
            opened_here.clear();
            prev = b'A';
        } else {
            prev = c;
        }
        i += 1;
    }
    !(is_bond(prev) || matches!(prev, b'(' | b'.'))
}

/// RDKit's verdict on a SMILES string: `Some(info)` if `MolFromSmiles` would return a molecule
/// (non-empty, parses, sanitises), else `None`.
pub fn analyze(smiles: &str) -> Option<MolInfo> {
    if smiles.is_empty() || !strict_syntax_ok(smiles) {
        return None;
    }
    let mol = chematic_smiles::parse(smiles).ok()?;
    let canonical = chematic_smiles::rdkit_canonical_smiles(&mol).ok()?;
    Some(MolInfo {
        canonical,
        rings: chematic_chem::rdkit_num_rings(&mol),
        qed: chematic_chem::qed(&mol),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spot checks against Python RDKit 2026.09.1, as recorded in shared/domain-crates.md §1.
    #[test]
    fn matches_rdkit_spot_checks() {
        let phenol = analyze("c1ccccc1O").unwrap();
        assert_eq!(phenol.canonical, "Oc1ccccc1");
        assert_eq!(phenol.rings, 1);
        assert!(analyze("C1CC").is_none());
        assert!(analyze("C(C)(C)(C)(C)C").is_none());
        assert!(analyze("c1cccc1").is_none());
        assert!(analyze("").is_none());
        let aspirin = analyze("CC(=O)Oc1ccccc1C(=O)O").unwrap();
        assert!((aspirin.qed - 0.550122).abs() < 1e-6, "{}", aspirin.qed);
    }

    #[test]
    fn strict_syntax_rejects_what_rdkit_rejects() {
        for bad in [
            "C()C", "C(=)C", "CC=", "C-(C)", "C@C", ".C", "C.", "C..C", "C11", "N%10%10",
        ] {
            assert!(!strict_syntax_ok(bad), "{bad}");
            assert!(analyze(bad).is_none(), "{bad}");
        }
        assert!(strict_syntax_ok("C1CC1"));
    }

    /// A ring label closed and reopened on one atom is a spiro centre (RDKit 2026.09.1 values);
    /// opening and closing on one atom, or closing twice to one opener, stays invalid.
    #[test]
    fn spiro_ring_label_reuse_is_valid_as_in_rdkit() {
        for (smiles, canonical, rings) in [
            ("CC1CCC(C)C11CC1", "CC1CCC(C)C12CC2", 2),
            ("OC1CC11CC(=O)N1", "O=C1CC2(CC2O)N1", 2),
            ("CC12CCCC11CC2C1", "CC12CCCC13CC2C3", 4),
            ("C1CC11CC1", "C1CC12CC2", 2),
        ] {
            let m = analyze(smiles).unwrap_or_else(|| panic!("{smiles} is valid for RDKit"));
            assert_eq!(m.canonical, canonical, "{smiles}");
            assert_eq!(m.rings, rings, "{smiles}");
        }
        for bad in ["C11", "C1CC1C11CC1", "C12CC12"] {
            assert!(analyze(bad).is_none(), "{bad} is invalid for RDKit");
        }
    }
}
