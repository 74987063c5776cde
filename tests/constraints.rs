//! Weight constraints against hand-computed values, their validation, and how a model applies
//! them: after every optimizer update, to the tensor they are attached to only, without touching
//! the momentum buffer.
//!
//! Keras's formulas (epsilon = 1e-7), with `n` the L2 norm of a slice along `axis`:
//! - MaxNorm(c):  `w · clip(n, 0, c) / (1e-7 + n)`
//! - UnitNorm:    `w / (1e-7 + n)`
//! - NonNeg:      `max(w, 0)`
//! - MinMaxNorm:  `w · (rate · clip(n, lo, hi) + (1 - rate) · n) / (1e-7 + n)`

use ndarray::{Array2, ArrayD, Axis, array};
use ndnet::constraints::{Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm};
use ndnet::prelude::*;

fn applied(c: &dyn Constraint, mut w: Array2<f32>) -> Array2<f32> {
    c.validate().unwrap();
    c.apply(w.view_mut()).unwrap();
    w
}

fn assert_all_close(actual: &Array2<f32>, expected: &Array2<f32>, tol: f32) {
    assert_eq!(actual.dim(), expected.dim());
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() <= tol, "{actual} vs {expected}");
    }
}

fn column_norms(w: &ArrayD<f32>) -> Vec<f32> {
    w.view()
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap()
        .axis_iter(Axis(1))
        .map(|c| c.iter().map(|v| v * v).sum::<f32>().sqrt())
        .collect()
}

fn l2(w: &ArrayD<f32>) -> f32 {
    w.iter().map(|v| v * v).sum::<f32>().sqrt()
}

fn invalid(c: &dyn Constraint) -> String {
    c.validate().expect_err("must be rejected").to_string()
}

// ---------------------------------------------------------------------------------------------
// MaxNorm
// ---------------------------------------------------------------------------------------------

#[test]
fn max_norm_scales_a_column_above_the_max_down_to_the_max() {
    // Column (3, 4) has norm 5 > 2: factor 2 / (5 + 1e-7) = 0.4 -> (1.2, 1.6), norm 2.
    let w = applied(&MaxNorm::new(2.0), array![[3.0f32], [4.0]]);
    assert_all_close(&w, &array![[1.2f32], [1.6]], 1e-6);
}

#[test]
fn max_norm_shrinks_a_column_under_the_max_by_n_over_n_plus_epsilon() {
    // Column (6e-4, 8e-4) has norm 1e-3 < 2: factor 1e-3 / (1e-3 + 1e-7) = 1 / 1.0001
    // = 0.99990001 -> (5.9994001e-4, 7.9992001e-4): a shrink of 6e-8 and 8e-8, large enough to
    // see in f32. Tolerance 2e-10: a few f32 roundings (6e-8 relative each) of values < 1e-3.
    let w = applied(&MaxNorm::new(2.0), array![[6e-4f32], [8e-4]]);
    assert_all_close(&w, &array![[5.9994e-4f32], [7.9992e-4]], 2e-10);
    assert!(w[[0, 0]] < 6e-4 && w[[1, 0]] < 8e-4);
}

#[test]
fn max_norm_leaves_a_zero_column_zero() {
    // n = 0: factor 0 / (1e-7 + 0) = 0, and 0 · 0 = 0 (no 0/0).
    let w = applied(&MaxNorm::new(2.0), array![[0.0f32, 3.0], [0.0, 4.0]]);
    assert_eq!(w.column(0).to_vec(), vec![0.0, 0.0]);
}

#[test]
fn max_norm_treats_each_column_independently() {
    // Columns with norms 5, 1e-3 and 0 in one kernel: (1.2, 1.6), (5.9994e-4, 7.9992e-4), 0.
    let w = applied(
        &MaxNorm::new(2.0),
        array![[3.0f32, 6e-4, 0.0], [4.0, 8e-4, 0.0]],
    );
    assert_all_close(
        &w,
        &array![[1.2f32, 5.9994e-4, 0.0], [1.6, 7.9992e-4, 0.0]],
        1e-6,
    );
}

#[test]
fn max_norm_axis_1_takes_the_norm_of_each_row() {
    // Row (3, 4): norm 5 > 1 -> (0.6, 0.8). Row (0.3, 0.4): norm 0.5 < 1 ->
    // factor 0.5 / (0.5 + 1e-7) = 0.9999998 -> (0.29999994, 0.39999992).
    let c = MaxNorm {
        max_value: 1.0,
        axis: 1,
    };
    let w = applied(&c, array![[3.0f32, 4.0], [0.3, 0.4]]);
    assert_all_close(
        &w,
        &array![[0.6f32, 0.8], [0.299_999_94, 0.399_999_92]],
        1e-6,
    );
}

#[test]
fn max_norm_axis_0_of_the_same_matrix_differs_from_axis_1() {
    // Columns (3, 0.3) and (4, 0.4): norms 3.01496 and 4.01995 > 1, scaled to norm 1:
    // (0.99504, 0.099504) and (0.99504, 0.099504).
    let w = applied(&MaxNorm::new(1.0), array![[3.0f32, 4.0], [0.3, 0.4]]);
    assert_all_close(
        &w,
        &array![[0.995_037_2f32, 0.995_037_2], [0.099_503_72, 0.099_503_72]],
        1e-6,
    );
}

#[test]
fn max_norm_describes_itself_with_value_and_axis() {
    assert_eq!(MaxNorm::new(3.0).describe(), "MaxNorm(3, axis=0)");
}

// ---------------------------------------------------------------------------------------------
// UnitNorm, NonNeg, MinMaxNorm
// ---------------------------------------------------------------------------------------------

#[test]
fn unit_norm_scales_every_column_to_norm_one() {
    // (3, 4) / (5 + 1e-7) = (0.6, 0.8); (0.3, 0.4) / (0.5 + 1e-7) = (0.59999988, 0.79999984).
    let w = applied(&UnitNorm::default(), array![[3.0f32, 0.3], [4.0, 0.4]]);
    assert_all_close(&w, &array![[0.6f32, 0.6], [0.8, 0.8]], 1e-6);
}

#[test]
fn unit_norm_leaves_a_zero_column_zero() {
    let w = applied(&UnitNorm::default(), array![[0.0f32, 1.0], [0.0, 1.0]]);
    assert_eq!(w.column(0).to_vec(), vec![0.0, 0.0]);
}

#[test]
fn unit_norm_axis_1_normalizes_rows() {
    // Rows (3, 4) and (0, 2): (0.6, 0.8) and (0, 1).
    let w = applied(&UnitNorm { axis: 1 }, array![[3.0f32, 4.0], [0.0, 2.0]]);
    assert_all_close(&w, &array![[0.6f32, 0.8], [0.0, 1.0]], 1e-6);
}

#[test]
fn non_neg_zeroes_negative_weights_only() {
    let w = applied(&NonNeg, array![[-1.0f32, 0.0], [2.0, -0.5]]);
    assert_eq!(w, array![[0.0f32, 0.0], [2.0, 0.0]]);
}

#[test]
fn min_max_norm_with_rate_one_clips_norms_into_the_range() {
    // [lo, hi] = [1, 2]. Columns (3, 4): n = 5 -> ×2/5 -> (1.2, 1.6); (0.3, 0.4): n = 0.5 ->
    // ×1/0.5 = ×2 -> (0.6, 0.8); (0.9, 1.2): n = 1.5 in range -> ×1.5/(1.5 + 1e-7) ≈ unchanged.
    let c = MinMaxNorm {
        min_value: 1.0,
        max_value: 2.0,
        rate: 1.0,
        axis: 0,
    };
    let w = applied(&c, array![[3.0f32, 0.3, 0.9], [4.0, 0.4, 1.2]]);
    assert_all_close(&w, &array![[1.2f32, 0.6, 0.9], [1.6, 0.8, 1.2]], 1e-6);
}

#[test]
fn min_max_norm_with_rate_one_half_moves_halfway() {
    // n = 5: d = 0.5·2 + 0.5·5 = 3.5 -> ×0.7 -> (2.1, 2.8).
    // n = 0.5: d = 0.5·1 + 0.5·0.5 = 0.75 -> ×1.5 -> (0.45, 0.6).
    let c = MinMaxNorm {
        min_value: 1.0,
        max_value: 2.0,
        rate: 0.5,
        axis: 0,
    };
    let w = applied(&c, array![[3.0f32, 0.3], [4.0, 0.4]]);
    assert_all_close(&w, &array![[2.1f32, 0.45], [2.8, 0.6]], 1e-6);
}

#[test]
fn min_max_norm_defaults_are_keras_0_1_rate_1_axis_0() {
    let c = MinMaxNorm::default();
    assert_eq!(
        (c.min_value, c.max_value, c.rate, c.axis),
        (0.0, 1.0, 1.0, 0)
    );
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

#[test]
fn max_norm_rejects_zero_negative_and_nan_max_value() {
    for c in [0.0f32, -1.0, f32::NAN, f32::INFINITY] {
        let msg = invalid(&MaxNorm::new(c));
        assert!(
            msg.contains("MaxNorm") && msg.contains("max_value"),
            "{msg}"
        );
    }
}

#[test]
fn max_norm_rejects_axis_2() {
    let msg = invalid(&MaxNorm {
        max_value: 3.0,
        axis: 2,
    });
    assert!(msg.contains("axis"), "{msg}");
}

#[test]
fn unit_norm_rejects_axis_2() {
    assert!(invalid(&UnitNorm { axis: 2 }).contains("axis"));
}

#[test]
fn min_max_norm_rejects_min_above_max_and_negative_min() {
    for (lo, hi) in [(2.0f32, 1.0f32), (-1.0, 1.0), (0.0, f32::NAN)] {
        let msg = invalid(&MinMaxNorm {
            min_value: lo,
            max_value: hi,
            ..Default::default()
        });
        assert!(msg.contains("MinMaxNorm") && msg.contains("range"), "{msg}");
    }
}

#[test]
fn min_max_norm_rejects_rate_outside_zero_one() {
    for rate in [1.5f32, -0.1, f32::NAN] {
        let msg = invalid(&MinMaxNorm {
            rate,
            ..Default::default()
        });
        assert!(msg.contains("rate"), "{msg}");
    }
}

#[test]
fn an_invalid_constraint_is_rejected_when_the_layer_is_added() {
    let mut model = Sequential::new(3).with_seed(0);
    let err = model
        .add(Dense::new(2).kernel_constraint(MaxNorm::new(0.0)))
        .unwrap_err();
    assert!(err.to_string().contains("max_value"), "{err}");
    assert!(model.layers().is_empty());
}

// ---------------------------------------------------------------------------------------------
// In a model
// ---------------------------------------------------------------------------------------------

/// 5 -> Dense(6, MaxNorm 2) -> Dense(3, MaxNorm 2) -> Dense(1), all linear, MSE against
/// targets of 100, so one step with a large learning rate moves every weight far.
fn constrained_model(lr: f32) -> Sequential {
    let mut model = Sequential::new(5).with_seed(3);
    model
        .add(Dense::new(6).kernel_constraint(MaxNorm::new(2.0)))
        .unwrap();
    model
        .add(Dense::new(3).kernel_constraint(MaxNorm::new(2.0)))
        .unwrap();
    model.add(Dense::new(1)).unwrap();
    model.compile(MeanSquaredError, Sgd::new(lr)).unwrap();
    model
}

fn regression_data() -> (Array2<f32>, Array2<f32>) {
    let x = Array2::from_shape_fn((8, 5), |(i, j)| ((i * 5 + j) as f32 * 0.37).sin());
    (x, Array2::from_elem((8, 1), 100.0))
}

#[test]
fn after_a_huge_step_every_constrained_kernel_column_has_norm_at_most_max_value() {
    let mut model = constrained_model(10.0);
    let (x, y) = regression_data();
    model.train_on_batch(&x, &y).unwrap();
    let w = model.get_weights();
    let mut at_the_max = 0;
    for t in [0, 2] {
        for n in column_norms(&w[t]) {
            assert!(n <= 2.0 * (1.0 + 1e-6), "column norm {n} > 2");
            if n > 1.99 {
                at_the_max += 1;
            }
        }
    }
    // Not vacuous: the step was large enough that columns had to be projected.
    assert!(at_the_max > 0);
}

#[test]
fn an_unconstrained_kernel_is_left_free() {
    let mut model = constrained_model(10.0);
    let (x, y) = regression_data();
    model.train_on_batch(&x, &y).unwrap();
    // The output layer has no constraint: its kernel grows well past 2.
    assert!(column_norms(&model.get_weights()[4])[0] > 2.0);
}

#[test]
fn the_bias_is_not_constrained_when_only_the_kernel_constraint_is_set() {
    let mut model = constrained_model(10.0);
    let (x, y) = regression_data();
    model.train_on_batch(&x, &y).unwrap();
    let w = model.get_weights();
    // Biases of the two constrained layers: norms far above 2.
    assert!(l2(&w[1]) > 2.0, "bias norm {}", l2(&w[1]));
    assert!(l2(&w[3]) > 2.0, "bias norm {}", l2(&w[3]));
}

#[test]
fn a_bias_constraint_constrains_the_whole_bias_vector() {
    // A bias is seen as (units, 1): with axis 0 its whole L2 norm is limited.
    let mut model = Sequential::new(5).with_seed(3);
    model
        .add(Dense::new(6).bias_constraint(MaxNorm::new(1.0)))
        .unwrap();
    model.add(Dense::new(1)).unwrap();
    model.compile(MeanSquaredError, Sgd::new(10.0)).unwrap();
    let (x, y) = regression_data();
    model.train_on_batch(&x, &y).unwrap();
    let w = model.get_weights();
    let n = l2(&w[1]);
    assert!(n <= 1.0 + 1e-6 && n > 0.99, "bias norm {n}");
}

#[test]
fn the_constraint_is_not_applied_at_initialization() {
    // Keras applies constraints after updates only: a kernel initialized to 1 keeps norm 1
    // under MaxNorm(0.5) until the first step.
    let mut model = Sequential::new(1).with_seed(0);
    model
        .add(
            Dense::new(1)
                .use_bias(false)
                .kernel_initializer(Initializer::Ones)
                .kernel_constraint(MaxNorm::new(0.5)),
        )
        .unwrap();
    assert_eq!(model.get_weights()[0][[0, 0]], 1.0);
}

/// One linear unit, no bias, kernel 1, MaxNorm(0.5), MSE, SGD(lr 0.1, momentum 0.9).
fn one_unit_with_momentum() -> Sequential {
    let mut model = Sequential::new(1).with_seed(0);
    model
        .add(
            Dense::new(1)
                .use_bias(false)
                .kernel_initializer(Initializer::Ones)
                .kernel_constraint(MaxNorm::new(0.5)),
        )
        .unwrap();
    model
        .compile(MeanSquaredError, Sgd::new(0.1).momentum(0.9))
        .unwrap();
    model
}

#[test]
fn the_momentum_buffer_is_not_projected() {
    // x = 1, y = 0, so p = w and dL/dw = 2 (w - 0) = 2w.
    // Step 1: g = 2; v1 = -0.1·2 = -0.2; w = 1 - 0.2 = 0.8; n = 0.8 > 0.5:
    //         w1 = 0.8 · 0.5 / (0.8 + 1e-7) = 0.49999994.
    // Step 2: g = 2·0.5 = 1; v2 = 0.9·(-0.2) - 0.1·1 = -0.28; w = 0.5 - 0.28 = 0.22; n < 0.5:
    //         w2 = 0.22 · 0.22 / (0.22 + 1e-7) = 0.2199999.
    // Step 3: g = 0.44; v3 = 0.9·(-0.28) - 0.044 = -0.296; w = 0.22 - 0.296 = -0.076:
    //         w3 = -0.076 · 0.076 / (0.076 + 1e-7) = -0.0759999.
    // Had the velocity been projected with the weight (×0.625 at step 1): v1 = -0.125,
    // v2 = -0.1125 - 0.1 = -0.2125, w2 = 0.2875.
    let mut model = one_unit_with_momentum();
    let (x, y) = (array![[1.0f32]], array![[0.0f32]]);
    let mut ws = Vec::new();
    for _ in 0..3 {
        model.train_on_batch(&x, &y).unwrap();
        ws.push(model.get_weights()[0][[0, 0]]);
    }
    let expected = [0.499_999_94f32, 0.219_999_9, -0.075_999_9];
    for (w, e) in ws.iter().zip(expected) {
        assert!((w - e).abs() < 1e-6, "{ws:?} vs {expected:?}");
    }
}

#[test]
fn max_norm_projection_happens_after_the_update_not_before() {
    // Step 1 above: had the constraint run before the update, w would be clipped from 1 to
    // 0.5 first and then moved by the full step to 0.5 - 0.2 = 0.3. After the update it is
    // 0.8 projected to 0.5.
    let mut model = one_unit_with_momentum();
    model
        .train_on_batch(&array![[1.0f32]], &array![[0.0f32]])
        .unwrap();
    let w = model.get_weights()[0][[0, 0]];
    assert!((w - 0.5).abs() < 1e-6, "{w}");
}
