//! Fixed chemistry and alphabet tables shared by the encoder and decoder.

/// Element symbols accepted inside bracket atoms; selfies 2.2.0 stops at Lr (no Nh, Mc, Ts, Og).
const ELEMENTS: [&str; 114] = [
    "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S", "Cl",
    "Ar", "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As",
    "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In",
    "Sn", "Sb", "Te", "I", "Xe", "Cs", "Ba", "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg",
    "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg",
    "Cn", "Fl", "Lv", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm",
    "Yb", "Lu", "Ac", "Th", "Pa", "U", "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No",
    "Lr",
];

/// Elements that SMILES may write without brackets.
const ORGANIC_SUBSET: [&str; 10] = ["B", "C", "N", "O", "S", "P", "F", "Cl", "Br", "I"];

/// Elements that may be aromatic, with their allowed valences and valence-shell electrons.
/// Used to decide which aromatic atoms take part in a Kekulé double bond.
const AROMATIC_ELEMENTS: [(&str, &[i64], i64); 11] = [
    ("B", &[3], 3),
    ("Al", &[3], 3),
    ("C", &[4], 4),
    ("Si", &[4], 4),
    ("N", &[3, 5], 5),
    ("P", &[3, 5], 5),
    ("As", &[3, 5], 5),
    ("O", &[2, 4], 6),
    ("S", &[2, 4], 6),
    ("Se", &[2, 4], 6),
    ("Te", &[2, 4], 6),
];

/// The 16 symbols that double as base-16 digits for branch and ring lengths.
pub(super) const INDEX_ALPHABET: [&str; 16] = [
    "[C]",
    "[Ring1]",
    "[Ring2]",
    "[Branch1]",
    "[=Branch1]",
    "[#Branch1]",
    "[Branch2]",
    "[=Branch2]",
    "[#Branch2]",
    "[O]",
    "[N]",
    "[=N]",
    "[=C]",
    "[#C]",
    "[S]",
    "[P]",
];

/// Returns the interned element symbol if `symbol` names a known element.
pub(super) fn element(symbol: &str) -> Option<&'static str> {
    ELEMENTS.iter().copied().find(|e| *e == symbol)
}

/// Whether `symbol` is a bracket-free SMILES element.
pub(super) fn is_organic(symbol: &str) -> bool {
    ORGANIC_SUBSET.contains(&symbol)
}

/// Allowed aromatic valences of `element`, or `None` if it cannot be aromatic.
pub(super) fn aromatic_valences(element: &str) -> Option<&'static [i64]> {
    AROMATIC_ELEMENTS
        .iter()
        .find(|(e, _, _)| *e == element)
        .map(|(_, valences, _)| *valences)
}

/// Valence-shell electron count of an element that may be aromatic.
pub(super) fn valence_electrons(element: &str) -> Option<i64> {
    AROMATIC_ELEMENTS
        .iter()
        .find(|(e, _, _)| *e == element)
        .map(|(_, _, electrons)| *electrons)
}

/// Whether a lower-case SMILES symbol is an aromatic element (`c`, `n`, `se`, ...).
pub(super) fn is_aromatic_symbol(symbol: &str) -> bool {
    AROMATIC_ELEMENTS
        .iter()
        .any(|(e, _, _)| e.to_ascii_lowercase() == symbol)
}
