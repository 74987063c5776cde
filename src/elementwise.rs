//! Element-wise loops over 2-D arrays that run over plain slices when the arrays are contiguous
//! (the common case: the model's buffers and weights), and fall back to `Zip` otherwise.
//! Slices let the compiler vectorize without ndarray's per-call layout dispatch, which matters
//! for the small arrays of a sonar-sized network.

use ndarray::{ArrayView2, ArrayViewMut2, Zip};

/// `f(a, b)` for each pair of elements.
#[inline]
pub(crate) fn zip2(mut a: ArrayViewMut2<f32>, b: ArrayView2<f32>, f: impl Fn(&mut f32, f32)) {
    if let (Some(sa), Some(sb)) = (a.as_slice_mut(), b.as_slice()) {
        sa.iter_mut().zip(sb).for_each(|(x, &y)| f(x, y));
    } else {
        Zip::from(a).and(b).for_each(|x, &y| f(x, y));
    }
}

/// `f(a, b, c)` for each triple of elements.
#[inline]
pub(crate) fn zip3(
    mut a: ArrayViewMut2<f32>,
    b: ArrayView2<f32>,
    c: ArrayView2<f32>,
    f: impl Fn(&mut f32, f32, f32),
) {
    if let (Some(sa), Some(sb), Some(sc)) = (a.as_slice_mut(), b.as_slice(), c.as_slice()) {
        sa.iter_mut()
            .zip(sb.iter().zip(sc))
            .for_each(|(x, (&y, &z))| f(x, y, z));
    } else {
        Zip::from(a).and(b).and(c).for_each(|x, &y, &z| f(x, y, z));
    }
}

/// `f(a, b, s)` for each element of a parameter `a`, its gradient `b` and an optimizer state `s`.
#[inline]
pub(crate) fn zip_state(
    mut a: ArrayViewMut2<f32>,
    b: ArrayView2<f32>,
    mut s: ArrayViewMut2<f32>,
    f: impl Fn(&mut f32, f32, &mut f32),
) {
    if let (Some(sa), Some(sb), Some(ss)) = (a.as_slice_mut(), b.as_slice(), s.as_slice_mut()) {
        sa.iter_mut()
            .zip(sb.iter().zip(ss))
            .for_each(|(x, (&y, z))| f(x, y, z));
    } else {
        Zip::from(a).and(b).and(s).for_each(|x, &y, z| f(x, y, z));
    }
}

/// `f(a, b, s, t)` with two optimizer states.
#[inline]
pub(crate) fn zip_state2(
    mut a: ArrayViewMut2<f32>,
    b: ArrayView2<f32>,
    mut s: ArrayViewMut2<f32>,
    mut t: ArrayViewMut2<f32>,
    f: impl Fn(&mut f32, f32, &mut f32, &mut f32),
) {
    if let (Some(sa), Some(sb), Some(ss), Some(st)) = (
        a.as_slice_mut(),
        b.as_slice(),
        s.as_slice_mut(),
        t.as_slice_mut(),
    ) {
        sa.iter_mut()
            .zip(sb.iter().zip(ss.iter_mut().zip(st)))
            .for_each(|(x, (&y, (z, w)))| f(x, y, z, w));
    } else {
        Zip::from(a)
            .and(b)
            .and(s)
            .and(t)
            .for_each(|x, &y, z, w| f(x, y, z, w));
    }
}
