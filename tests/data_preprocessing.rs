//! Label encoding, feature scaling and stratified k-fold splitting.

use approx::assert_abs_diff_eq;
use ndarray::{Array2, array};
use ndnet::Error;
use ndnet::data::{LabelEncoder, StandardScaler, binary_column, one_hot};
use ndnet::selection::StratifiedKFold;

// ---------------------------------------------------------------------------------------------
// LabelEncoder
// ---------------------------------------------------------------------------------------------

#[test]
fn label_encoder_sorts_classes() {
    let mut encoder = LabelEncoder::new();
    encoder.fit(&["R", "M", "R", "M", "M"]).unwrap();
    // Distinct labels, sorted: M < R.
    assert_eq!(encoder.classes(), &["M", "R"]);
    assert_eq!(encoder.n_classes(), 2);
}

#[test]
fn label_encoder_transform_gives_sorted_position() {
    let mut encoder = LabelEncoder::new();
    let y = encoder.fit_transform(&["R", "M", "R", "M"]).unwrap();
    // As scikit-learn: M -> 0, R -> 1.
    assert_eq!(y, vec![1, 0, 1, 0]);
    let y = encoder.transform(&["M", "M", "R"]).unwrap();
    assert_eq!(y, vec![0, 0, 1]);
}

#[test]
fn label_encoder_unknown_label_error_names_label_and_classes() {
    let encoder = LabelEncoder::from_classes(&["M", "R"]).unwrap();
    let err = encoder.transform(&["M", "X"]).unwrap_err();
    assert!(matches!(err, Error::InvalidParameter { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("\"X\""), "{msg}");
    assert!(msg.contains("\"M\", \"R\""), "{msg}");
    assert!(msg.contains("index 1"), "{msg}");
}

#[test]
fn label_encoder_transform_before_fit_is_error() {
    let err = LabelEncoder::new().transform(&["M"]).unwrap_err();
    assert!(matches!(err, Error::InvalidState(_)), "{err:?}");
}

#[test]
fn label_encoder_fit_on_empty_is_error() {
    let err = LabelEncoder::new().fit::<&str>(&[]).unwrap_err();
    assert!(matches!(err, Error::EmptyData(_)), "{err:?}");
}

#[test]
fn label_encoder_inverse_transform_round_trips() {
    let mut encoder = LabelEncoder::new();
    let labels = ["setosa", "virginica", "versicolor", "setosa"];
    let y = encoder.fit_transform(&labels).unwrap();
    // Sorted: setosa 0, versicolor 1, virginica 2.
    assert_eq!(y, vec![0, 2, 1, 0]);
    assert_eq!(encoder.inverse_transform(&y).unwrap(), labels);
    let err = encoder.inverse_transform(&[3]).unwrap_err();
    assert!(err.to_string().contains("3 classes"), "{err}");
}

#[test]
fn label_encoder_binary_column_is_n_by_1_of_zeros_and_ones() {
    let mut encoder = LabelEncoder::new();
    let y = encoder.fit_transform(&["R", "M", "M"]).unwrap();
    let column = encoder.binary_column(&y).unwrap();
    assert_eq!(column, array![[1.0], [0.0], [0.0]]);
}

#[test]
fn label_encoder_binary_column_needs_two_classes() {
    let encoder = LabelEncoder::from_classes(&["a", "b", "c"]).unwrap();
    let err = encoder.binary_column(&[0, 1]).unwrap_err();
    assert!(err.to_string().contains("exactly 2 classes"), "{err}");
}

#[test]
fn label_encoder_one_hot_has_one_column_per_class() {
    let mut encoder = LabelEncoder::new();
    let y = encoder.fit_transform(&["b", "c", "a"]).unwrap();
    // a 0, b 1, c 2.
    let expected = array![[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]];
    assert_eq!(encoder.one_hot(&y).unwrap(), expected);
}

#[test]
fn one_hot_and_binary_column_reject_out_of_range_indices() {
    let err = one_hot(&[0, 3], 3).unwrap_err();
    assert!(err.to_string().contains("position 1"), "{err}");
    let err = binary_column(&[1, 2]).unwrap_err();
    assert!(err.to_string().contains("0 or 1"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// StandardScaler
// ---------------------------------------------------------------------------------------------

/// Column 0 is [1, 2, 3, 4]: mean 2.5, population variance (2.25 + 0.25 + 0.25 + 2.25) / 4
/// = 1.25. Column 1 is [2, 4, 6, 8]: mean 5, variance (9 + 1 + 1 + 9) / 4 = 5.
fn four_by_two() -> Array2<f32> {
    array![[1.0, 2.0], [2.0, 4.0], [3.0, 6.0], [4.0, 8.0]]
}

#[test]
fn scaler_learns_mean_and_population_std() {
    let mut scaler = StandardScaler::new();
    scaler.fit(four_by_two().view()).unwrap();
    let mean = scaler.mean().unwrap();
    let scale = scaler.scale().unwrap();
    assert_abs_diff_eq!(mean[0], 2.5, epsilon = 1e-12);
    assert_abs_diff_eq!(mean[1], 5.0, epsilon = 1e-12);
    assert_abs_diff_eq!(scale[0], 1.25f64.sqrt(), epsilon = 1e-12);
    assert_abs_diff_eq!(scale[1], 5.0f64.sqrt(), epsilon = 1e-12);
    assert_eq!(scaler.n_features(), Some(2));
    assert_eq!(scaler.n_samples_seen(), Some(4));
}

#[test]
fn scaler_transform_standardizes_columns() {
    let mut scaler = StandardScaler::new();
    let z = scaler.fit_transform(four_by_two().view()).unwrap();
    // (1 - 2.5) / sqrt(1.25) = -1.5 / 1.1180340 = -1.3416408; (2 - 2.5) / 1.1180340 = -0.4472136.
    // Column 1 is column 0 times 2, so it standardizes to the same values.
    let expected = [-1.341_640_8f32, -0.447_213_6, 0.447_213_6, 1.341_640_8];
    for (i, &e) in expected.iter().enumerate() {
        assert_abs_diff_eq!(z[[i, 0]], e, epsilon = 1e-6);
        assert_abs_diff_eq!(z[[i, 1]], e, epsilon = 1e-6);
    }
    // Standardized columns have mean 0 and population std 1.
    for col in z.columns() {
        let m = col.sum() / 4.0;
        let v = col.mapv(|x| (x - m) * (x - m)).sum() / 4.0;
        assert_abs_diff_eq!(m, 0.0, epsilon = 1e-6);
        assert_abs_diff_eq!(v, 1.0, epsilon = 1e-5);
    }
}

#[test]
fn scaler_zero_variance_column_gets_scale_one() {
    // Column 1 is constant 7: mean 7, variance 0 -> scale 1, so it becomes all zeros.
    let x = array![[1.0f32, 7.0], [3.0, 7.0]];
    let mut scaler = StandardScaler::new();
    let z = scaler.fit_transform(x.view()).unwrap();
    assert_eq!(scaler.scale().unwrap()[1], 1.0);
    assert_eq!(scaler.mean().unwrap()[1], 7.0);
    // Column 0: mean 2, std 1.
    assert_eq!(z, array![[-1.0, 0.0], [1.0, 0.0]]);
}

#[test]
fn scaler_width_mismatch_error_names_both_widths() {
    let mut scaler = StandardScaler::new();
    scaler.fit(four_by_two().view()).unwrap();
    let err = scaler.transform(Array2::zeros((3, 5)).view()).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("fitted on 2 columns, given 5"), "{msg}");
}

#[test]
fn scaler_transform_inplace_matches_transform() {
    let mut scaler = StandardScaler::new();
    scaler.fit(four_by_two().view()).unwrap();
    let expected = scaler.transform(four_by_two().view()).unwrap();
    let mut x = four_by_two();
    scaler.transform_inplace(x.view_mut()).unwrap();
    assert_eq!(x, expected);
}

#[test]
fn scaler_inverse_transform_restores_data() {
    let mut scaler = StandardScaler::new();
    let z = scaler.fit_transform(four_by_two().view()).unwrap();
    let x = scaler.inverse_transform(z.view()).unwrap();
    for (a, b) in x.iter().zip(four_by_two().iter()) {
        assert_abs_diff_eq!(*a, *b, epsilon = 1e-6);
    }
}

#[test]
fn scaler_fit_on_empty_input_is_error() {
    let err = StandardScaler::new()
        .fit(Array2::<f32>::zeros((0, 3)).view())
        .unwrap_err();
    assert!(matches!(err, Error::EmptyData(_)), "{err:?}");
}

#[test]
fn scaler_fit_rejects_nan_with_its_position() {
    let x = array![[1.0f32, 2.0], [3.0, f32::NAN]];
    let err = StandardScaler::new().fit(x.view()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFinite {
                row: 1,
                column: 1,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn scaler_transform_before_fit_is_error() {
    let err = StandardScaler::new()
        .transform(four_by_two().view())
        .unwrap_err();
    assert!(matches!(err, Error::InvalidState(_)), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// StratifiedKFold
// ---------------------------------------------------------------------------------------------

/// 208 labels like Sonar's, 111 of class 0 and 97 of class 1, interleaved: row i is class 0
/// when (7 i mod 208) < 111, and i -> 7 i mod 208 is a permutation of 0..208.
fn sonar_like_labels() -> Vec<usize> {
    (0..208)
        .map(|i| usize::from((i * 7) % 208 >= 111))
        .collect()
}

fn count(labels: &[usize], rows: &[usize], class: usize) -> usize {
    rows.iter().filter(|&&r| labels[r] == class).count()
}

#[test]
fn sonar_like_labels_have_111_and_97_rows() {
    let labels = sonar_like_labels();
    assert_eq!(labels.iter().filter(|&&l| l == 0).count(), 111);
    assert_eq!(labels.iter().filter(|&&l| l == 1).count(), 97);
}

#[test]
fn kfold_test_folds_keep_class_proportions_within_one_row() {
    let labels = sonar_like_labels();
    for kfold in [
        StratifiedKFold::new(10),
        StratifiedKFold::new(10).shuffled(7),
    ] {
        let folds = kfold.split(&labels).unwrap();
        assert_eq!(folds.len(), 10);
        for (_, test) in &folds {
            // Proportional counts: 111 / 10 = 11.1 and 97 / 10 = 9.7 rows per fold.
            let m = count(&labels, test, 0) as f64;
            let r = count(&labels, test, 1) as f64;
            assert!((m - 11.1).abs() < 1.0, "class 0: {m} rows in a fold");
            assert!((r - 9.7).abs() < 1.0, "class 1: {r} rows in a fold");
        }
    }
}

#[test]
fn kfold_fold_sizes_match_scikit_learn() {
    // Dealing the 208 class-sorted rows round robin: class 0 (rows 0..111) gives fold 0 twelve
    // rows and folds 1-9 eleven; class 1 (rows 111..208) starts at fold 1, so folds 1-7 get ten
    // and folds 0, 8, 9 get nine. Test fold sizes: 21 x 8, then 20, 20.
    let labels = sonar_like_labels();
    let folds = StratifiedKFold::new(10).split(&labels).unwrap();
    let sizes: Vec<usize> = folds.iter().map(|(_, test)| test.len()).collect();
    assert_eq!(sizes, vec![21, 21, 21, 21, 21, 21, 21, 21, 20, 20]);
    let class0: Vec<usize> = folds.iter().map(|(_, t)| count(&labels, t, 0)).collect();
    assert_eq!(class0, vec![12, 11, 11, 11, 11, 11, 11, 11, 11, 11]);
}

#[test]
fn kfold_every_row_is_tested_exactly_once() {
    let labels = sonar_like_labels();
    let folds = StratifiedKFold::new(10).shuffled(3).split(&labels).unwrap();
    let mut times_tested = vec![0; labels.len()];
    for (_, test) in &folds {
        for &row in test {
            times_tested[row] += 1;
        }
    }
    assert!(times_tested.iter().all(|&t| t == 1), "{times_tested:?}");
}

#[test]
fn kfold_train_and_test_are_sorted_disjoint_and_cover_all_rows() {
    let labels = sonar_like_labels();
    let folds = StratifiedKFold::new(5).shuffled(11).split(&labels).unwrap();
    for (train, test) in &folds {
        assert!(train.windows(2).all(|w| w[0] < w[1]), "train not sorted");
        assert!(test.windows(2).all(|w| w[0] < w[1]), "test not sorted");
        assert!(train.iter().all(|r| test.binary_search(r).is_err()));
        let mut all: Vec<usize> = train.iter().chain(test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..labels.len()).collect::<Vec<_>>());
    }
}

#[test]
fn kfold_without_shuffle_gives_each_fold_a_contiguous_block_per_class() {
    // 6 rows of class 5 then 3 of class 9, 3 folds: class 5 -> folds [0,0,1,1,2,2],
    // class 9 -> [0,1,2].
    let labels = [5, 5, 5, 5, 5, 5, 9, 9, 9];
    let folds = StratifiedKFold::new(3).test_folds(&labels).unwrap();
    assert_eq!(folds, vec![0, 0, 1, 1, 2, 2, 0, 1, 2]);
}

#[test]
fn kfold_same_seed_gives_same_folds() {
    let labels = sonar_like_labels();
    let a = StratifiedKFold::new(10)
        .shuffled(42)
        .split(&labels)
        .unwrap();
    let b = StratifiedKFold::new(10)
        .shuffled(42)
        .split(&labels)
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn kfold_different_seeds_give_different_folds() {
    let labels = sonar_like_labels();
    let a = StratifiedKFold::new(10).shuffled(1).split(&labels).unwrap();
    let b = StratifiedKFold::new(10).shuffled(2).split(&labels).unwrap();
    let unshuffled = StratifiedKFold::new(10).split(&labels).unwrap();
    assert_ne!(a, b);
    assert_ne!(a, unshuffled);
}

#[test]
fn kfold_class_smaller_than_n_splits_is_error_naming_it() {
    // Class 3 has 2 rows, fewer than the 3 folds.
    let labels = [0, 0, 0, 0, 3, 3];
    let err = StratifiedKFold::new(3).split(&labels).unwrap_err();
    assert!(matches!(err, Error::InvalidParameter { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("class 3 has only 2 rows"), "{msg}");
}

#[test]
fn kfold_n_splits_below_two_is_error() {
    let err = StratifiedKFold::new(1).split(&[0, 1, 0, 1]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("n_splits = 1"), "{msg}");
    assert!(msg.contains("at least 2"), "{msg}");
}

#[test]
fn kfold_n_splits_above_row_count_is_error() {
    let err = StratifiedKFold::new(5).split(&[0, 1, 0, 1]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("number of rows (4)"), "{msg}");
}

#[test]
fn kfold_empty_labels_is_error() {
    let err = StratifiedKFold::new(2).split(&[]).unwrap_err();
    assert!(matches!(err, Error::EmptyData(_)), "{err:?}");
}
