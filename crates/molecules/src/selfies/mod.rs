//! SELFIES (Self-Referencing Embedded Strings, Krenn et al. 2020): a molecular string
//! grammar in which every sequence of symbols decodes to a valid molecule.
//!
//! A std-only port that reproduces the Python package `selfies` 2.2.0 (Apache-2.0) with
//! its default semantic constraints, output byte for byte: same symbols, same atom
//! order, same Kekulé structures and ring-closure numbering. Golden tests generated
//! with the Python package live in `tests/selfies_golden.rs`.
//!
//! Known divergences, all on inputs that are not valid chemistry text: non-ASCII
//! digits are not read as numbers (Python's `\d` accepts them), and charges beyond the
//! `i32` range are rejected instead of being kept as big integers.
//!
//! ```ignore
//! use molecules::selfies::{decoder, encoder};
//! let selfies = encoder("c1ccccc1O")?; // "[C][=C][C][=C][C][=C][Ring1][=Branch1][O]"
//! assert_eq!(decoder(&selfies)?, "C1=CC=CC=C1O");
//! ```

mod bond_constraints;
mod constants;
mod decoder;
mod encoder;
mod error;
mod grammar;
mod kekulize;
mod matching;
mod mol_graph;
mod py_set;
mod smiles_parser;
mod smiles_writer;
mod split;

pub use bond_constraints::semantic_robust_alphabet;
pub use decoder::decoder;
pub use encoder::encoder;
pub use error::SelfiesError;
pub use split::{len_selfies, split_selfies};
