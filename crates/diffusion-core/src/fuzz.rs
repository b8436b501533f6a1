//! Seeded fuzzing of the parsers of outside input (config files, checkpoints, SMILES, SELFIES,
//! FASTA, IDX): each case is a random string over the format's alphabet or a mutation of a
//! valid input (bit flips, deletions, insertions, duplicated or swapped chunks, truncation), and
//! the parser must return `Ok` or `Err`, never panic. The number of cases per parser is
//! `GDD_FUZZ_CASES` (default [`DEFAULT_CASES`], what CI runs; `GDD_FUZZ_CASES=100000 cargo test
//! fuzz` for a long run); the seed is `GDD_FUZZ_SEED` (default 0), so a failure replays.

use crate::rng::Rng;

/// Cases per parser when `GDD_FUZZ_CASES` is unset.
pub const DEFAULT_CASES: usize = 2_000;

/// Cases per parser for this run.
pub fn cases() -> usize {
    std::env::var("GDD_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

/// Input generator for one parser (its own stream of the run's seed).
pub struct Fuzzer {
    rng: Rng,
}

impl Fuzzer {
    /// `stream` separates parsers, so adding one does not change the inputs of another.
    pub fn new(stream: u64) -> Self {
        let seed = std::env::var("GDD_FUZZ_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Self {
            rng: Rng::stream(seed, stream),
        }
    }

    /// Uniform integer in [0, n) (n ≥ 1).
    pub fn below(&mut self, n: usize) -> usize {
        self.rng.below(n.max(1) as u64) as usize
    }

    /// A string of up to `max_len` symbols drawn from `alphabet`.
    pub fn string(&mut self, alphabet: &[&str], max_len: usize) -> String {
        let len = self.below(max_len + 1);
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())])
            .collect()
    }

    /// 1–4 random edits of `input`; inserted bytes come from `alphabet` half of the time and
    /// are arbitrary bytes otherwise.
    pub fn mutate(&mut self, input: &[u8], alphabet: &[u8]) -> Vec<u8> {
        let mut v = input.to_vec();
        for _ in 0..1 + self.below(4) {
            let n = v.len();
            let byte = |f: &mut Self| {
                if !alphabet.is_empty() && f.below(2) == 0 {
                    alphabet[f.below(alphabet.len())]
                } else {
                    f.below(256) as u8
                }
            };
            match self.below(6) {
                0 if n > 0 => {
                    let i = self.below(n);
                    v[i] ^= 1 << self.below(8);
                }
                1 if n > 0 => {
                    let i = self.below(n);
                    let len = 1 + self.below((n - i).min(16));
                    v.drain(i..i + len);
                }
                2 => {
                    let i = self.below(n + 1);
                    for _ in 0..1 + self.below(8) {
                        let b = byte(self);
                        v.insert(i, b);
                    }
                }
                3 if n > 0 => {
                    let i = self.below(n);
                    let len = 1 + self.below((n - i).min(32));
                    let chunk = v[i..i + len].to_vec();
                    let at = self.below(v.len() + 1);
                    v.splice(at..at, chunk);
                }
                4 if n > 1 => {
                    let (i, j) = (self.below(n), self.below(n));
                    v.swap(i, j);
                }
                _ => v.truncate(self.below(n + 1)),
            }
        }
        v
    }

    /// [`Self::mutate`] as text (invalid UTF-8 replaced), for parsers that take `&str`.
    pub fn mutate_str(&mut self, input: &str, alphabet: &str) -> String {
        String::from_utf8_lossy(&self.mutate(input.as_bytes(), alphabet.as_bytes())).into_owned()
    }
}

/// Run `parse` on `n` inputs from `gen`; a panic is reported with the case number and input.
pub fn check_no_panic<T: std::fmt::Debug, R>(
    name: &str,
    n: usize,
    mut generate: impl FnMut(usize) -> T,
    mut parse: impl FnMut(&T) -> R,
) {
    for k in 0..n {
        let input = generate(k);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            parse(&input);
        }));
        if r.is_err() {
            panic!("{name}: case {k} panicked on input {input:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_seeded_and_change_the_input() {
        let (mut a, mut b) = (Fuzzer::new(7), Fuzzer::new(7));
        let base = b"CC(=O)Oc1ccccc1C(=O)O";
        let changed = (0..50)
            .filter(|_| {
                let x = a.mutate(base, b"C()=1");
                assert_eq!(x, b.mutate(base, b"C()=1"), "same stream, same inputs");
                x != base
            })
            .count();
        assert!(changed > 40, "{changed}");
        let s = a.string(&["C", "c1", "("], 10);
        assert!(s.len() <= 20);
    }

    #[test]
    #[should_panic(expected = "case 3 panicked")]
    fn a_panicking_parser_is_reported_with_its_input() {
        check_no_panic("toy", 10, |k| k, |&k| assert!(k != 3));
    }
}
