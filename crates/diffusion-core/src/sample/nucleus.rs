//! Nucleus (top-p) truncation (spec §5.5; Holtzman et al., 2020): keep, per row, the smallest set of the
//! most probable tokens whose probability reaches p, and renormalise. The samplers apply it to
//! the denoiser's clean-token distribution x_θ (MDLM / UDLM) or the next-token distribution
//! (AR) before drawing, trading diversity for fewer low-probability (often invalid) tokens.

/// Truncate every row of `probs` (row-major, rows of length `n`, non-negative) to its top-p
/// nucleus in place and renormalise each row to sum 1. `p ≥ 1` leaves the rows unchanged; a
/// row that sums to 0 is left as it is. Ties at the boundary keep the lower token id.
pub fn nucleus(probs: &mut [f32], n: usize, p: f64) {
    if p >= 1.0 || n == 0 {
        return;
    }
    let mut order: Vec<usize> = Vec::with_capacity(n);
    for row in probs.chunks_mut(n) {
        let total: f64 = row.iter().map(|&v| v as f64).sum();
        if total <= 0.0 {
            continue;
        }
        order.clear();
        order.extend(0..n);
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
        let (mut kept, mut mass) = (0, 0.0);
        for &v in &order {
            kept += 1;
            mass += row[v] as f64;
            if mass >= p * total {
                break;
            }
        }
        for &v in &order[kept..] {
            row[v] = 0.0;
        }
        for v in row.iter_mut() {
            *v = (*v as f64 / mass) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_smallest_top_set_reaching_p() {
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6);
        // Row 1: 0.5 alone < 0.7, 0.5 + 0.3 ≥ 0.7 → {0.5, 0.3} → 0.625, 0.375. Row 2
        // (unnormalised, total 2): p·total = 1.4 needs 1.0 + 0.6 → 0.375, 0.625.
        let mut p = vec![0.3, 0.5, 0.2, 0.6, 1.0, 0.4];
        nucleus(&mut p, 3, 0.7);
        assert!(close(&p, &[0.375, 0.625, 0.0, 0.375, 0.625, 0.0]), "{p:?}");
        // p·total = 1.8 needs all three: only renormalised.
        let mut q = vec![0.6, 1.0, 0.4];
        nucleus(&mut q, 3, 0.9);
        assert!(close(&q, &[0.3, 0.5, 0.2]), "{q:?}");
        // p → 0 keeps only the most probable token (greedy); ties keep the lower id.
        let mut g = vec![0.2, 0.4, 0.4];
        nucleus(&mut g, 3, 1e-9);
        assert_eq!(g, [0.0, 1.0, 0.0]);
        // p = 1 and all-zero rows are untouched.
        let mut u = vec![0.1, 0.9, 0.0, 0.0];
        nucleus(&mut u, 2, 1.0);
        assert_eq!(u, [0.1, 0.9, 0.0, 0.0]);
        nucleus(&mut u, 2, 0.5);
        assert_eq!(u, [0.0, 1.0, 0.0, 0.0]);
    }
}
