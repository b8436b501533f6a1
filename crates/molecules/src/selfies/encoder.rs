//! SMILES -> SELFIES, preserving the atom order of the input.

use super::error::SelfiesError;
use super::grammar::symbols_from_index;
use super::kekulize::{KekulizeError, kekulize};
use super::mol_graph::{Bond, MolGraph, SINGLE};
use super::smiles_parser::parse_smiles;
use super::smiles_writer::{atom_to_smiles, bond_to_smiles};

/// Translates a SMILES string into SELFIES.
///
/// Aromatic input is kekulized first. Fails on malformed SMILES, on aromatic systems
/// without a Kekulé structure and on atoms exceeding the default bonding capacities.
pub fn encoder(smiles: &str) -> Result<String, SelfiesError> {
    let mut mol = parse_smiles(smiles)?;
    kekulize(&mut mol).map_err(|err| match err {
        KekulizeError::NoMatching => SelfiesError::Kekulization {
            smiles: smiles.to_string(),
        },
        KekulizeError::NonAromaticElement(element) => SelfiesError::Unsupported {
            smiles: smiles.to_string(),
            reason: format!("aromatic bond on {element}, which cannot be aromatic"),
        },
    })?;
    check_bond_constraints(&mol, smiles)?;

    // Ring bonds move to the front of an atom's neighbour order in SELFIES, so flip
    // chirality where that reordering is an odd permutation.
    for idx in 0..mol.len() {
        if mol.atom(idx).chirality.is_some()
            && mol.has_ring_bond(idx)
            && neighbour_order_is_odd(&mol, idx)
        {
            let atom = mol.atom_mut(idx);
            atom.chirality = atom.chirality.map(|c| c.inverted());
        }
    }

    let fragments: Vec<String> = mol
        .roots()
        .iter()
        .map(|&root| fragment_to_selfies(&mol, root).concat())
        .collect();
    Ok(fragments.join("."))
}

fn check_bond_constraints(mol: &MolGraph, smiles: &str) -> Result<(), SelfiesError> {
    for idx in 0..mol.len() {
        let atom = mol.atom(idx);
        let (bonds, capacity) = (mol.bond_count(idx), atom.bonding_capacity());
        if bonds > capacity {
            return Err(SelfiesError::BondConstraint {
                smiles: smiles.to_string(),
                atom: atom_to_smiles(atom, true),
                bonds,
                capacity,
            });
        }
    }
    Ok(())
}

/// Whether listing the neighbours as SELFIES does (ring closures first, then ring
/// openings by partner index, then chain bonds) is an odd permutation of the SMILES order.
fn neighbour_order_is_odd(mol: &MolGraph, idx: usize) -> bool {
    let out = mol.out_bonds(idx);
    let mut closing = Vec::new();
    let mut opening = Vec::new();
    let mut chain = Vec::new();
    for (i, bond) in out.iter().enumerate() {
        if !bond.ring {
            chain.push(i);
        } else if bond.src < bond.dst {
            opening.push(i);
        } else {
            closing.push(i);
        }
    }
    opening.sort_by_key(|&i| out[i].dst);
    let perm: Vec<usize> = closing.into_iter().chain(opening).chain(chain).collect();
    let inversions = perm
        .iter()
        .enumerate()
        .map(|(i, &a)| perm[i + 1..].iter().filter(|&&b| a > b).count())
        .sum::<usize>();
    inversions % 2 == 1
}

/// One chain being written: the symbols so far, the current atom and the next of its
/// outgoing bonds to visit.
struct Chain<'a> {
    symbols: Vec<String>,
    atom: usize,
    bond_in: Option<&'a Bond>,
    next_bond: usize,
    atom_written: bool,
    /// Bond from the parent chain into this branch (`None` for a fragment root).
    branch_bond: Option<&'a Bond>,
}

impl<'a> Chain<'a> {
    fn new(atom: usize, bond_in: Option<&'a Bond>) -> Self {
        Self {
            symbols: Vec::new(),
            atom,
            bond_in,
            next_bond: 0,
            atom_written: false,
            branch_bond: bond_in,
        }
    }
}

/// SELFIES symbols of the fragment rooted at `root`. Branches are written after their
/// content is known (the branch symbol encodes its length), using an explicit stack.
fn fragment_to_selfies(mol: &MolGraph, root: usize) -> Vec<String> {
    let mut stack = vec![Chain::new(root, None)];
    loop {
        let Some(chain) = stack.last_mut() else {
            return Vec::new();
        };
        if !chain.atom_written {
            chain
                .symbols
                .push(atom_symbol(chain.bond_in, mol, chain.atom));
            chain.atom_written = true;
            chain.next_bond = 0;
        }
        let out = mol.out_bonds(chain.atom);
        let mut branch = None;
        while let Some(&bond) = out.get(chain.next_bond) {
            let i = chain.next_bond;
            chain.next_bond += 1;
            if bond.ring {
                if bond.src > bond.dst {
                    push_ring_symbols(&mut chain.symbols, mol, bond);
                }
            } else if i + 1 == out.len() {
                chain.bond_in = Some(bond);
                chain.atom = bond.dst;
                chain.atom_written = false;
                break;
            } else {
                branch = Some(Chain::new(bond.dst, Some(bond)));
                break;
            }
        }
        if let Some(branch) = branch {
            stack.push(branch);
            continue;
        }
        if !chain.atom_written {
            continue;
        }
        // end of this chain: hand it to the parent as a branch, or finish
        let Some(done) = stack.pop() else {
            return Vec::new();
        };
        let Some(parent) = stack.last_mut() else {
            return done.symbols;
        };
        let order = done.branch_bond.map_or(SINGLE, |b| b.order);
        let length = symbols_from_index(done.symbols.len() - 1);
        parent
            .symbols
            .push(format!("[{}Branch{}]", order_prefix(order), length.len()));
        parent.symbols.extend(length.iter().map(|s| s.to_string()));
        parent.symbols.extend(done.symbols);
    }
}

/// `[Ring..]` symbol plus index symbols for a ring bond closed at `bond.src`.
fn push_ring_symbols(symbols: &mut Vec<String>, mol: &MolGraph, bond: &Bond) {
    let prefix = match mol.dirbond(bond.dst, bond.src) {
        Some(opening)
            if opening.order == SINGLE && (opening.stereo.is_some() || bond.stereo.is_some()) =>
        {
            let mark = |b: &Bond| b.stereo.map_or('-', |s| s.as_char());
            format!("{}{}", mark(opening), mark(bond))
        }
        _ => order_prefix(bond.order).to_string(),
    };
    let length = symbols_from_index(bond.src - bond.dst - 1);
    symbols.push(format!("[{prefix}Ring{}]", length.len()));
    symbols.extend(length.iter().map(|s| s.to_string()));
}

/// Bond prefix of branch and ring symbols, which carry no stereo.
fn order_prefix(order: u32) -> &'static str {
    match order {
        4 => "=",
        6 => "#",
        _ => "",
    }
}

/// Atom symbol with the bond that leads into it, e.g. `[=N+1]` or `[/C]`.
fn atom_symbol(bond_in: Option<&Bond>, mol: &MolGraph, idx: usize) -> String {
    let bond = bond_in.map(bond_to_smiles).unwrap_or_default();
    format!("[{bond}{}]", atom_to_smiles(mol.atom(idx), false))
}
