//! Forward-pass context: training or evaluation mode and the seeded generator that dropout and
//! stochastic depth draw from (candle's CPU generator cannot be seeded).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;

/// Mode of one forward pass. In training mode BatchNorm uses batch statistics (and updates its
/// running statistics), dropout and stochastic depth are active and draw from a generator seeded
/// per pass, so the same seed gives the same masks.
pub struct Ctx {
    train: bool,
    rng: RefCell<ChaCha8Rng>,
}

impl Ctx {
    /// Evaluation mode: BatchNorm uses running statistics, dropout is the identity.
    pub fn eval() -> Self {
        Self {
            train: false,
            rng: RefCell::new(ChaCha8Rng::seed_from_u64(0)),
        }
    }

    /// Training mode with dropout masks drawn from a generator seeded with `seed`.
    /// A trainer derives the seed from (run seed, epoch, batch) so a resumed run draws the same masks.
    pub fn train(seed: u64) -> Self {
        Self {
            train: true,
            rng: RefCell::new(ChaCha8Rng::seed_from_u64(seed)),
        }
    }

    /// True in training mode.
    pub fn is_train(&self) -> bool {
        self.train
    }

    /// `n` independent draws: 1/(1−p) with probability 1−p, 0 otherwise (inverted dropout).
    pub(crate) fn keep_mask(&self, n: usize, p: f64) -> Vec<f32> {
        let mut rng = self.rng.borrow_mut();
        let scale = (1.0 / (1.0 - p)) as f32;
        (0..n)
            .map(|_| if rng.random::<f64>() < p { 0.0 } else { scale })
            .collect()
    }
}
