//! Kekulization: turns aromatic (1.5) bonds into alternating single and double bonds.

use super::constants::{aromatic_valences, valence_electrons};
use super::matching::find_perfect_matching;
use super::mol_graph::{DOUBLE, MolGraph, SINGLE};

/// Why an aromatic system could not be kekulized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum KekulizeError {
    /// No assignment of double bonds saturates every atom that needs one.
    NoMatching,
    /// An element that cannot be aromatic sits on an aromatic (`:`) bond.
    NonAromaticElement(&'static str),
}

/// Replaces every aromatic bond by a single or double bond.
pub(super) fn kekulize(mol: &mut MolGraph) -> Result<(), KekulizeError> {
    let subgraph = mol.delocal_subgraph();
    if subgraph.is_empty() {
        return Ok(());
    }

    let mut kept = Vec::new();
    for (node, adj) in &subgraph {
        if !is_pruned(mol, *node, adj)? {
            kept.push(*node);
        }
    }
    // `kept` is ascending, so a node's label is its rank in it
    let label = |node: usize| kept.binary_search(&node).ok();
    let pruned_graph: Vec<Vec<usize>> = subgraph
        .iter()
        .filter(|(node, _)| label(*node).is_some())
        .map(|(_, adj)| adj.iter().filter_map(|&n| label(n)).collect())
        .collect();

    let matching = find_perfect_matching(&pruned_graph).ok_or(KekulizeError::NoMatching)?;

    for (node, adj) in &subgraph {
        for &other in adj {
            mol.update_bond_order(*node, other, SINGLE);
        }
        mol.atom_mut(*node).aromatic = false;
    }
    for (a, &b) in matching.iter().enumerate() {
        mol.update_bond_order(kept[a], kept[b], DOUBLE);
    }
    mol.clear_delocal_subgraph();
    Ok(())
}

/// Whether an atom of the delocalized subgraph needs no double bond (so it is left out
/// of the matching).
fn is_pruned(mol: &MolGraph, node: usize, adj: &[usize]) -> Result<bool, KekulizeError> {
    if adj.is_empty() {
        return Ok(true);
    }
    let atom = mol.atom(node);
    let (Some(valences), Some(shell)) = (
        aromatic_valences(atom.element),
        valence_electrons(atom.element),
    ) else {
        return Err(KekulizeError::NonAromaticElement(atom.element));
    };

    // aromatic bonds count as single bonds here
    let halves = i64::from(mol.bond_count_halves(node));
    let used = (halves - adj.len() as i64) / 2;

    let Some(h_count) = atom.h_count else {
        return Ok(valences.contains(&used));
    };
    let h_count = i64::from(h_count);
    let charge = atom.charge;
    let max_valence = valences.last().copied().unwrap_or(0);
    let valence = max_valence - charge;
    let used = used + h_count;
    let bound = charge.max(0) + h_count + halves / 2 + halves % 2;
    let radical = (shell - bound).max(0) % 2;
    let free = valence - used - radical;

    if valences.iter().any(|&v| used == v - charge) {
        Ok(true)
    } else {
        Ok(!(free >= 0 && free % 2 != 0))
    }
}
