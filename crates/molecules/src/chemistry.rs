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
/// `@` outside brackets, empty fragments, a ring label opening and closing on one atom
/// (the pre-check recommended in `shared/domain-crates.md` §1).
pub fn strict_syntax_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let is_bond = |c: u8| matches!(c, b'-' | b'=' | b'#' | b'$' | b':' | b'/' | b'\\');
    let (mut i, mut prev) = (0usize, b'.'); // prev: last token outside [..]; 'A' = atom
    let mut labels_here: Vec<u32> = Vec::new(); // ring labels on the current atom
    while i < b.len() {
        let c = b[i];
        if c == b'[' {
            match s[i..].find(']') {
                Some(j) => {
                    i += j + 1;
                    prev = b'A';
                    labels_here.clear();
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
            if labels_here.contains(&label) {
                return false;
            }
            labels_here.push(label);
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
            labels_here.clear();
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
}
