//! Writes a few valid model files into the directory given as the first argument, as the
//! starting corpus of the `load_model` fuzz target.

use ndarray::Array2;
use ndnet::prelude::*;

fn main() -> ndnet::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "corpus/load_model".into());
    std::fs::create_dir_all(&dir).map_err(|e| Error::Io {
        path: dir.clone().into(),
        source: e,
    })?;

    let mut all = Sequential::new(3).with_seed(1);
    all.add(GaussianNoise::new(0.1))?;
    all.add(
        Dense::new(4)
            .activation(Activation::Selu)
            .kernel_initializer(Initializer::LecunNormal)
            .kernel_constraint(MaxNorm::new(3.0))
            .kernel_regularizer(Regularizer::l1_l2(0.01, 0.01)),
    )?;
    all.add(AlphaDropout::new(0.1))?;
    all.add(Dense::new(3).activation(Activation::Relu))?;
    all.add(GaussianDropout::new(0.2))?;
    all.add(Dropout::new(0.2))?;
    all.add(Dense::new(2).activation(Activation::Softmax))?;
    all.compile(CategoricalCrossentropy, Adam::new(0.01))?;
    let x = Array2::from_shape_fn((4, 3), |(i, j)| i as f32 * 0.2 - j as f32 * 0.1);
    let y = Array2::from_shape_fn((4, 2), |(i, j)| ((i % 2) == j) as u8 as f32);
    all.train_on_batch(&x, &y)?;
    all.save(format!("{dir}/all_layers.safetensors"))?;
    all.save_without_optimizer(format!("{dir}/no_optimizer.safetensors"))?;

    let mut small = Sequential::new(2).with_seed(2);
    small.add(Dense::new(1).activation(Activation::Sigmoid))?;
    small.compile(BinaryCrossentropy, Sgd::new(0.1).momentum(0.9))?;
    small.train_on_batch(&Array2::<f32>::ones((2, 2)), &Array2::<f32>::ones((2, 1)))?;
    small.save(format!("{dir}/small_sgd.safetensors"))?;
    Ok(())
}
