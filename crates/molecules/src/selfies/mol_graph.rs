//! The directed molecular graph both translators build: atoms keep their input order
//! and every atom keeps its outgoing bonds in the order they must be written.

use std::collections::HashMap;

use super::bond_constraints;

/// Bond orders are counted in half-bonds so that aromatic (1.5) bonds stay exact.
pub(super) type HalfOrder = u32;
pub(super) const SINGLE: HalfOrder = 2;
pub(super) const AROMATIC: HalfOrder = 3;
pub(super) const DOUBLE: HalfOrder = 4;
pub(super) const TRIPLE: HalfOrder = 6;

/// Tetrahedral chirality as written in SMILES (`@` or `@@`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Chirality {
    Anticlockwise,
    Clockwise,
}

impl Chirality {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Anticlockwise => "@",
            Self::Clockwise => "@@",
        }
    }

    pub(super) fn inverted(self) -> Self {
        match self {
            Self::Anticlockwise => Self::Clockwise,
            Self::Clockwise => Self::Anticlockwise,
        }
    }
}

/// Directional (cis/trans) marker of a single bond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stereo {
    Up,
    Down,
}

impl Stereo {
    pub(super) fn from_char(c: char) -> Option<Self> {
        match c {
            '/' => Some(Self::Up),
            '\\' => Some(Self::Down),
            _ => None,
        }
    }

    pub(super) fn as_char(self) -> char {
        match self {
            Self::Up => '/',
            Self::Down => '\\',
        }
    }
}

/// An atom. `h_count` is `None` for bracket-free atoms, whose hydrogens are implicit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Atom {
    pub(super) element: &'static str,
    pub(super) aromatic: bool,
    /// Mass number in canonical decimal form (no leading zeros), kept as text so that
    /// arbitrarily long inputs round-trip like Python's big integers.
    pub(super) isotope: Option<String>,
    pub(super) chirality: Option<Chirality>,
    pub(super) h_count: Option<u32>,
    pub(super) charge: i64,
}

impl Atom {
    /// A bracket-free atom such as `C` or aromatic `c`.
    pub(super) fn bare(element: &'static str, aromatic: bool) -> Self {
        Self {
            element,
            aromatic,
            isotope: None,
            chirality: None,
            h_count: None,
            charge: 0,
        }
    }

    /// Bonds this atom may still form once its explicit hydrogens are accounted for.
    pub(super) fn bonding_capacity(&self) -> i64 {
        bond_constraints::bonding_capacity(self.element, self.charge)
            - i64::from(self.h_count.unwrap_or(0))
    }
}

/// One direction of a bond. Ring bonds are stored in both directions, chain bonds
/// only from the earlier atom to the later one.
#[derive(Debug, Clone)]
pub(super) struct Bond {
    pub(super) src: usize,
    pub(super) dst: usize,
    pub(super) order: HalfOrder,
    pub(super) stereo: Option<Stereo>,
    pub(super) ring: bool,
}

/// Molecular graph with ordered adjacency lists.
#[derive(Debug, Default)]
pub(super) struct MolGraph {
    atoms: Vec<Atom>,
    roots: Vec<usize>,
    bonds: Vec<Bond>,
    bond_ids: HashMap<(usize, usize), usize>,
    /// Outgoing bond ids per atom; `None` reserves the slot of a ring bond still open.
    adjacency: Vec<Vec<Option<usize>>>,
    /// Sum of bond orders per atom, in half-bonds.
    bond_counts: Vec<u32>,
    has_ring_bond: Vec<bool>,
    /// Aromatic (delocalized) neighbours per atom; `None` for atoms outside that subgraph.
    delocal: Vec<Option<Vec<usize>>>,
}

impl MolGraph {
    pub(super) fn len(&self) -> usize {
        self.atoms.len()
    }

    pub(super) fn atom(&self, idx: usize) -> &Atom {
        &self.atoms[idx]
    }

    pub(super) fn atom_mut(&mut self, idx: usize) -> &mut Atom {
        &mut self.atoms[idx]
    }

    /// First atoms of each fragment, in input order.
    pub(super) fn roots(&self) -> &[usize] {
        &self.roots
    }

    pub(super) fn has_bond(&self, a: usize, b: usize) -> bool {
        self.bond_ids.contains_key(&(a.min(b), a.max(b)))
    }

    pub(super) fn has_ring_bond(&self, idx: usize) -> bool {
        self.has_ring_bond[idx]
    }

    pub(super) fn dirbond(&self, src: usize, dst: usize) -> Option<&Bond> {
        self.bond_ids.get(&(src, dst)).map(|&id| &self.bonds[id])
    }

    /// Outgoing bonds of `src` in writing order.
    pub(super) fn out_bonds(&self, src: usize) -> Vec<&Bond> {
        self.adjacency[src]
            .iter()
            .flatten()
            .map(|&id| &self.bonds[id])
            .collect()
    }

    /// Sum of bond orders of `idx` in half-bonds.
    pub(super) fn bond_count_halves(&self, idx: usize) -> u32 {
        self.bond_counts[idx]
    }

    /// Sum of bond orders of `idx`, in whole bonds (exact once the graph is kekulized).
    pub(super) fn bond_count(&self, idx: usize) -> i64 {
        i64::from(self.bond_counts[idx] / 2)
    }

    pub(super) fn add_atom(&mut self, atom: Atom, root: bool) -> usize {
        let idx = self.atoms.len();
        if root {
            self.roots.push(idx);
        }
        self.delocal.push(atom.aromatic.then(Vec::new));
        self.atoms.push(atom);
        self.adjacency.push(Vec::new());
        self.bond_counts.push(0);
        self.has_ring_bond.push(false);
        idx
    }

    /// Adds a chain bond from an earlier atom to a later one.
    pub(super) fn add_bond(
        &mut self,
        src: usize,
        dst: usize,
        order: HalfOrder,
        stereo: Option<Stereo>,
    ) {
        let bond = Bond {
            src,
            dst,
            order,
            stereo,
            ring: false,
        };
        self.insert_bond(bond, None);
        self.bond_counts[src] += order;
        self.bond_counts[dst] += order;
        if order == AROMATIC {
            self.link_delocal(src, dst);
        }
    }

    /// Reserves the position of a ring bond opened at `src`; returns that position.
    pub(super) fn add_placeholder_bond(&mut self, src: usize) -> usize {
        self.adjacency[src].push(None);
        self.adjacency[src].len() - 1
    }

    /// Adds a ring bond in both directions. A position of `None` appends; otherwise the
    /// bond fills a placeholder there or is inserted before the bond occupying it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn add_ring_bond(
        &mut self,
        a: usize,
        b: usize,
        order: HalfOrder,
        a_stereo: Option<Stereo>,
        b_stereo: Option<Stereo>,
        a_pos: Option<usize>,
        b_pos: Option<usize>,
    ) {
        let forward = Bond {
            src: a,
            dst: b,
            order,
            stereo: a_stereo,
            ring: true,
        };
        let backward = Bond {
            src: b,
            dst: a,
            order,
            stereo: b_stereo,
            ring: true,
        };
        self.insert_bond(forward, a_pos);
        self.insert_bond(backward, b_pos);
        self.bond_counts[a] += order;
        self.bond_counts[b] += order;
        self.has_ring_bond[a] = true;
        self.has_ring_bond[b] = true;
        if order == AROMATIC {
            self.link_delocal(a, b);
        }
    }

    /// Sets the order of the bond between `a` and `b` (both directions of a ring bond).
    pub(super) fn update_bond_order(&mut self, a: usize, b: usize, new_order: HalfOrder) {
        let (a, b) = (a.min(b), a.max(b));
        let Some(&id) = self.bond_ids.get(&(a, b)) else {
            return;
        };
        let old_order = self.bonds[id].order;
        if old_order == new_order {
            return;
        }
        self.bonds[id].order = new_order;
        let reverse = self.bonds[id]
            .ring
            .then(|| self.bond_ids.get(&(b, a)).copied())
            .flatten();
        if let Some(back) = reverse {
            self.bonds[back].order = new_order;
        }
        for idx in [a, b] {
            self.bond_counts[idx] = self.bond_counts[idx] + new_order - old_order;
        }
    }

    /// Atoms of the delocalized subgraph with their aromatic neighbours, by atom index.
    pub(super) fn delocal_subgraph(&self) -> Vec<(usize, Vec<usize>)> {
        self.delocal
            .iter()
            .enumerate()
            .filter_map(|(idx, adj)| adj.clone().map(|adj| (idx, adj)))
            .collect()
    }

    pub(super) fn clear_delocal_subgraph(&mut self) {
        self.delocal.iter_mut().for_each(|adj| *adj = None);
    }

    fn link_delocal(&mut self, a: usize, b: usize) {
        self.delocal[a].get_or_insert_with(Vec::new).push(b);
        self.delocal[b].get_or_insert_with(Vec::new).push(a);
    }

    fn insert_bond(&mut self, bond: Bond, pos: Option<usize>) {
        let id = self.bonds.len();
        let src = bond.src;
        self.bond_ids.insert((bond.src, bond.dst), id);
        self.bonds.push(bond);
        let out = &mut self.adjacency[src];
        match pos {
            Some(p) if p < out.len() => {
                if out[p].is_none() {
                    out[p] = Some(id);
                } else {
                    out.insert(p, Some(id));
                }
            }
            _ => out.push(Some(id)),
        }
    }
}
