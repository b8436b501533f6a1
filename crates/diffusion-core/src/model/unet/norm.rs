//! GroupNorm as the reference's UNet uses it (spec §7.3): min(C/4, 32) groups, eps 1e-6. When
//! that count does not divide C (possible after a skip concatenation with unusual widths) the
//! next smaller divisor is taken, so any channel count works.

use burn::nn::{GroupNorm, GroupNormConfig};
use burn::prelude::*;

/// Number of groups for `channels`: the largest divisor of C not above min(C/4, 32).
pub fn num_groups(channels: usize) -> usize {
    let mut g = (channels / 4).clamp(1, 32);
    while !channels.is_multiple_of(g) {
        g -= 1;
    }
    g
}

pub fn group_norm(channels: usize, device: &Device) -> GroupNorm {
    GroupNormConfig::new(num_groups(channels), channels)
        .with_epsilon(1e-6)
        .init(device)
}

#[cfg(test)]
mod tests {
    use super::num_groups;

    #[test]
    fn groups_follow_the_reference_and_divide_the_channels() {
        assert_eq!(num_groups(128), 32);
        assert_eq!(num_groups(32), 8);
        assert_eq!(num_groups(4), 1);
        assert_eq!(num_groups(144), 24); // min(36, 32) = 32 does not divide 144
        for c in 1..300 {
            assert!(c % num_groups(c) == 0);
        }
    }
}
