//! Stratified k-fold splits for cross-validation.

use std::collections::HashMap;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::error::{Error, Result};

/// Train and test row indices of one fold, each sorted ascending.
pub type Fold = (Vec<usize>, Vec<usize>);

/// K-fold splitting that keeps each class's share the same in every fold, following
/// scikit-learn's `StratifiedKFold`.
///
/// Every row is in exactly one test fold. For each class, the number of its rows in a test fold
/// differs from the proportional count (`class rows / n_splits`) by less than one, and the
/// fold sizes are balanced across classes the way scikit-learn does it (rows are dealt round
/// robin over the label-sorted data). Without shuffling, each class's rows go to the folds in
/// file order, in contiguous blocks; with shuffling, each class's fold assignment is permuted
/// by a generator seeded with `seed`, so a seed always gives the same folds (for a given version
/// of `rand`). The folds will not be the same as scikit-learn's for the same seed.
///
/// ```
/// use ndnet::selection::StratifiedKFold;
///
/// // 6 rows of class 0 and 3 of class 1, in 3 folds: each test fold gets 2 + 1 rows.
/// let labels = [0, 0, 0, 0, 0, 0, 1, 1, 1];
/// let folds = StratifiedKFold::new(3).split(&labels)?;
/// assert_eq!(folds.len(), 3);
/// assert_eq!(folds[0].1, vec![0, 1, 6]);
/// assert_eq!(folds[0].0, vec![2, 3, 4, 5, 7, 8]);
/// # Ok::<(), ndnet::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StratifiedKFold {
    /// Number of folds, at least 2.
    pub n_splits: usize,
    /// Whether to permute each class's rows before dealing them to folds.
    pub shuffle: bool,
    /// Seed of the permutation (ignored without `shuffle`).
    pub seed: u64,
}

impl StratifiedKFold {
    /// `n_splits` folds, without shuffling.
    pub fn new(n_splits: usize) -> Self {
        StratifiedKFold {
            n_splits,
            shuffle: false,
            seed: 0,
        }
    }

    /// The same folds count, shuffled with `seed`.
    pub fn shuffled(mut self, seed: u64) -> Self {
        self.shuffle = true;
        self.seed = seed;
        self
    }

    /// The test fold (`0..n_splits`) of each row.
    ///
    /// `labels` are class ids; they need not be contiguous.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyData`] if `labels` is empty; [`Error::InvalidParameter`] if `n_splits < 2`,
    /// if `n_splits` exceeds the number of rows, or if some class has fewer rows than `n_splits`
    /// (the message names the class and its count).
    pub fn test_folds(&self, labels: &[usize]) -> Result<Vec<usize>> {
        let k = self.n_splits;
        let n = labels.len();
        if k < 2 {
            return Err(Error::param(
                "StratifiedKFold",
                "n_splits",
                k,
                "must be at least 2",
            ));
        }
        if n == 0 {
            return Err(Error::EmptyData("StratifiedKFold::split".to_owned()));
        }
        if k > n {
            return Err(Error::param(
                "StratifiedKFold",
                "n_splits",
                k,
                format!("cannot be greater than the number of rows ({n})"),
            ));
        }

        // Classes numbered in order of first appearance, as scikit-learn does.
        let mut class_of: HashMap<usize, usize> = HashMap::new();
        let mut class_labels: Vec<usize> = Vec::new();
        let encoded: Vec<usize> = labels
            .iter()
            .map(|&label| {
                *class_of.entry(label).or_insert_with(|| {
                    class_labels.push(label);
                    class_labels.len() - 1
                })
            })
            .collect();
        let n_classes = class_labels.len();
        let mut counts = vec![0usize; n_classes];
        for &c in &encoded {
            counts[c] += 1;
        }
        if let Some((c, &count)) = counts.iter().enumerate().find(|&(_, &count)| count < k) {
            return Err(Error::param(
                "StratifiedKFold",
                "n_splits",
                k,
                format!(
                    "class {} has only {count} row{}; every class needs at least n_splits rows",
                    class_labels[c],
                    if count == 1 { "" } else { "s" }
                ),
            ));
        }

        // allocation[fold][class]: deal the class-sorted rows to folds round robin, so that
        // the remainders of the classes are spread over different folds.
        let mut allocation = vec![vec![0usize; n_classes]; k];
        let mut position = 0;
        for (c, &count) in counts.iter().enumerate() {
            for _ in 0..count {
                allocation[position % k][c] += 1;
                position += 1;
            }
        }

        let mut rng = StdRng::seed_from_u64(self.seed);
        let mut test_fold = vec![0usize; n];
        for c in 0..n_classes {
            let mut folds_for_class: Vec<usize> = Vec::with_capacity(counts[c]);
            for (fold, per_class) in allocation.iter().enumerate() {
                folds_for_class.extend(std::iter::repeat_n(fold, per_class[c]));
            }
            if self.shuffle {
                folds_for_class.shuffle(&mut rng);
            }
            let rows = encoded
                .iter()
                .enumerate()
                .filter(|&(_, &e)| e == c)
                .map(|(row, _)| row);
            for (row, fold) in rows.zip(folds_for_class) {
                test_fold[row] = fold;
            }
        }
        Ok(test_fold)
    }

    /// The `n_splits` folds as `(train, test)` row indices, each sorted ascending.
    ///
    /// # Errors
    ///
    /// As [`test_folds`](Self::test_folds).
    pub fn split(&self, labels: &[usize]) -> Result<Vec<Fold>> {
        let test_fold = self.test_folds(labels)?;
        Ok((0..self.n_splits)
            .map(|fold| {
                let (test, train): (Vec<usize>, Vec<usize>) =
                    (0..labels.len()).partition(|&row| test_fold[row] == fold);
                (train, test)
            })
            .collect())
    }
}
