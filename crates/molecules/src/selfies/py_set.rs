//! A replica of CPython 3.11's `set` of small non-negative integers, restricted to the
//! operations the Kekulé matcher needs. selfies pops unmatched atoms from a Python
//! set, so the pop order (and therefore which Kekulé structure is emitted) depends on
//! CPython's hash-table layout; reproducing it keeps the output byte-identical.

const MIN_SIZE: usize = 8;
const LINEAR_PROBES: usize = 9;
const PERTURB_SHIFT: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Empty,
    Deleted,
    Key(usize),
}

/// Integer set with CPython's slot layout and `pop` order (`hash(i) == i`).
#[derive(Debug)]
pub(super) struct PySet {
    table: Vec<Slot>,
    /// Slots that are not `Empty` (live or deleted).
    fill: usize,
    /// Live keys.
    used: usize,
    /// Where the next `pop` starts scanning.
    finger: usize,
}

impl PySet {
    /// Builds the set by inserting `keys` in order, like `set(generator)`.
    pub(super) fn from_keys(keys: impl IntoIterator<Item = usize>) -> Self {
        let mut set = Self {
            table: vec![Slot::Empty; MIN_SIZE],
            fill: 0,
            used: 0,
            finger: 0,
        };
        for key in keys {
            set.add(key);
        }
        set
    }

    fn mask(&self) -> usize {
        self.table.len() - 1
    }

    /// Slot holding `key`, or the first empty slot on its probe sequence.
    fn probe(&self, key: usize) -> (usize, bool) {
        let mask = self.mask();
        let mut perturb = key;
        let mut i = key & mask;
        loop {
            let probes = if i + LINEAR_PROBES <= mask {
                LINEAR_PROBES
            } else {
                0
            };
            for j in i..=i + probes {
                match self.table[j] {
                    Slot::Empty => return (j, false),
                    Slot::Key(k) if k == key => return (j, true),
                    _ => {}
                }
            }
            perturb >>= PERTURB_SHIFT;
            i = (i.wrapping_mul(5).wrapping_add(1).wrapping_add(perturb)) & mask;
        }
    }

    fn add(&mut self, key: usize) {
        let (slot, found) = self.probe(key);
        if found {
            return;
        }
        self.table[slot] = Slot::Key(key);
        self.fill += 1;
        self.used += 1;
        if self.fill * 5 >= self.mask() * 3 {
            let min_used = if self.used > 50_000 {
                self.used * 2
            } else {
                self.used * 4
            };
            self.resize(min_used);
        }
    }

    fn resize(&mut self, min_used: usize) {
        let mut size = MIN_SIZE;
        while size <= min_used {
            size <<= 1;
        }
        let old = std::mem::replace(&mut self.table, vec![Slot::Empty; size]);
        for slot in old {
            if let Slot::Key(key) = slot {
                self.insert_clean(key);
            }
        }
        self.fill = self.used;
    }

    /// Insertion into a table known to contain neither `key` nor deleted slots.
    fn insert_clean(&mut self, key: usize) {
        let mask = self.mask();
        let mut perturb = key;
        let mut i = key & mask;
        loop {
            if self.table[i] == Slot::Empty {
                self.table[i] = Slot::Key(key);
                return;
            }
            if i + LINEAR_PROBES <= mask {
                for j in i + 1..=i + LINEAR_PROBES {
                    if self.table[j] == Slot::Empty {
                        self.table[j] = Slot::Key(key);
                        return;
                    }
                }
            }
            perturb >>= PERTURB_SHIFT;
            i = (i.wrapping_mul(5).wrapping_add(1).wrapping_add(perturb)) & mask;
        }
    }

    pub(super) fn discard(&mut self, key: usize) {
        let (slot, found) = self.probe(key);
        if found {
            self.table[slot] = Slot::Deleted;
            self.used -= 1;
        }
    }

    /// Removes and returns the key CPython's `set.pop()` would return.
    pub(super) fn pop(&mut self) -> Option<usize> {
        if self.used == 0 {
            return None;
        }
        let mask = self.mask();
        let mut i = self.finger & mask;
        loop {
            if let Slot::Key(key) = self.table[i] {
                self.table[i] = Slot::Deleted;
                self.used -= 1;
                self.finger = i + 1;
                return Some(key);
            }
            i = if i == mask { 0 } else { i + 1 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PySet;

    /// Replays `ops` (`None` = pop, `Some(k)` = discard k) and returns the popped keys.
    fn replay(keys: &[usize], ops: &[Option<usize>]) -> Vec<usize> {
        let mut set = PySet::from_keys(keys.iter().copied());
        let mut popped = Vec::new();
        for op in ops {
            match op {
                None => popped.extend(set.pop()),
                Some(key) => set.discard(*key),
            }
        }
        popped
    }

    #[test]
    fn pop_order_matches_cpython_3_11() {
        // expected sequences recorded from CPython 3.11.7 with the same operations
        let p = None;
        let d = Some;
        assert_eq!(
            replay(
                &[0, 4, 30, 37, 38, 39],
                &[p, d(4), p, p, d(38), d(37), p, d(4), p, d(9), d(37)]
            ),
            [0, 37, 38, 39, 30]
        );
        assert_eq!(
            replay(
                &[293, 798, 1113, 1777, 2113, 4054],
                &[
                    p,
                    d(3573),
                    d(1777),
                    p,
                    d(2113),
                    d(2113),
                    p,
                    d(2113),
                    d(1113),
                    p,
                    d(234),
                    d(2113)
                ]
            ),
            [2113, 293, 4054, 798]
        );
        assert_eq!(
            replay(
                &[
                    35, 299, 416, 419, 480, 495, 601, 638, 792, 915, 924, 942, 972
                ],
                &[
                    p,
                    p,
                    p,
                    p,
                    p,
                    d(480),
                    d(792),
                    p,
                    p,
                    d(35),
                    d(942),
                    p,
                    p,
                    d(601),
                    p,
                    p,
                    d(942)
                ]
            ),
            [416, 480, 35, 419, 299, 972, 942, 495, 915, 924, 638]
        );
    }
}
