//! The Keras-style summary table of a model.

use std::fmt;

use super::Sequential;

impl Sequential {
    /// Prints the [summary table](fmt::Display) to stdout.
    pub fn summary(&self) {
        println!("{self}");
    }
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The Keras-style summary table: layer name and type, output shape, parameter count, total.
impl fmt::Display for Sequential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = "_".repeat(65);
        writeln!(f, "Model: \"sequential\"")?;
        writeln!(f, "{rule}")?;
        writeln!(
            f,
            " {:<27} {:<25} {:<10}",
            "Layer (type)", "Output Shape", "Param #"
        )?;
        writeln!(f, "{}", "=".repeat(65))?;
        for (i, layer) in self.layers.iter().enumerate() {
            let label = format!("{} ({})", layer.name(), layer.kind());
            let shape = format!("(None, {})", layer.output_dim());
            writeln!(
                f,
                " {label:<27} {shape:<25} {:<10}",
                thousands(layer.param_count())
            )?;
            if i + 1 < self.layers.len() {
                writeln!(f)?;
            }
        }
        writeln!(f, "{}", "=".repeat(65))?;
        let total = thousands(self.param_count());
        writeln!(f, "Total params: {total}")?;
        writeln!(f, "Trainable params: {total}")?;
        writeln!(f, "Non-trainable params: 0")?;
        write!(f, "{rule}")
    }
}
