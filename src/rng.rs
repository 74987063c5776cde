//! Seed derivation: one seed drives everything.
//!
//! Each consumer of randomness (a layer's initializer and dropout masks, the shuffling of a
//! model, a cross-validation fold) gets its own generator, seeded from the model's seed, a stream
//! number and an index. Results therefore do not depend on the order in which layers are built or
//! on how many threads run folds.

use rand::SeedableRng;
use rand::rngs::SmallRng;

/// Stream for layer initialization and a layer's own randomness (dropout masks, noise); see
/// [`layer_rng`].
pub const STREAM_LAYER: u64 = 1;
/// Stream for the shuffling of samples in `fit`.
pub const STREAM_SHUFFLE: u64 = 2;
/// Stream for cross-validation folds (index: the fold).
pub const STREAM_FOLD: u64 = 3;
/// Stream for the passes of Monte-Carlo dropout prediction ([`mc_seed`]); the seed is the one
/// given to the prediction, not the model's, so predicting never touches the training streams.
pub const STREAM_MC: u64 = 4;

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed for `(stream, index)` derived from `seed`; distinct inputs give unrelated seeds.
///
/// ```
/// use ndnet::rng::derive_seed;
/// assert_eq!(derive_seed(7, 1, 0), derive_seed(7, 1, 0));
/// assert_ne!(derive_seed(7, 1, 0), derive_seed(7, 1, 1));
/// ```
pub fn derive_seed(seed: u64, stream: u64, index: u64) -> u64 {
    splitmix64(splitmix64(splitmix64(seed) ^ stream) ^ index)
}

/// A fast generator seeded with [`derive_seed`].
pub fn derive_rng(seed: u64, stream: u64, index: u64) -> SmallRng {
    SmallRng::seed_from_u64(derive_seed(seed, stream, index))
}

/// The generator of a layer: derived from the model's `seed`, the layer's `kind` and its
/// `ordinal` among the layers of that kind (the `n` of `dense_n`), not from its position.
///
/// So the `n`-th `Dense` layer starts from the same weights whether or not `Dropout` or other
/// weightless layers sit before it, and each `Dropout` layer draws its own masks: models that
/// differ only by their dropout layers are compared from the same initial weights, and a
/// `Dropout(0.0)` trains exactly like no `Dropout`.
///
/// ```
/// use ndnet::rng::layer_rng;
/// use rand::Rng;
/// let a: u64 = layer_rng(7, "Dense", 1).random();
/// assert_eq!(a, layer_rng(7, "Dense", 1).random::<u64>());
/// assert_ne!(a, layer_rng(7, "Dropout", 1).random::<u64>());
/// assert_ne!(a, layer_rng(7, "Dense", 2).random::<u64>());
/// ```
pub fn layer_rng(seed: u64, kind: &str, ordinal: usize) -> SmallRng {
    derive_rng(
        derive_seed(seed, STREAM_LAYER, kind_hash(kind)),
        STREAM_LAYER,
        ordinal as u64,
    )
}

/// FNV-1a of a layer kind's name: stable across runs, platforms and compiler versions.
fn kind_hash(kind: &str) -> u64 {
    kind.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The seed a Monte-Carlo dropout prediction with seed `seed` gives the `ordinal`-th layer of
/// kind `kind` (the `n` of `dropout_n`) for pass `pass` on block `block` of its rows (see
/// [`crate::mc`]; with one mask per batch every block gets block 0's seed, so all rows share
/// the draw). Derived on [`STREAM_MC`], so it is unrelated to the model's training streams.
///
/// ```
/// use ndnet::rng::mc_seed;
/// assert_eq!(mc_seed(7, 0, 0, "Dropout", 0), mc_seed(7, 0, 0, "Dropout", 0));
/// assert_ne!(mc_seed(7, 0, 0, "Dropout", 0), mc_seed(7, 1, 0, "Dropout", 0));
/// assert_ne!(mc_seed(7, 0, 0, "Dropout", 0), mc_seed(7, 0, 1, "Dropout", 0));
/// assert_ne!(mc_seed(7, 0, 0, "Dropout", 0), mc_seed(7, 0, 0, "Dropout", 1));
/// ```
pub fn mc_seed(seed: u64, pass: usize, block: usize, kind: &str, ordinal: usize) -> u64 {
    let layer = derive_seed(seed, STREAM_MC, kind_hash(kind));
    derive_seed(
        derive_seed(layer, STREAM_MC, ordinal as u64),
        pass as u64,
        block as u64,
    )
}
