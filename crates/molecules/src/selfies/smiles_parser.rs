//! SMILES tokenizer and parser producing a [`MolGraph`] that preserves atom order,
//! with the same acceptance rules as selfies' own parser.

use super::constants::{element, is_aromatic_symbol, is_organic};
use super::error::SelfiesError;
use super::mol_graph::{
    AROMATIC, Atom, Chirality, DOUBLE, HalfOrder, MolGraph, SINGLE, Stereo, TRIPLE,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    Atom,
    Branch,
    Ring,
    Dot,
}

/// A symbol together with the bond character written before it, as char offsets.
#[derive(Debug, Clone, Copy)]
struct Token {
    bond: Option<char>,
    start: usize,
    end: usize,
    kind: TokenKind,
}

/// Order and stereo marker of a SMILES bond character (`None` means an implicit bond).
pub(super) fn bond_from_char(bond: Option<char>) -> (HalfOrder, Option<Stereo>) {
    let order = match bond {
        Some(':') => AROMATIC,
        Some('=') => DOUBLE,
        Some('#') => TRIPLE,
        _ => SINGLE,
    };
    (order, bond.and_then(Stereo::from_char))
}

fn is_bond_char(c: char) -> bool {
    matches!(c, '-' | '/' | '\\' | ':' | '=' | '#')
}

/// Parses `smiles` into a molecular graph.
pub(super) fn parse_smiles(smiles: &str) -> Result<MolGraph, SelfiesError> {
    let parser = Parser {
        smiles,
        chars: smiles.chars().collect(),
    };
    if parser.chars.is_empty() {
        return Err(parser.error(0, "empty SMILES"));
    }
    let tokens = parser.tokenize()?;
    let mut mol = MolGraph::default();
    let mut next = 0;
    while next < tokens.len() {
        next = parser.parse_fragment(&mut mol, &tokens, next)?;
    }
    Ok(mol)
}

struct Parser<'a> {
    smiles: &'a str,
    chars: Vec<char>,
}

impl Parser<'_> {
    fn error(&self, position: usize, reason: impl Into<String>) -> SelfiesError {
        SelfiesError::InvalidSmiles {
            smiles: self.smiles.to_string(),
            position,
            reason: reason.into(),
        }
    }

    fn text(&self, start: usize, end: usize) -> String {
        self.chars[start..end].iter().collect()
    }

    fn tokenize(&self) -> Result<Vec<Token>, SelfiesError> {
        let chars = &self.chars;
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '.' {
                tokens.push(Token {
                    bond: None,
                    start: i,
                    end: i + 1,
                    kind: TokenKind::Dot,
                });
                i += 1;
                continue;
            }
            let bond = if is_bond_char(chars[i]) {
                i += 1;
                Some(chars[i - 1])
            } else {
                None
            };
            let Some(&c) = chars.get(i) else {
                return Err(self.error(i - 1, "hanging bond"));
            };
            let (end, kind) = if c.is_alphabetic() {
                let two = chars
                    .get(i + 1)
                    .is_some_and(|&n| matches!((c, n), ('B', 'r') | ('C', 'l')));
                (if two { i + 2 } else { i + 1 }, TokenKind::Atom)
            } else if c == '[' {
                let close = chars[i + 1..].iter().position(|&x| x == ']');
                let Some(close) = close else {
                    return Err(self.error(i, "hanging bracket ["));
                };
                (i + 1 + close + 1, TokenKind::Atom)
            } else if c == '(' || c == ')' {
                if bond.is_some() {
                    return Err(self.error(i - 1, "hanging bond"));
                }
                (i + 1, TokenKind::Branch)
            } else if c.is_ascii_digit() {
                (i + 1, TokenKind::Ring)
            } else if c == '%' {
                let digits = chars
                    .get(i + 1..i + 3)
                    .filter(|d| d.iter().all(char::is_ascii_digit));
                if digits.is_none() {
                    let rnum = self.text(i + 1, (i + 3).min(chars.len()));
                    return Err(self.error(i, format!("invalid ring number '%{rnum}'")));
                }
                (i + 3, TokenKind::Ring)
            } else {
                return Err(self.error(i, format!("unrecognized symbol '{c}'")));
            };
            tokens.push(Token {
                bond,
                start: i,
                end,
                kind,
            });
            i = end;
        }
        Ok(tokens)
    }

    /// Parses tokens from `start` up to and including the next dot; returns the index
    /// of the first token after it.
    fn parse_fragment(
        &self,
        mol: &mut MolGraph,
        tokens: &[Token],
        start: usize,
    ) -> Result<usize, SelfiesError> {
        // previous atom of the current chain, one entry per open branch
        let mut prev_stack: Vec<Option<usize>> = vec![None];
        let mut open_branches: Vec<&Token> = Vec::new();
        // ring label -> (opening token, atom, adjacency slot), in opening order
        let mut open_rings: Vec<(String, Token, usize, usize)> = Vec::new();
        let mut chain_start = true;
        let mut last_token: Option<&Token> = None;
        let mut next = start;

        while let Some(tok) = tokens.get(next) {
            next += 1;
            last_token = Some(tok);
            let prev = prev_stack.last().copied().flatten();
            match tok.kind {
                TokenKind::Dot => break,
                TokenKind::Atom => {
                    let symbol = self.text(tok.start, tok.end);
                    let Some(atom) = parse_atom(&symbol) else {
                        return Err(
                            self.error(tok.start, format!("invalid atom symbol '{symbol}'"))
                        );
                    };
                    let idx = attach_atom(mol, tok.bond, atom, prev);
                    if let Some(top) = prev_stack.last_mut() {
                        *top = Some(idx);
                    }
                    chain_start = false;
                }
                _ if chain_start => {
                    return Err(self.error(tok.start, "SMILES chain begins with non-atom"));
                }
                TokenKind::Branch => {
                    if self.chars[tok.start] == '(' {
                        open_branches.push(tok);
                        prev_stack.push(prev);
                        chain_start = true;
                    } else {
                        if open_branches.pop().is_none() {
                            return Err(self.error(tok.start, "hanging ')' bracket"));
                        }
                        prev_stack.pop();
                    }
                }
                TokenKind::Ring => {
                    let Some(atom) = prev else {
                        return Err(self.error(tok.start, "ring number without an atom"));
                    };
                    let label = self.text(tok.start, tok.end);
                    if let Some(pos) = open_rings.iter().position(|(l, ..)| *l == label) {
                        let (_, ltoken, latom, lpos) = open_rings.remove(pos);
                        self.close_ring(mol, &ltoken, latom, lpos, tok, atom)?;
                    } else {
                        let lpos = mol.add_placeholder_bond(atom);
                        open_rings.push((label, *tok, atom, lpos));
                    }
                }
            }
        }

        if mol.len() == 0 {
            let position = last_token
                .map_or(self.chars.len(), |t| t.start)
                .saturating_sub(1);
            return Err(self.error(position, "empty SMILES fragment"));
        }
        if let Some(open) = open_branches.last() {
            return Err(self.error(open.start, "hanging '(' bracket"));
        }
        if let Some((label, tok, ..)) = open_rings.last() {
            return Err(self.error(tok.start, format!("hanging ring number '{label}'")));
        }
        Ok(next)
    }

    fn close_ring(
        &self,
        mol: &mut MolGraph,
        ltoken: &Token,
        latom: usize,
        lpos: usize,
        rtoken: &Token,
        ratom: usize,
    ) -> Result<(), SelfiesError> {
        if latom == ratom {
            return Err(SelfiesError::Unsupported {
                smiles: self.smiles.to_string(),
                reason: format!(
                    "ring bond from an atom to itself at character {}",
                    ltoken.start
                ),
            });
        }
        if mol.has_bond(latom, ratom) {
            return Err(self.error(
                ltoken.start,
                "ring bond specified between already-bonded atoms",
            ));
        }
        let compatible = match (ltoken.bond, rtoken.bond) {
            (Some(l), Some(r)) => {
                l == r || (Stereo::from_char(l).is_some() && Stereo::from_char(r).is_some())
            }
            _ => true,
        };
        if !compatible {
            return Err(self.error(ltoken.start, "mismatched ring bonds"));
        }
        let (mut lorder, lstereo) = bond_from_char(ltoken.bond);
        let (mut rorder, rstereo) = bond_from_char(rtoken.bond);
        let implicit = ltoken.bond.is_none() && rtoken.bond.is_none();
        if implicit && mol.atom(latom).aromatic && mol.atom(ratom).aromatic {
            lorder = AROMATIC;
            rorder = AROMATIC;
        }
        mol.add_ring_bond(
            latom,
            ratom,
            lorder.max(rorder),
            lstereo,
            rstereo,
            Some(lpos),
            None,
        );
        Ok(())
    }
}

/// Adds `atom` to the graph, bonded to the previous atom of the chain if there is one.
fn attach_atom(mol: &mut MolGraph, bond: Option<char>, atom: Atom, prev: Option<usize>) -> usize {
    let aromatic = atom.aromatic;
    let idx = mol.add_atom(atom, prev.is_none());
    if let Some(prev) = prev {
        let (mut order, stereo) = bond_from_char(bond);
        if bond.is_none() && aromatic && mol.atom(prev).aromatic {
            order = AROMATIC;
        }
        mol.add_bond(prev, idx, order, stereo);
    }
    idx
}

/// Reads a SMILES atom symbol: a bare organic/aromatic element or a bracket atom.
fn parse_atom(symbol: &str) -> Option<Atom> {
    if symbol.starts_with('[') && symbol.ends_with(']') && symbol.len() >= 2 {
        return parse_bracket_atom(&symbol[1..symbol.len() - 1]);
    }
    if is_organic(symbol) {
        return element(symbol).map(|e| Atom::bare(e, false));
    }
    if is_aromatic_symbol(symbol) {
        return element(&capitalize(symbol)).map(|e| Atom::bare(e, true));
    }
    None
}

/// Parses the inside of `[isotope? element chirality? H-count? charge? class?]`.
fn parse_bracket_atom(body: &str) -> Option<Atom> {
    let mut rest = body;
    let isotope_digits = take_digits(&mut rest);

    let mut chars = rest.char_indices();
    let (_, first) = chars.next().filter(|(_, c)| c.is_ascii_alphabetic())?;
    let len = match chars.next() {
        Some((i, c)) if c.is_ascii_lowercase() => i + c.len_utf8(),
        _ => first.len_utf8(),
    };
    let raw_element = &rest[..len];
    rest = &rest[len..];

    let chirality = if let Some(r) = rest.strip_prefix("@@") {
        rest = r;
        Some(Chirality::Clockwise)
    } else if let Some(r) = rest.strip_prefix('@') {
        rest = r;
        Some(Chirality::Anticlockwise)
    } else {
        None
    };

    let h_count = match rest.strip_prefix('H') {
        Some(r) => {
            rest = r;
            match r.chars().next().and_then(|c| c.to_digit(10)) {
                Some(d) => {
                    rest = &r[1..];
                    d
                }
                None => 1,
            }
        }
        None => 0,
    };

    let charge = parse_smiles_charge(&mut rest)?;

    if let Some(r) = rest.strip_prefix(':') {
        let mut r = r;
        if take_digits(&mut r).is_empty() {
            return None;
        }
        rest = r;
    }
    if !rest.is_empty() {
        return None;
    }

    let aromatic =
        raw_element.chars().all(|c| c.is_ascii_lowercase()) && is_aromatic_symbol(raw_element);
    let element = element(&capitalize(raw_element))?;
    Some(Atom {
        element,
        aromatic,
        isotope: normalize_number(isotope_digits),
        chirality,
        h_count: Some(h_count),
        charge,
    })
}

/// Charge as `+`, `++`, `---`, `+2` or `-13`; consumes nothing when absent.
fn parse_smiles_charge(rest: &mut &str) -> Option<i64> {
    let sign = match rest.chars().next() {
        Some('+') => 1,
        Some('-') => -1,
        _ => return Some(0),
    };
    let sign_char = &rest[..1];
    let after = &rest[1..];
    if after.starts_with(|c: char| c.is_ascii_digit()) {
        let mut r = after;
        let digits = take_digits(&mut r);
        *rest = r;
        // charges beyond i32 are rejected rather than wrapped
        let value: i32 = digits.parse().ok()?;
        return Some(sign * i64::from(value));
    }
    let run = rest.len() - rest.trim_start_matches(sign_char).len();
    *rest = &rest[run..];
    Some(sign * run as i64)
}

/// Splits leading ASCII digits off `rest`.
pub(super) fn take_digits<'a>(rest: &mut &'a str) -> &'a str {
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (digits, tail) = rest.split_at(end);
    *rest = tail;
    digits
}

/// Canonical decimal form of a digit string (`"013"` -> `"13"`), `None` if empty.
pub(super) fn normalize_number(digits: &str) -> Option<String> {
    if digits.is_empty() {
        return None;
    }
    let trimmed = digits.trim_start_matches('0');
    Some(if trimmed.is_empty() { "0" } else { trimmed }.to_string())
}

fn capitalize(symbol: &str) -> String {
    let mut chars = symbol.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}
