//! Turning text labels into class indices and target arrays.
//!
//! ```
//! use ndnet::data::LabelEncoder;
//!
//! let mut encoder = LabelEncoder::new();
//! let y = encoder.fit_transform(&["R", "M", "M", "R"])?;
//! assert_eq!(encoder.classes(), &["M", "R"]); // sorted, as scikit-learn
//! assert_eq!(y, vec![1, 0, 0, 1]);
//!
//! let column = encoder.binary_column(&y)?; // shape (4, 1), 0.0 / 1.0
//! assert_eq!(column.column(0).to_vec(), vec![1.0, 0.0, 0.0, 1.0]);
//! # Ok::<(), ndnet::Error>(())
//! ```

use ndarray::Array2;

use crate::error::{Error, Result};

/// Maps text labels to indices `0..n_classes`, with the classes in sorted order.
///
/// This is scikit-learn's `LabelEncoder`: the Sonar labels `M` and `R` become 0 and 1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelEncoder {
    classes: Vec<String>,
}

impl LabelEncoder {
    /// An encoder that has not been fitted.
    pub fn new() -> Self {
        LabelEncoder::default()
    }

    /// An encoder with these classes (sorted and deduplicated), without fitting on data.
    ///
    /// Useful when the set of classes is known in advance, so that the indices do not depend on
    /// which classes happen to occur in a sample.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyData`] if `classes` is empty.
    pub fn from_classes<S: AsRef<str>>(classes: &[S]) -> Result<Self> {
        let mut encoder = LabelEncoder::new();
        encoder.fit(classes)?;
        Ok(encoder)
    }

    /// Learns the classes: the distinct labels, sorted.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyData`] if `labels` is empty.
    pub fn fit<S: AsRef<str>>(&mut self, labels: &[S]) -> Result<&mut Self> {
        if labels.is_empty() {
            return Err(Error::EmptyData("LabelEncoder::fit".to_owned()));
        }
        let mut classes: Vec<String> = labels.iter().map(|s| s.as_ref().to_owned()).collect();
        classes.sort_unstable();
        classes.dedup();
        self.classes = classes;
        Ok(self)
    }

    /// The classes, sorted; a label's index is its position here.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Number of classes (0 before fitting).
    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }

    /// Whether [`fit`](Self::fit) (or [`from_classes`](Self::from_classes)) has been called.
    pub fn is_fitted(&self) -> bool {
        !self.classes.is_empty()
    }

    fn check_fitted(&self, method: &str) -> Result<()> {
        if self.is_fitted() {
            Ok(())
        } else {
            Err(Error::InvalidState(format!(
                "LabelEncoder::{method} called before fit"
            )))
        }
    }

    /// The index of each label.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] naming the first unknown label and the known classes;
    /// [`Error::InvalidState`] if the encoder has not been fitted.
    pub fn transform<S: AsRef<str>>(&self, labels: &[S]) -> Result<Vec<usize>> {
        self.check_fitted("transform")?;
        labels
            .iter()
            .enumerate()
            .map(|(row, label)| {
                let label = label.as_ref();
                self.classes
                    .binary_search_by(|c| c.as_str().cmp(label))
                    .map_err(|_| {
                        Error::param(
                            "LabelEncoder",
                            format!("label at index {row}"),
                            format!("{label:?}"),
                            format!(
                                "unknown label; the known classes are [{}]",
                                self.quoted_classes()
                            ),
                        )
                    })
            })
            .collect()
    }

    /// [`fit`](Self::fit) then [`transform`](Self::transform).
    ///
    /// # Errors
    ///
    /// [`Error::EmptyData`] if `labels` is empty.
    pub fn fit_transform<S: AsRef<str>>(&mut self, labels: &[S]) -> Result<Vec<usize>> {
        self.fit(labels)?;
        self.transform(labels)
    }

    /// The label of each index.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for an index `>= n_classes`; [`Error::InvalidState`] if the
    /// encoder has not been fitted.
    pub fn inverse_transform(&self, indices: &[usize]) -> Result<Vec<String>> {
        self.check_fitted("inverse_transform")?;
        indices
            .iter()
            .enumerate()
            .map(|(row, &i)| {
                self.classes.get(i).cloned().ok_or_else(|| {
                    Error::param(
                        "LabelEncoder",
                        format!("index at position {row}"),
                        i,
                        format!(
                            "out of range: there are {} classes [{}]",
                            self.classes.len(),
                            self.quoted_classes()
                        ),
                    )
                })
            })
            .collect()
    }

    /// Class indices as a `(n, 1)` column of 0.0 / 1.0, the target of a sigmoid output.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] unless the encoder has exactly two classes;
    /// [`Error::InvalidParameter`] for an index other than 0 or 1.
    pub fn binary_column(&self, indices: &[usize]) -> Result<Array2<f32>> {
        if self.classes.len() != 2 {
            return Err(Error::InvalidState(format!(
                "LabelEncoder::binary_column needs exactly 2 classes, the encoder has {} [{}]",
                self.classes.len(),
                self.quoted_classes()
            )));
        }
        binary_column(indices)
    }

    /// Class indices as one-hot rows, shape `(n, n_classes)`, the target of a softmax output.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] if the encoder has not been fitted;
    /// [`Error::InvalidParameter`] for an index `>= n_classes`.
    pub fn one_hot(&self, indices: &[usize]) -> Result<Array2<f32>> {
        self.check_fitted("one_hot")?;
        one_hot(indices, self.classes.len())
    }

    /// Fits the encoder on `labels` and returns them as the `(n, 1)` 0.0 / 1.0 target column of
    /// a sigmoid output, in one call (`fit_transform`, then `binary_column`). The classes are
    /// sorted, so the first becomes 0.0.
    ///
    /// ```
    /// use ndnet::data::LabelEncoder;
    /// let mut encoder = LabelEncoder::new();
    /// let y = encoder.fit_binary_column(&["R", "M", "R"])?;
    /// assert_eq!(y, ndarray::array![[1.0], [0.0], [1.0]]);
    /// assert_eq!(encoder.classes(), ["M", "R"]);
    /// # Ok::<(), ndnet::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`fit`](Self::fit) and [`binary_column`](Self::binary_column): no labels, or not
    /// exactly two classes.
    pub fn fit_binary_column<S: AsRef<str>>(&mut self, labels: &[S]) -> Result<Array2<f32>> {
        let indices = self.fit_transform(labels)?;
        self.binary_column(&indices)
    }

    /// Fits the encoder on `labels` and returns them one-hot, shape `(n, n_classes)`, the
    /// target of a softmax output, in one call.
    ///
    /// # Errors
    ///
    /// As [`fit`](Self::fit).
    pub fn fit_one_hot<S: AsRef<str>>(&mut self, labels: &[S]) -> Result<Array2<f32>> {
        let indices = self.fit_transform(labels)?;
        self.one_hot(&indices)
    }

    fn quoted_classes(&self) -> String {
        self.classes
            .iter()
            .map(|c| format!("{c:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Indices 0 / 1 as a `(n, 1)` column of 0.0 / 1.0.
///
/// ```
/// let y = ndnet::data::binary_column(&[0, 1, 1])?;
/// assert_eq!(y, ndarray::array![[0.0], [1.0], [1.0]]);
/// # Ok::<(), ndnet::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::InvalidParameter`] for an index other than 0 or 1.
pub fn binary_column(indices: &[usize]) -> Result<Array2<f32>> {
    if let Some((row, &i)) = indices.iter().enumerate().find(|&(_, &i)| i > 1) {
        return Err(Error::param(
            "binary_column",
            format!("index at position {row}"),
            i,
            "binary targets must be 0 or 1",
        ));
    }
    Ok(Array2::from_shape_fn((indices.len(), 1), |(r, _)| {
        indices[r] as f32
    }))
}

/// Indices as one-hot rows of width `n_classes`.
///
/// ```
/// let y = ndnet::data::one_hot(&[2, 0], 3)?;
/// assert_eq!(y, ndarray::array![[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]);
/// # Ok::<(), ndnet::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::InvalidParameter`] for an index `>= n_classes`, or for a `(indices.len(),
/// n_classes)` array that cannot be allocated (checked before allocating).
pub fn one_hot(indices: &[usize], n_classes: usize) -> Result<Array2<f32>> {
    let mut out = crate::init::try_zeros2("one_hot", "n_classes", indices.len(), n_classes)?;
    for (row, &i) in indices.iter().enumerate() {
        if i >= n_classes {
            return Err(Error::param(
                "one_hot",
                format!("index at position {row}"),
                i,
                format!("must be less than the number of classes ({n_classes})"),
            ));
        }
        out[[row, i]] = 1.0;
    }
    Ok(out)
}
