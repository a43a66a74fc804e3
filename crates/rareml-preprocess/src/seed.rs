//! Seeded randomness: every random transform draws from an RNG derived from (seed, item index), so
//! the same seed gives the same output whatever the batching or the number of threads.

use rand::rngs::StdRng;
use rand::SeedableRng;

/// SplitMix64 finaliser: a bijective mix of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The RNG of item `index` under `seed`.
pub fn item_rng(seed: u64, index: u64) -> StdRng {
    StdRng::seed_from_u64(mix(seed ^ mix(index)))
}
