//! Element-wise loops over 2-D arrays that run over plain slices when the arrays are contiguous
//! (the common case: the model's buffers and weights), and fall back to `Zip` otherwise.
//! Slices let the compiler vectorize without ndarray's per-call layout dispatch, which matters
//! for the small arrays of a sonar-sized network. The slice loops are compiled three times
//! (AVX-512, AVX2+FMA, baseline) and the one the matrix product uses runs (see
//! [`path`](crate::kernels::gemm::path): the widest the CPU supports, or the baseline when
//! `NDNET_PORTABLE` is set). The loops use no fused multiply-add, so the three give the same
//! results.
//!
//! The operands must have the same shape: every function asserts it (in release builds too,
//! O(1)) rather than zipping over the shorter one. Public callers check shapes first and
//! return an error, so the assertions only catch a bug inside the crate.

use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::{ArrayView2, ArrayViewMut2, Zip};

static FLUSH_SUBNORMALS: AtomicBool = AtomicBool::new(true);

/// Turns the flushing of subnormal results to zero on or off, for every model in the process
/// (on by default, as TensorFlow's CPU kernels, and so Keras, run with flush-to-zero and
/// denormals-are-zero).
///
/// A subnormal `f32` is a non-zero value of magnitude below `f32::MIN_POSITIVE` (about
/// 1.18·10⁻³⁸). Training makes them: the momentum of a weight whose gradient stays 0 (a dead
/// ReLU's) decays geometrically until it is subnormal, and then stays subnormal for good (with
/// momentum 0.9 it ends at `4 · 2⁻¹⁴⁹`: `0.9 · 4 · 2⁻¹⁴⁹` rounds back to it); Adam's and
/// RMSprop's moments decay the same way. Some x86 cores compute on subnormal operands through
/// microcode assists, many times slower than on normal ones (the AMD EPYC of BENCHMARKS.md
/// showed no such cost).
///
/// When on, the values ndnet's element-wise passes write are flushed: a result `x` with
/// `0 < |x| < f32::MIN_POSITIVE` becomes a zero of the same sign, in
/// - every parameter and state value an optimizer of this crate writes (SGD, RMSprop, Adam);
/// - the activation's output in [`Dense`](crate::layers::Dense) and
///   [`Activation::apply_with_bias`](crate::Activation::apply_with_bias), and its gradient in
///   [`Activation::backward`](crate::Activation::backward) (the operands of the next products).
///
/// This is done in software, not by setting the processor's flush-to-zero and
/// denormals-are-zero control bits: Rust's compiler assumes the default floating-point
/// environment, so changing those bits while Rust code runs is undefined behavior. Other values
/// (the products' sums, the losses) can still be subnormal. Results are bitwise the same from
/// run to run and for any number of threads either way; the two settings give different
/// results only once a value is subnormal (and then possibly in what is computed from it).
///
/// ```
/// use ndnet::Activation;
/// use ndnet::ndarray::array;
/// let tiny = f32::MIN_POSITIVE / 4.0; // subnormal
/// let mut z = array![[tiny, -tiny, 1.0]];
/// Activation::Linear.apply(z.view_mut());
/// assert_eq!(z, array![[0.0, -0.0, 1.0]]);
/// assert!(z[[0, 1]].is_sign_negative());
/// ndnet::set_flush_subnormals(false);
/// let mut z = array![[tiny]];
/// Activation::Linear.apply(z.view_mut());
/// assert_eq!(z[[0, 0]], tiny);
/// ndnet::set_flush_subnormals(true);
/// ```
pub fn set_flush_subnormals(on: bool) {
    FLUSH_SUBNORMALS.store(on, Ordering::Relaxed);
}

/// Whether subnormal results are flushed to zero (see [`set_flush_subnormals`]).
pub fn flush_subnormals() -> bool {
    FLUSH_SUBNORMALS.load(Ordering::Relaxed)
}

/// `x`, or a zero of its sign when `on` and `x` is subnormal. Branch-free (compares and a
/// select), so the loops that call it stay vectorized; `on` is read once per call of the loop
/// ([`flush_subnormals`]). NaN and infinities pass unchanged.
#[inline(always)]
pub(crate) fn flushed(on: bool, x: f32) -> f32 {
    if on && x.abs() < f32::MIN_POSITIVE {
        f32::from_bits(x.to_bits() & 0x8000_0000)
    } else {
        x
    }
}

/// Defines `$name`, a slice loop (generic over one closure type, or not) compiled for AVX-512,
/// AVX2+FMA and the baseline target, dispatching at run time.
macro_rules! multiversion {
    ($(#[$doc:meta])* $vis:vis fn $name:ident $(<$F:ident: $bound:path>)?
        ($($arg:ident: $ty:ty),*) $(-> $ret:ty)? $body:block) => {
        $(#[$doc])*
        #[inline]
        $vis fn $name $(<$F: $bound>)? ($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512 $(<$F: $bound>)? ($($arg: $ty),*) $(-> $ret)? $body
                #[target_feature(enable = "avx2,fma")]
                fn avx2 $(<$F: $bound>)? ($($arg: $ty),*) $(-> $ret)? $body
                match crate::kernels::gemm::path() {
                    crate::kernels::gemm::Path::Avx512 => {
                        // SAFETY: `path()` returns Avx512 only when the CPU supports AVX-512F.
                        return unsafe { avx512($($arg),*) };
                    }
                    crate::kernels::gemm::Path::Avx2 => {
                        // SAFETY: `path()` returns Avx2 only when the CPU supports AVX2 and FMA.
                        return unsafe { avx2($($arg),*) };
                    }
                    crate::kernels::gemm::Path::Portable => {}
                }
            }
            $body
        }
    };
}

multiversion! {
    /// `f(a[i], b[i])` over slices of equal length.
    pub(crate) fn zip_slices<F: Fn(&mut f32, f32)>(a: &mut [f32], b: &[f32], f: F) {
        assert_eq!(a.len(), b.len(), "zip_slices: lengths differ");
        a.iter_mut().zip(b).for_each(|(x, &y)| f(x, y));
    }
}

multiversion! {
    /// `f(a[i], b[i], c[i])` over slices of equal length.
    fn slices3<F: Fn(&mut f32, f32, f32)>(a: &mut [f32], b: &[f32], c: &[f32], f: F) {
        a.iter_mut()
            .zip(b.iter().zip(c))
            .for_each(|(x, (&y, &z))| f(x, y, z));
    }
}

multiversion! {
    /// `f(a[i], b[i], s[i])` with a mutable state slice.
    fn slices_state<F: Fn(&mut f32, f32, &mut f32)>(a: &mut [f32], b: &[f32], s: &mut [f32], f: F) {
        a.iter_mut()
            .zip(b.iter().zip(s))
            .for_each(|(x, (&y, z))| f(x, y, z));
    }
}

multiversion! {
    /// `f(a[i], b[i], s[i], t[i])` with two mutable state slices.
    fn slices_state2<F: Fn(&mut f32, f32, &mut f32, &mut f32)>(
        a: &mut [f32],
        b: &[f32],
        s: &mut [f32],
        t: &mut [f32],
        f: F
    ) {
        a.iter_mut()
            .zip(b.iter().zip(s.iter_mut().zip(t)))
            .for_each(|(x, (&y, (z, w)))| f(x, y, z, w));
    }
}

multiversion! {
    /// `f(a[i])` over a slice.
    fn slices1<F: Fn(&mut f32)>(a: &mut [f32], f: F) {
        a.iter_mut().for_each(f);
    }
}

/// `f(a)` for each element.
#[inline]
pub(crate) fn map_inplace(mut a: ArrayViewMut2<f32>, f: impl Fn(&mut f32)) {
    match a.as_slice_mut() {
        Some(s) => slices1(s, f),
        None => a.map_inplace(f),
    }
}

/// `f(a, b)` for each pair of elements.
#[inline]
pub(crate) fn zip2(mut a: ArrayViewMut2<f32>, b: ArrayView2<f32>, f: impl Fn(&mut f32, f32)) {
    assert_eq!(a.dim(), b.dim(), "zip2: shapes differ");
    if let (Some(sa), Some(sb)) = (a.as_slice_mut(), b.as_slice()) {
        zip_slices(sa, sb, f);
    } else {
        Zip::from(a).and(b).for_each(|x, &y| f(x, y));
    }
}

/// [`zip2`], then `a` [`flushed`] when [`flush_subnormals`] is on: for the passes whose result
/// an optimizer keeps or a product reads next.
#[inline]
pub(crate) fn zip2_flushed(a: ArrayViewMut2<f32>, b: ArrayView2<f32>, f: impl Fn(&mut f32, f32)) {
    let on = flush_subnormals();
    zip2(a, b, |x, y| {
        f(x, y);
        *x = flushed(on, *x);
    });
}

/// `f(a, b, c)` for each triple of elements.
#[inline]
pub(crate) fn zip3(
    mut a: ArrayViewMut2<f32>,
    b: ArrayView2<f32>,
    c: ArrayView2<f32>,
    f: impl Fn(&mut f32, f32, f32),
) {
    assert!(
        a.dim() == b.dim() && a.dim() == c.dim(),
        "zip3: shapes differ"
    );
    if let (Some(sa), Some(sb), Some(sc)) = (a.as_slice_mut(), b.as_slice(), c.as_slice()) {
        slices3(sa, sb, sc, f);
    } else {
        Zip::from(a).and(b).and(c).for_each(|x, &y, &z| f(x, y, z));
    }
}

/// Fewest elements of an optimizer update that is split over the product threads.
const SPLIT_MIN_LEN: usize = 1 << 18;

/// The block length when an update of `len` elements is split over the product threads
/// ([`crate::set_product_threads`]), a multiple of 64; `None` to run it on the calling thread.
/// Each element is updated alone, so a split changes no result.
fn split_len(len: usize) -> Option<(usize, usize)> {
    let threads = super::threads::product_threads();
    (threads > 1 && len >= SPLIT_MIN_LEN)
        .then(|| (threads, len.div_ceil(threads).next_multiple_of(64)))
}

/// `f(a, b, s)` for each element of a parameter `a`, its gradient `b` and an optimizer state `s`
/// (large contiguous ones split over the product threads), then `a` and `s` [`flushed`] when
/// [`flush_subnormals`] is on.
#[inline]
pub(crate) fn zip_state(
    mut a: ArrayViewMut2<f32>,
    b: ArrayView2<f32>,
    mut s: ArrayViewMut2<f32>,
    f: impl Fn(&mut f32, f32, &mut f32) + Sync,
) {
    let on = flush_subnormals();
    let f = |w: &mut f32, g: f32, v: &mut f32| {
        f(w, g, v);
        *w = flushed(on, *w);
        *v = flushed(on, *v);
    };
    assert!(
        a.dim() == b.dim() && a.dim() == s.dim(),
        "zip_state: shapes differ"
    );
    if let (Some(sa), Some(sb), Some(ss)) = (a.as_slice_mut(), b.as_slice(), s.as_slice_mut()) {
        if let Some((threads, len)) = split_len(sa.len()) {
            let blocks = sa
                .chunks_mut(len)
                .zip(sb.chunks(len))
                .zip(ss.chunks_mut(len));
            super::threads::for_each(threads, blocks, |((a, b), s)| slices_state(a, b, s, f));
            return;
        }
        slices_state(sa, sb, ss, f);
    } else {
        Zip::from(a).and(b).and(s).for_each(|x, &y, z| f(x, y, z));
    }
}

/// `f(a, b, s, t)` with two optimizer states, then `a`, `s` and `t` [`flushed`] when
/// [`flush_subnormals`] is on.
#[inline]
pub(crate) fn zip_state2(
    mut a: ArrayViewMut2<f32>,
    b: ArrayView2<f32>,
    mut s: ArrayViewMut2<f32>,
    mut t: ArrayViewMut2<f32>,
    f: impl Fn(&mut f32, f32, &mut f32, &mut f32) + Sync,
) {
    let on = flush_subnormals();
    let f = |w: &mut f32, g: f32, m: &mut f32, v: &mut f32| {
        f(w, g, m, v);
        *w = flushed(on, *w);
        *m = flushed(on, *m);
        *v = flushed(on, *v);
    };
    assert!(
        a.dim() == b.dim() && a.dim() == s.dim() && a.dim() == t.dim(),
        "zip_state2: shapes differ"
    );
    if let (Some(sa), Some(sb), Some(ss), Some(st)) = (
        a.as_slice_mut(),
        b.as_slice(),
        s.as_slice_mut(),
        t.as_slice_mut(),
    ) {
        if let Some((threads, len)) = split_len(sa.len()) {
            let blocks = sa
                .chunks_mut(len)
                .zip(sb.chunks(len))
                .zip(ss.chunks_mut(len))
                .zip(st.chunks_mut(len));
            super::threads::for_each(threads, blocks, |(((a, b), s), t)| {
                slices_state2(a, b, s, t, f)
            });
            return;
        }
        slices_state2(sa, sb, ss, st, f);
    } else {
        Zip::from(a)
            .and(b)
            .and(s)
            .and(t)
            .for_each(|x, &y, z, w| f(x, y, z, w));
    }
}

multiversion! {
    /// Whether every element of a slice is finite. NaN and the infinities are the values whose
    /// exponent bits are all ones, so with the sign bit cleared their bits are the largest: one
    /// maximum over the slice, no early exit, so the loop vectorizes.
    pub(crate) fn finite_slice(s: &[f32]) -> bool {
        s.iter()
            .fold(0u32, |m, &v| m.max(v.to_bits() & 0x7fff_ffff))
            < 0x7f80_0000
    }
}

/// `dst = src` (same shape): one `memcpy` when both are contiguous in standard order.
pub(crate) fn copy_into(mut dst: ArrayViewMut2<f32>, src: ArrayView2<f32>) {
    assert_eq!(dst.dim(), src.dim(), "copy_into: shapes differ");
    match (dst.as_slice_mut(), src.as_slice()) {
        (Some(d), Some(s)) => d.copy_from_slice(s),
        _ => dst.assign(&src),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finite_slice_finds_every_non_finite_value_at_every_position() {
        let finite = [
            0.0,
            -0.0,
            1.0,
            -f32::MAX,
            f32::MAX,
            f32::MIN_POSITIVE / 2.0,
            -1e-45,
        ];
        for len in [0usize, 1, 15, 16, 17, 33, 100] {
            let base: Vec<f32> = (0..len).map(|i| finite[i % finite.len()]).collect();
            assert!(finite_slice(&base), "len {len}");
            for bad in [f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                for at in 0..len {
                    let mut v = base.clone();
                    v[at] = bad;
                    assert!(!finite_slice(&v), "{bad} at {at} of {len}");
                }
            }
        }
    }

    #[test]
    fn flushed_zeroes_subnormals_only_and_keeps_the_sign() {
        let tiny = f32::from_bits(1);
        assert_eq!(flushed(true, tiny).to_bits(), 0);
        assert_eq!(flushed(true, -tiny).to_bits(), 0x8000_0000);
        let below = f32::from_bits(f32::MIN_POSITIVE.to_bits() - 1);
        assert_eq!(flushed(true, below), 0.0);
        for v in [
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            1.0,
            -0.0,
            f32::INFINITY,
        ] {
            assert_eq!(flushed(true, v).to_bits(), v.to_bits());
        }
        assert!(flushed(true, f32::NAN).is_nan());
        assert_eq!(flushed(false, tiny), tiny);
    }
}
