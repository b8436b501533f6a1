//! SELFIES symbol semantics: how atom, branch and ring symbols are read, how the
//! derivation state (remaining bonding capacity) evolves, and how lengths are written
//! with index symbols.

use super::constants::{INDEX_ALPHABET, element, is_organic};
use super::mol_graph::{Atom, Chirality, HalfOrder, Stereo};
use super::smiles_parser::{bond_from_char, normalize_number, take_digits};

/// Bond order (in whole bonds), stereo marker and atom of an atom symbol such as
/// `[=N+1]` or `[/C@@H1]`.
pub(super) struct AtomSymbol {
    pub(super) order: u32,
    pub(super) stereo: Option<Stereo>,
    pub(super) atom: Atom,
}

/// Parses `[bond? isotope? Element chirality? (H digit)? ([+-][1-9]+)?]`; `None` if the
/// symbol is not an atom symbol or leaves the atom a negative bonding capacity.
pub(super) fn atom_symbol(symbol: &str) -> Option<AtomSymbol> {
    let body = symbol.strip_prefix('[')?.strip_suffix(']')?;
    let bond = body
        .chars()
        .next()
        .filter(|c| matches!(c, '=' | '#' | '/' | '\\'));
    let mut rest = &body[bond.map_or(0, char::len_utf8)..];
    let spec = rest;

    let isotope = take_digits(&mut rest);
    let first = rest.chars().next().filter(char::is_ascii_uppercase)?;
    let len = match rest[1..].chars().next() {
        Some(c) if c.is_ascii_lowercase() => 2,
        _ => first.len_utf8(),
    };
    let element_text = &rest[..len];
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

    let mut h_count = 0;
    if let Some(r) = rest.strip_prefix('H') {
        h_count = r.chars().next()?.to_digit(10)?;
        rest = &r[1..];
    }

    let mut charge = 0;
    if let Some(sign) = rest.chars().next().filter(|c| matches!(c, '+' | '-')) {
        let mut r = &rest[1..];
        let digits = take_digits(&mut r);
        if digits.is_empty() || digits.contains('0') {
            return None;
        }
        // charges beyond i32 are rejected rather than wrapped
        let value: i32 = digits.parse().ok()?;
        charge = if sign == '+' {
            i64::from(value)
        } else {
            -i64::from(value)
        };
        rest = r;
    }
    if !rest.is_empty() {
        return None;
    }

    let (order, stereo) = bond_from_char(bond);
    let order = whole(order);
    let atom = if is_organic(spec) {
        Atom::bare(element(element_text)?, false)
    } else {
        Atom {
            element: element(element_text)?,
            aromatic: false,
            isotope: normalize_number(isotope),
            chirality,
            h_count: Some(h_count),
            charge,
        }
    };
    (atom.bonding_capacity() >= 0).then_some(AtomSymbol {
        order,
        stereo,
        atom,
    })
}

/// Bond order (whole bonds) and number of index symbols of `[Branch1]`, `[=Branch2]`,
/// `[#Branch3]`, ...
pub(super) fn branch_symbol(symbol: &str) -> Option<(u32, usize)> {
    let body = symbol.strip_prefix('[')?.strip_suffix(']')?;
    let (bond, rest) = split_bond_prefix(body, &["=", "#"]);
    let length = index_length(rest.strip_prefix("Branch")?)?;
    Some((whole(bond_from_char(bond).0), length))
}

/// Ring symbol: bond order (whole bonds), number of index symbols and the stereo markers at the
/// opening and closing atoms (`[Ring1]`, `[=Ring2]`, `[/\Ring1]`, `[-/Ring3]`, ...).
pub(super) type RingSymbol = (u32, usize, (Option<Stereo>, Option<Stereo>));

pub(super) fn ring_symbol(symbol: &str) -> Option<RingSymbol> {
    let body = symbol.strip_prefix('[')?.strip_suffix(']')?;
    let position = body.find("Ring")?;
    let (prefix, rest) = body.split_at(position);
    let length = index_length(rest.strip_prefix("Ring")?)?;
    let mut chars = prefix.chars();
    match (chars.next(), chars.next(), chars.next()) {
        (None, ..) => Some((1, length, (None, None))),
        (Some(c @ ('=' | '#')), None, _) => {
            Some((whole(bond_from_char(Some(c)).0), length, (None, None)))
        }
        (Some(l @ ('-' | '/' | '\\')), Some(r @ ('-' | '/' | '\\')), None)
            if !(l == '-' && r == '-') =>
        {
            let (order, _) = bond_from_char(Some(r));
            Some((
                whole(order),
                length,
                (Stereo::from_char(l), Stereo::from_char(r)),
            ))
        }
        _ => None,
    }
}

/// Converts a half-bond order of a (non-aromatic) SELFIES bond into whole bonds.
fn whole(order: HalfOrder) -> u32 {
    order / 2
}

fn split_bond_prefix<'a>(body: &'a str, prefixes: &[&str]) -> (Option<char>, &'a str) {
    for prefix in prefixes {
        if let Some(rest) = body.strip_prefix(prefix) {
            return (prefix.chars().next(), rest);
        }
    }
    (None, body)
}

fn index_length(digit: &str) -> Option<usize> {
    match digit {
        "1" => Some(1),
        "2" => Some(2),
        "3" => Some(3),
        _ => None,
    }
}

/// Bond order actually formed by an atom symbol and the state after it (`None` ends
/// the chain). States count the bonds the previous atom can still form.
pub(super) fn next_atom_state(order: u32, capacity: u32, state: u32) -> (u32, Option<u32>) {
    let order = if state == 0 {
        0
    } else {
        order.min(state).min(capacity)
    };
    let left = capacity - order;
    (order, (left != 0).then_some(left))
}

/// Initial state inside a branch and the state after it; requires `state > 1`.
pub(super) fn next_branch_state(branch_order: u32, state: u32) -> (u32, u32) {
    let init = (state - 1).min(branch_order);
    (init, state - init)
}

/// Bond order of a ring closure and the state after it; requires `state > 0`.
pub(super) fn next_ring_state(ring_order: u32, state: u32) -> (u32, Option<u32>) {
    let order = ring_order.min(state);
    let left = state - order;
    (order, (left != 0).then_some(left))
}

/// Base-16 number spelled by index symbols, most significant first; missing or
/// non-index symbols count as zero.
pub(super) fn index_from_symbols<'a>(symbols: impl IntoIterator<Item = Option<&'a str>>) -> usize {
    symbols.into_iter().fold(0, |acc, symbol| {
        let digit = symbol
            .and_then(|s| INDEX_ALPHABET.iter().position(|&x| x == s))
            .unwrap_or(0);
        acc * INDEX_ALPHABET.len() + digit
    })
}

/// Index symbols spelling `index` in base 16, most significant first.
pub(super) fn symbols_from_index(index: usize) -> Vec<&'static str> {
    let base = INDEX_ALPHABET.len();
    let mut digits = Vec::new();
    let mut rest = index;
    loop {
        digits.push(INDEX_ALPHABET[rest % base]);
        rest /= base;
        if rest == 0 {
            break;
        }
    }
    digits.reverse();
    digits
}
