//! Initializers draw `f64` samples in the tensor's logical order and round each once to `f32`:
//! checked against the same draws made by hand with `rand_distr`, on a tensor larger than the
//! initializers' draw chunk (4,096 values), transposed as well as standard.

use ndarray::Array2;
use ndnet::init::Initializer;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand_distr::{Distribution, Normal, Uniform};

const TRUNCATED_STD: f64 = 0.879_625_661_034_239_8;

fn filled(init: Initializer, rows: usize, cols: usize, transposed: bool) -> Array2<f32> {
    let mut rng = SmallRng::seed_from_u64(11);
    let mut w = Array2::<f32>::zeros((rows, cols));
    if transposed {
        init.fill(w.view_mut().reversed_axes(), rows, cols, &mut rng);
    } else {
        init.fill(w.view_mut(), rows, cols, &mut rng);
    }
    w
}

/// The reference: one draw per element in logical order of a `(rows, cols)` tensor.
fn by_hand(rows: usize, cols: usize, mut draw: impl FnMut(&mut SmallRng) -> f64) -> Array2<f32> {
    let mut rng = SmallRng::seed_from_u64(11);
    Array2::from_shape_fn((rows, cols), |_| draw(&mut rng) as f32)
}

#[test]
fn uniform_initializers_draw_f64_in_logical_order() {
    let (rows, cols) = (70, 70); // 4,900 values: more than one draw chunk
    let limit = (6.0f64 / (rows + cols) as f64).sqrt();
    let u = Uniform::new(-limit, limit).unwrap();
    let expected = by_hand(rows, cols, |r| u.sample(r));
    assert_eq!(
        filled(Initializer::GlorotUniform, rows, cols, false),
        expected
    );
    // A transposed view is filled in its own logical order.
    let t = filled(Initializer::GlorotUniform, rows, cols, true);
    assert_eq!(t.t(), by_hand(cols, rows, |r| u.sample(r)));
}

#[test]
fn normal_initializers_draw_f64_in_logical_order() {
    let (rows, cols) = (90, 50);
    let unit = Normal::new(0.0f64, 1.0).unwrap();
    let expected = by_hand(rows, cols, |r| 0.5 + f64::from(0.05f32) * unit.sample(r));
    let init = Initializer::RandomNormal {
        mean: 0.5,
        stddev: 0.05,
    };
    assert_eq!(filled(init, rows, cols, false), expected);
    // Truncated at two standard deviations by drawing again.
    let std = (1.0 / rows as f64).sqrt() / TRUNCATED_STD;
    let expected = by_hand(rows, cols, |r| {
        let mut z: f64 = unit.sample(r);
        while z.abs() > 2.0 {
            z = unit.sample(r);
        }
        std * z
    });
    assert_eq!(
        filled(Initializer::LecunNormal, rows, cols, false),
        expected
    );
}
