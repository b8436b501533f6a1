//! Fuzzing of the IDX parser (MNIST-style image and label files; see `diffusion_core::fuzz`):
//! any bytes give an array or an error naming the file, never a panic or a huge allocation.
//! Cases: `GDD_FUZZ_CASES` (default 2,000).

use diffusion_core::fuzz::{Fuzzer, cases, check_no_panic};
use images::idx::parse_idx;
use std::path::Path;

#[test]
fn fuzz_idx_bytes() {
    // A valid 3×2×2 u8 image file: magic 0x00000803, dims, data.
    let mut valid = vec![0u8, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2];
    valid.extend(0u8..12);
    let mut f = Fuzzer::new(30);
    check_no_panic(
        "IDX",
        cases(),
        |_| f.mutate(&valid, &[0, 1, 3, 8, 0x0d, 0xff]),
        |b| {
            let _ = parse_idx(b, Path::new("fuzz-idx3-ubyte"));
        },
    );
}
