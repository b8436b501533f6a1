//! Writes atoms, bonds and whole (kekulized) graphs as SMILES, following the graph's
//! atom and adjacency order exactly.

use std::collections::HashMap;

use super::constants::is_organic;
use super::mol_graph::{Atom, Bond, DOUBLE, MolGraph, SINGLE, TRIPLE};

/// SMILES text of a non-aromatic atom; `brackets` controls the surrounding `[]`, which
/// selfies drops when the atom becomes part of a SELFIES symbol.
pub(super) fn atom_to_smiles(atom: &Atom, brackets: bool) -> String {
    let is_bare = atom.isotope.is_none()
        && atom.chirality.is_none()
        && atom.h_count.is_none()
        && atom.charge == 0;
    if is_bare {
        return atom.element.to_string();
    }
    let mut out = String::new();
    if brackets {
        out.push('[');
    }
    if let Some(isotope) = &atom.isotope {
        out.push_str(isotope);
    }
    out.push_str(atom.element);
    if let Some(chirality) = atom.chirality {
        out.push_str(chirality.as_str());
    }
    match atom.h_count {
        Some(h) if h != 0 => out.push_str(&format!("H{h}")),
        // "[C]" must not read back as methane
        Some(_)
            if atom.isotope.is_none()
                && atom.chirality.is_none()
                && atom.charge == 0
                && is_organic(atom.element) =>
        {
            out.push_str("H0")
        }
        _ => {}
    }
    if atom.charge != 0 {
        out.push_str(&format!("{:+}", atom.charge));
    }
    if brackets {
        out.push(']');
    }
    out
}

/// SMILES bond character of a kekulized bond (empty for plain single bonds).
pub(super) fn bond_to_smiles(bond: &Bond) -> String {
    match bond.order {
        SINGLE => bond
            .stereo
            .map(|s| s.as_char().to_string())
            .unwrap_or_default(),
        DOUBLE => "=".to_string(),
        TRIPLE => "#".to_string(),
        // only kekulized graphs are written; keep the output parseable regardless
        _ => ":".to_string(),
    }
}

/// SMILES of the whole graph: one fragment per root, ring-closure numbers assigned in
/// order of first use and never reused.
pub(super) fn mol_to_smiles(mol: &MolGraph) -> String {
    let mut ring_numbers: HashMap<(usize, usize), usize> = HashMap::new();
    let fragments: Vec<String> = mol
        .roots()
        .iter()
        .map(|&root| fragment_to_smiles(mol, root, &mut ring_numbers))
        .collect();
    fragments.join(".")
}

fn fragment_to_smiles(
    mol: &MolGraph,
    root: usize,
    ring_numbers: &mut HashMap<(usize, usize), usize>,
) -> String {
    struct Visit {
        atom: usize,
        next_bond: usize,
        closes_branch: bool,
    }

    let mut out = String::new();
    let mut stack = vec![Visit {
        atom: root,
        next_bond: 0,
        closes_branch: false,
    }];
    while let Some(top) = stack.last_mut() {
        let out_bonds = mol.out_bonds(top.atom);
        if top.next_bond == 0 {
            out.push_str(&atom_to_smiles(mol.atom(top.atom), true));
        }
        let Some(bond) = out_bonds.get(top.next_bond) else {
            let closes_branch = top.closes_branch;
            stack.pop();
            if closes_branch {
                out.push(')');
            }
            continue;
        };
        top.next_bond += 1;
        if bond.ring {
            out.push_str(&bond_to_smiles(bond));
            let ends = (bond.src.min(bond.dst), bond.src.max(bond.dst));
            let next_number = ring_numbers.len() + 1;
            let number = *ring_numbers.entry(ends).or_insert(next_number);
            if number >= 10 {
                out.push('%');
            }
            out.push_str(&number.to_string());
        } else {
            let opens_branch = top.next_bond < out_bonds.len();
            if opens_branch {
                out.push('(');
            }
            out.push_str(&bond_to_smiles(bond));
            stack.push(Visit {
                atom: bond.dst,
                next_bond: 0,
                closes_branch: opens_branch,
            });
        }
    }
    out
}
