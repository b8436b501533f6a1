//! SELFIES -> SMILES. Every sequence of valid symbols derives a molecule that obeys the
//! default bonding constraints: symbols that cannot be honoured are skipped or weakened.

use super::error::SelfiesError;
use super::grammar::{
    atom_symbol, branch_symbol, index_from_symbols, next_atom_state, next_branch_state,
    next_ring_state, ring_symbol,
};
use super::mol_graph::{MolGraph, Stereo};
use super::smiles_writer::mol_to_smiles;
use super::split::split_with_positions;

/// A ring bond requested by a ring symbol; rings are formed after all atoms exist.
struct PendingRing {
    left: usize,
    right: usize,
    order: u32,
    stereo: (Option<Stereo>, Option<Stereo>),
}

/// Translates a SELFIES string into SMILES.
///
/// Fails only on a `[` without `]` or on an unknown symbol that the derivation actually
/// reaches; symbols after the end of a saturated chain are ignored unread, as in
/// selfies. `[nop]` symbols are skipped and an empty input gives an empty SMILES.
pub fn decoder(selfies: &str) -> Result<String, SelfiesError> {
    let mut mol = MolGraph::default();
    let mut rings = Vec::new();
    let mut symbol_index = 0;
    let mut char_offset = 0;
    for part in selfies.split('.') {
        let symbols = split_with_positions(part).map_err(|err| match err {
            SelfiesError::HangingBracket { position, .. } => SelfiesError::HangingBracket {
                selfies: selfies.to_string(),
                position: position + char_offset,
            },
            other => other,
        })?;
        let part_len = symbols.len();
        let symbols: Vec<(usize, &str)> = symbols
            .iter()
            .enumerate()
            .filter(|(_, (_, s))| s != "[nop]")
            .map(|(i, (_, s))| (symbol_index + i, s.as_str()))
            .collect();
        let mut derivation = Derivation {
            selfies,
            symbols: &symbols,
            next: 0,
            mol: &mut mol,
            rings: &mut rings,
        };
        derivation.run()?;
        symbol_index += part_len + 1;
        char_offset += part.chars().count() + 1;
    }
    form_rings(&mut mol, &rings);
    Ok(mol_to_smiles(&mol))
}

/// One (possibly nested) branch being derived. `budget` is the number of symbols it
/// may consume; `state` the bonds its current atom can still form.
struct Frame {
    consumed: usize,
    budget: usize,
    state: u32,
    prev: Option<usize>,
    /// State to continue with once the nested branch returns.
    state_after_branch: u32,
}

impl Frame {
    fn new(budget: usize, state: u32, prev: Option<usize>) -> Self {
        Self {
            consumed: 0,
            budget,
            state,
            prev,
            state_after_branch: 0,
        }
    }
}

/// Derivation of one dot-separated part; nested branches use an explicit stack so
/// deeply nested input cannot overflow the call stack.
struct Derivation<'a> {
    selfies: &'a str,
    symbols: &'a [(usize, &'a str)],
    next: usize,
    mol: &'a mut MolGraph,
    rings: &'a mut Vec<PendingRing>,
}

/// What ends a step of the current frame.
enum Step {
    Continue,
    EnterBranch(Frame),
    EndChain,
}

impl Derivation<'_> {
    fn run(&mut self) -> Result<(), SelfiesError> {
        let mut stack = vec![Frame::new(usize::MAX, 0, None)];
        while let Some(frame) = stack.last_mut() {
            let step = if frame.consumed < frame.budget && self.next < self.symbols.len() {
                let (index, symbol) = self.symbols[self.next];
                self.next += 1;
                frame.consumed += 1;
                self.step(frame, index, symbol)?
            } else {
                Step::EndChain
            };
            match step {
                Step::Continue => {}
                Step::EnterBranch(child) => stack.push(child),
                Step::EndChain => {
                    // the rest of this branch's budget is skipped without being read
                    let skipped = frame
                        .budget
                        .saturating_sub(frame.consumed)
                        .min(self.symbols.len() - self.next);
                    self.next += skipped;
                    frame.consumed += skipped;
                    let consumed = frame.consumed;
                    stack.pop();
                    if let Some(parent) = stack.last_mut() {
                        parent.consumed += consumed;
                        parent.state = parent.state_after_branch;
                    }
                }
            }
        }
        Ok(())
    }

    fn invalid(&self, symbol: &str, index: usize) -> SelfiesError {
        SelfiesError::InvalidSymbol {
            selfies: self.selfies.to_string(),
            symbol: symbol.to_string(),
            index,
        }
    }

    /// Reads `count` index symbols (missing ones count as zero) and returns their value.
    fn read_index(&mut self, count: usize) -> usize {
        let start = self.next.min(self.symbols.len());
        let end = (self.next + count).min(self.symbols.len());
        self.next = end;
        let present = self.symbols[start..end].iter().map(|&(_, s)| Some(s));
        index_from_symbols(present.chain(std::iter::repeat_n(None, count - (end - start))))
    }

    fn step(
        &mut self,
        frame: &mut Frame,
        index: usize,
        symbol: &str,
    ) -> Result<Step, SelfiesError> {
        let chars: Vec<char> = symbol.chars().collect();
        let tail: String = chars[chars.len().saturating_sub(4)..chars.len().saturating_sub(2)]
            .iter()
            .collect();

        if tail == "ch" {
            let (order, count) =
                branch_symbol(symbol).ok_or_else(|| self.invalid(symbol, index))?;
            if frame.state <= 1 {
                return Ok(Step::Continue);
            }
            let (init, after) = next_branch_state(order, frame.state);
            let length = self.read_index(count);
            frame.consumed += count;
            frame.state_after_branch = after;
            return Ok(Step::EnterBranch(Frame::new(length + 1, init, frame.prev)));
        }

        if tail == "ng" {
            return self.ring(frame, index, symbol);
        }

        if symbol.contains("eps") {
            return Ok(if frame.state == 0 {
                Step::Continue
            } else {
                Step::EndChain
            });
        }

        self.atom(frame, index, symbol)
    }

    /// A ring symbol: reads its length index and records a ring bond back from the previous
    /// atom, to be formed once the chain is complete.
    fn ring(
        &mut self,
        frame: &mut Frame,
        index: usize,
        symbol: &str,
    ) -> Result<Step, SelfiesError> {
        let (order, count, stereo) =
            ring_symbol(symbol).ok_or_else(|| self.invalid(symbol, index))?;
        if frame.state == 0 {
            return Ok(Step::Continue);
        }
        let (order, next_state) = next_ring_state(order, frame.state);
        let length = self.read_index(count);
        frame.consumed += count;
        if let Some(right) = frame.prev {
            self.rings.push(PendingRing {
                left: right.saturating_sub(length + 1),
                right,
                order,
                stereo,
            });
        }
        Ok(advance(frame, next_state))
    }

    /// An atom symbol: adds the atom, bonded to the previous one with the order the derivation
    /// state allows.
    fn atom(
        &mut self,
        frame: &mut Frame,
        index: usize,
        symbol: &str,
    ) -> Result<Step, SelfiesError> {
        let parsed = atom_symbol(symbol).ok_or_else(|| self.invalid(symbol, index))?;
        // a negative capacity was rejected by `atom_symbol`
        let capacity = u32::try_from(parsed.atom.bonding_capacity()).unwrap_or(0);
        let (order, next_state) = next_atom_state(parsed.order, capacity, frame.state);
        if order == 0 {
            frame.prev = if frame.state == 0 {
                Some(self.mol.add_atom(parsed.atom, true))
            } else {
                // a saturated atom (e.g. [CH4]) cannot attach; the chain ends here
                None
            };
        } else {
            let idx = self.mol.add_atom(parsed.atom, false);
            if let Some(prev) = frame.prev {
                self.mol.add_bond(prev, idx, order * 2, parsed.stereo);
            }
            frame.prev = Some(idx);
        }
        Ok(advance(frame, next_state))
    }
}

/// The chain continues in `next_state`, or ends when there is none.
fn advance(frame: &mut Frame, next_state: Option<u32>) -> Step {
    match next_state {
        Some(state) => {
            frame.state = state;
            Step::Continue
        }
        None => Step::EndChain,
    }
}

/// Adds the requested ring bonds where both atoms still have free capacity, raising the
/// order of an existing bond instead of duplicating it.
fn form_rings(mol: &mut MolGraph, rings: &[PendingRing]) {
    let mut rings_made = vec![0usize; mol.len()];
    for ring in rings {
        let (left, right) = (ring.left, ring.right);
        if left == right {
            continue;
        }
        let free = |idx: usize| mol.atom(idx).bonding_capacity() - mol.bond_count(idx);
        let (left_free, right_free) = (free(left), free(right));
        if left_free <= 0 || right_free <= 0 {
            continue;
        }
        let order = i64::from(ring.order).min(left_free).min(right_free) as u32;
        if mol.has_bond(left, right) {
            let existing = mol.dirbond(left, right).map_or(0, |b| b.order / 2);
            let new_order = (order + existing).min(3);
            mol.update_bond_order(left, right, new_order * 2);
        } else {
            mol.add_ring_bond(
                left,
                right,
                order * 2,
                ring.stereo.0,
                ring.stereo.1,
                Some(rings_made[left]),
                Some(rings_made[right]),
            );
            rings_made[left] += 1;
            rings_made[right] += 1;
        }
    }
}
