//! The "default" semantic constraints: how many bonds each atom may form.

use std::collections::BTreeSet;

use super::constants::INDEX_ALPHABET;

/// Bonding capacity per element, optionally suffixed with a charge such as `+1`.
const DEFAULT_CONSTRAINTS: [(&str, i64); 23] = [
    ("H", 1),
    ("F", 1),
    ("Cl", 1),
    ("Br", 1),
    ("I", 1),
    ("B", 3),
    ("B+1", 2),
    ("B-1", 4),
    ("O", 2),
    ("O+1", 3),
    ("O-1", 1),
    ("N", 3),
    ("N+1", 4),
    ("N-1", 2),
    ("C", 4),
    ("C+1", 3),
    ("C-1", 3),
    ("P", 5),
    ("P+1", 4),
    ("P-1", 6),
    ("S", 6),
    ("S+1", 5),
    ("S-1", 5),
];

/// Capacity of every atom not listed above (the `?` entry of selfies).
const FALLBACK_CAPACITY: i64 = 8;

/// Bonding capacity of a (heavy-atom) element with the given formal charge, before
/// subtracting explicit hydrogens.
pub(super) fn bonding_capacity(element: &str, charge: i64) -> i64 {
    let lookup = |key: &str| {
        DEFAULT_CONSTRAINTS
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(FALLBACK_CAPACITY, |(_, cap)| *cap)
    };
    if charge == 0 {
        lookup(element)
    } else {
        lookup(&format!("{element}{charge:+}"))
    }
}

/// The symbols whose meaning is fully constrained under the default constraints
/// (atoms with every bond order they can carry, branches, rings and index digits),
/// sorted lexicographically.
pub fn semantic_robust_alphabet() -> Vec<String> {
    let mut alphabet = BTreeSet::new();
    for (atom, capacity) in DEFAULT_CONSTRAINTS {
        for (bond, order) in [("", 1), ("=", 2), ("#", 3)] {
            if order <= capacity {
                alphabet.insert(format!("[{bond}{atom}]"));
            }
        }
    }
    for length in 1..=3 {
        for prefix in ["", "="] {
            alphabet.insert(format!("[{prefix}Ring{length}]"));
        }
        for prefix in ["", "=", "#"] {
            alphabet.insert(format!("[{prefix}Branch{length}]"));
        }
    }
    alphabet.extend(INDEX_ALPHABET.iter().map(|s| s.to_string()));
    alphabet.into_iter().collect()
}
