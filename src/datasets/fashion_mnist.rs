//! Fashion-MNIST (Xiao, Rasul and Vollgraf 2017): 70,000 grey 28 × 28 images of ten kinds of
//! clothing, in MNIST's format and split (60,000 training, 10,000 test images), a harder
//! drop-in replacement for it. The loader is [`mnist`](super::mnist)'s with
//! [`Source::FashionMnist`]; see there for the search and
//! the checks. Besides MNIST's places it looks in [`SYSTEM_DIR`], where Debian's package
//! `dataset-fashion-mnist` installs the files (recompressed: the digests checked are those of the
//! decompressed content, so they still verify).
//!
//! ```no_run
//! let data = ndnet::datasets::fashion_mnist::load(None)?;
//! assert_eq!(data.train.x.shape(), &[60_000, 784]);
//! println!("{:?}", ndnet::datasets::fashion_mnist::CLASSES);
//! # Ok::<(), ndnet::Error>(())
//! ```

use std::path::Path;

use super::mnist::{FileSet, Mnist, Source};
use crate::error::Result;

/// Environment variable naming a folder with the Fashion-MNIST files.
pub const ENV_DIR: &str = "FASHION_MNIST_DIR";

/// Where Debian's `dataset-fashion-mnist` puts the files.
pub const SYSTEM_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The class names, in label order.
pub const CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The Fashion-MNIST files and the SHA-256 digests of their decompressed content.
pub const FILES: FileSet = FileSet {
    train_images: (
        "train-images-idx3-ubyte.gz",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    train_labels: (
        "train-labels-idx1-ubyte.gz",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    test_images: (
        "t10k-images-idx3-ubyte.gz",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    test_labels: (
        "t10k-labels-idx1-ubyte.gz",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
};

/// Where Fashion-MNIST is downloaded from, tried in order.
pub const MIRRORS: &[&str] = &[
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
];

/// Finds and reads Fashion-MNIST, verifying every file's digest.
///
/// # Errors
///
/// As [`mnist::load_source`](super::mnist::load_source).
pub fn load(dir: Option<&Path>) -> Result<Mnist> {
    super::mnist::load_source(Source::FashionMnist, dir)
}
