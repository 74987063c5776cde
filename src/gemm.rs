//! Single-precision matrix product `C = α·A·B + β·C` for the layers' forward and backward passes.
//!
//! The kernels keep an `MR × 2·LANES` tile of `C` in vector registers and stream a panel of `B`
//! through it, with AVX-512 or AVX2+FMA chosen at run time. Small `B` blocks are read in place;
//! larger ones (or transposed ones) are first packed into panels in a caller-owned buffer, which
//! grows once and is then reused, so a product performs no heap allocation after the first call
//! with a given shape. Without either instruction set the product falls back to ndarray's
//! `general_mat_mul`.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

/// Depth of a block of `k` (rows of a `B` panel held in L1).
const KC: usize = 256;
/// Largest `B` block (in floats) read in place rather than packed.
const DIRECT_MAX: usize = 4096;

/// `c = alpha · a · b + beta · c`, with `a: (m, k)`, `b: (k, n)`, `c: (m, n)`.
///
/// `pack` is scratch space reused across calls. Shapes must agree (checked by debug assertions;
/// callers inside the crate guarantee them).
pub(crate) fn gemm(
    alpha: f32,
    a: &ArrayView2<f32>,
    b: &ArrayView2<f32>,
    beta: f32,
    c: &mut ArrayViewMut2<f32>,
    pack: &mut Vec<f32>,
) {
    let (m, k) = a.dim();
    let n = b.ncols();
    debug_assert_eq!(b.nrows(), k);
    debug_assert_eq!(c.dim(), (m, n));
    if m == 0 || n == 0 {
        return;
    }
    let positive = |s: &[isize]| s.iter().all(|&v| v >= 0);
    // ndarray may report any stride for an axis of length 1.
    let (c_rs, c_cs) = (c.strides()[0], c.strides()[1]);
    let usable = positive(a.strides())
        && positive(b.strides())
        && (n == 1 || c_cs == 1)
        && (m == 1 || c_rs >= n as isize);
    #[cfg(target_arch = "x86_64")]
    if usable && k > 0 {
        let args = Args::new(alpha, a, b, beta, c);
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F; `args` describes in-bounds, non-negative
            // strided views of the arrays borrowed for this call.
            unsafe { x86::gemm_avx512(&args, pack) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: as above, for AVX2 and FMA.
            unsafe { x86::gemm_avx2(&args, pack) };
            return;
        }
    }
    let _ = (usable, &pack);
    general_mat_mul(alpha, a, b, beta, c);
}

/// Raw description of one product; strides are in elements.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
struct Args {
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    beta: f32,
    a: *const f32,
    a_rs: usize,
    a_cs: usize,
    b: *const f32,
    b_rs: usize,
    b_cs: usize,
    c: *mut f32,
    c_rs: usize,
}

#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
impl Args {
    fn new(
        alpha: f32,
        a: &ArrayView2<f32>,
        b: &ArrayView2<f32>,
        beta: f32,
        c: &mut ArrayViewMut2<f32>,
    ) -> Self {
        let (m, k) = a.dim();
        Args {
            m,
            n: b.ncols(),
            k,
            alpha,
            beta,
            a: a.as_ptr(),
            a_rs: a.strides()[0] as usize,
            a_cs: a.strides()[1] as usize,
            b: b.as_ptr(),
            b_rs: b.strides()[0] as usize,
            b_cs: b.strides()[1] as usize,
            c: c.as_mut_ptr(),
            c_rs: c.strides()[0] as usize,
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{Args, DIRECT_MAX, KC};

    /// The few vector operations the kernel needs.
    trait Simd {
        type V: Copy;
        const LANES: usize;
        unsafe fn zero() -> Self::V;
        unsafe fn splat(v: f32) -> Self::V;
        unsafe fn load(p: *const f32) -> Self::V;
        /// Loads `n < LANES` elements (0 <= n), zero elsewhere, touching no memory beyond them.
        unsafe fn load_partial(p: *const f32, n: usize) -> Self::V;
        unsafe fn store(p: *mut f32, v: Self::V);
        unsafe fn store_partial(p: *mut f32, v: Self::V, n: usize);
        /// `a · b + c`.
        unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
        unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    }

    struct Avx512;

    impl Simd for Avx512 {
        type V = __m512;
        const LANES: usize = 16;
        #[inline(always)]
        unsafe fn zero() -> __m512 {
            unsafe { _mm512_setzero_ps() }
        }
        #[inline(always)]
        unsafe fn splat(v: f32) -> __m512 {
            unsafe { _mm512_set1_ps(v) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m512 {
            unsafe { _mm512_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn load_partial(p: *const f32, n: usize) -> __m512 {
            unsafe { _mm512_maskz_loadu_ps(((1u32 << n) - 1) as u16, p) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m512) {
            unsafe { _mm512_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn store_partial(p: *mut f32, v: __m512, n: usize) {
            unsafe { _mm512_mask_storeu_ps(p, ((1u32 << n) - 1) as u16, v) }
        }
        #[inline(always)]
        unsafe fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
            unsafe { _mm512_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn mul(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_mul_ps(a, b) }
        }
    }

    struct Avx2;

    #[inline(always)]
    unsafe fn avx2_mask(n: usize) -> __m256i {
        const IDX: [i32; 8] = [0, 1, 2, 3, 4, 5, 6, 7];
        unsafe {
            let idx = _mm256_loadu_si256(IDX.as_ptr() as *const __m256i);
            _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), idx)
        }
    }

    impl Simd for Avx2 {
        type V = __m256;
        const LANES: usize = 8;
        #[inline(always)]
        unsafe fn zero() -> __m256 {
            unsafe { _mm256_setzero_ps() }
        }
        #[inline(always)]
        unsafe fn splat(v: f32) -> __m256 {
            unsafe { _mm256_set1_ps(v) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m256 {
            unsafe { _mm256_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn load_partial(p: *const f32, n: usize) -> __m256 {
            unsafe { _mm256_maskload_ps(p, avx2_mask(n)) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m256) {
            unsafe { _mm256_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn store_partial(p: *mut f32, v: __m256, n: usize) {
            unsafe { _mm256_maskstore_ps(p, avx2_mask(n), v) }
        }
        #[inline(always)]
        unsafe fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
            unsafe { _mm256_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn mul(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_mul_ps(a, b) }
        }
    }

    /// One block of `B`: `kc` rows of `nr <= 2·LANES` columns, rows `ldb` apart.
    #[derive(Clone, Copy)]
    struct Panel {
        ptr: *const f32,
        ldb: usize,
        nr: usize,
        /// Columns beyond `nr` are readable zeros (packed panels).
        padded: bool,
    }

    /// `C[MR × nr] = α · A[MR × kc] · B + β · C` for one register tile.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel<S: Simd, const MR: usize, const NV: usize>(
        kc: usize,
        a: *const f32,
        a_rs: usize,
        a_cs: usize,
        b: Panel,
        alpha: f32,
        beta: f32,
        c: *mut f32,
        c_rs: usize,
    ) {
        // NV vectors of B per row of the tile: 2 for a full panel, 1 for a panel of at most
        // LANES columns (a narrow layer), which halves the work on columns that do not exist.
        let l = S::LANES;
        unsafe {
            let mut acc0 = [S::zero(); MR];
            let mut acc1 = [S::zero(); MR];
            let full = b.padded || b.nr == NV * l;
            let n0 = b.nr.min(l);
            let n1 = b.nr.saturating_sub(l);
            let mut bp = b.ptr;
            let mut ap = a;
            for _ in 0..kc {
                let (b0, b1) = if NV == 1 {
                    let b0 = if full {
                        S::load(bp)
                    } else {
                        S::load_partial(bp, n0)
                    };
                    (b0, S::zero())
                } else if full {
                    (S::load(bp), S::load(bp.add(l)))
                } else if n1 > 0 {
                    (S::load(bp), S::load_partial(bp.add(l), n1))
                } else {
                    (S::load_partial(bp, n0), S::zero())
                };
                for r in 0..MR {
                    let av = S::splat(*ap.add(r * a_rs));
                    acc0[r] = S::fma(av, b0, acc0[r]);
                    if NV == 2 {
                        acc1[r] = S::fma(av, b1, acc1[r]);
                    }
                }
                bp = bp.add(b.ldb);
                ap = ap.add(a_cs);
            }
            let va = S::splat(alpha);
            let vb = S::splat(beta);
            for r in 0..MR {
                let cp = c.add(r * c_rs);
                let mut v0 = S::mul(acc0[r], va);
                let mut v1 = S::mul(acc1[r], va);
                if b.nr == 2 * l {
                    if beta != 0.0 {
                        v0 = S::fma(S::load(cp), vb, v0);
                        v1 = S::fma(S::load(cp.add(l)), vb, v1);
                    }
                    S::store(cp, v0);
                    S::store(cp.add(l), v1);
                } else if n1 > 0 {
                    if beta != 0.0 {
                        v0 = S::fma(S::load(cp), vb, v0);
                        v1 = S::fma(S::load_partial(cp.add(l), n1), vb, v1);
                    }
                    S::store(cp, v0);
                    S::store_partial(cp.add(l), v1, n1);
                } else if b.nr == l {
                    if beta != 0.0 {
                        v0 = S::fma(S::load(cp), vb, v0);
                    }
                    S::store(cp, v0);
                } else {
                    if beta != 0.0 {
                        v0 = S::fma(S::load_partial(cp, n0), vb, v0);
                    }
                    S::store_partial(cp, v0, n0);
                }
            }
        }
    }

    /// Runs the kernel over all row tiles of one panel.
    #[inline(always)]
    unsafe fn rows<S: Simd, const MR: usize>(
        g: &Args,
        kc: usize,
        a: *const f32,
        b: Panel,
        beta: f32,
        c: *mut f32,
    ) {
        if b.nr <= S::LANES {
            unsafe { rows_nv::<S, MR, 1>(g, kc, a, b, beta, c) }
        } else {
            unsafe { rows_nv::<S, MR, 2>(g, kc, a, b, beta, c) }
        }
    }

    /// [`rows`] with `NV` vectors per tile row.
    #[inline(always)]
    unsafe fn rows_nv<S: Simd, const MR: usize, const NV: usize>(
        g: &Args,
        kc: usize,
        a: *const f32,
        b: Panel,
        beta: f32,
        c: *mut f32,
    ) {
        let mut i = 0;
        unsafe {
            while i + MR <= g.m {
                let (ap, cp) = (a.add(i * g.a_rs), c.add(i * g.c_rs));
                kernel::<S, MR, NV>(kc, ap, g.a_rs, g.a_cs, b, g.alpha, beta, cp, g.c_rs);
                i += MR;
            }
            let rest = g.m - i;
            let (ap, cp) = (a.add(i * g.a_rs), c.add(i * g.c_rs));
            macro_rules! tail {
                ($($r:literal)*) => {
                    match rest {
                        $($r => kernel::<S, $r, NV>(kc, ap, g.a_rs, g.a_cs, b, g.alpha, beta, cp, g.c_rs),)*
                        _ => {}
                    }
                };
            }
            tail!(1 2 3 4 5 6 7 8 9 10 11);
        }
    }

    /// Blocked product: for each depth block, each panel of `NR = 2·LANES` columns of `B`
    /// (read in place or packed into `pack`) is swept by all row tiles of `A`.
    #[inline(always)]
    unsafe fn driver<S: Simd, const MR: usize>(g: &Args, pack: &mut Vec<f32>) {
        let nr_full = 2 * S::LANES;
        let panels = g.n.div_ceil(nr_full);
        let mut p0 = 0;
        while p0 < g.k {
            let kc = KC.min(g.k - p0);
            let beta = if p0 == 0 { g.beta } else { 1.0 };
            let direct = g.b_cs == 1 && kc * g.n <= DIRECT_MAX;
            if !direct {
                let len = panels * kc * nr_full;
                if pack.len() < len {
                    pack.resize(len, 0.0);
                }
                for p in 0..panels {
                    let j0 = p * nr_full;
                    let nr = nr_full.min(g.n - j0);
                    let dst = &mut pack[p * kc * nr_full..(p + 1) * kc * nr_full];
                    if g.b_rs == 1 && g.b_cs != 1 {
                        // B is a transposed row-major matrix (a layer's Wᵀ): read each of its
                        // columns, a contiguous row of W, and scatter it down the panel.
                        if nr < nr_full {
                            dst.fill(0.0);
                        }
                        for jj in 0..nr {
                            // SAFETY: rows p0..p0 + kc and column j0 + jj lie inside B.
                            let src = unsafe { g.b.add(p0 + (j0 + jj) * g.b_cs) };
                            for kk in 0..kc {
                                dst[kk * nr_full + jj] = unsafe { *src.add(kk) };
                            }
                        }
                        continue;
                    }
                    for (kk, row) in dst.chunks_exact_mut(nr_full).enumerate() {
                        // SAFETY: row p0 + kk < k and columns j0 + jj < n lie inside B.
                        let src = unsafe { g.b.add((p0 + kk) * g.b_rs + j0 * g.b_cs) };
                        for (jj, d) in row.iter_mut().enumerate() {
                            *d = if jj < nr {
                                unsafe { *src.add(jj * g.b_cs) }
                            } else {
                                0.0
                            };
                        }
                    }
                }
            }
            let a = unsafe { g.a.add(p0 * g.a_cs) };
            for p in 0..panels {
                let j0 = p * nr_full;
                let nr = nr_full.min(g.n - j0);
                let panel = if direct {
                    Panel {
                        ptr: unsafe { g.b.add(p0 * g.b_rs + j0) },
                        ldb: g.b_rs,
                        nr,
                        padded: false,
                    }
                } else {
                    Panel {
                        ptr: pack[p * kc * nr_full..].as_ptr(),
                        ldb: nr_full,
                        nr,
                        padded: true,
                    }
                };
                unsafe { rows::<S, MR>(g, kc, a, panel, beta, g.c.add(j0)) };
            }
            p0 += kc;
        }
    }

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn gemm_avx512(g: &Args, pack: &mut Vec<f32>) {
        unsafe { driver::<Avx512, 12>(g, pack) }
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn gemm_avx2(g: &Args, pack: &mut Vec<f32>) {
        unsafe { driver::<Avx2, 6>(g, pack) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, ShapeBuilder};

    fn naive(a: &ArrayView2<f32>, b: &ArrayView2<f32>) -> Array2<f64> {
        let (m, k) = a.dim();
        let n = b.ncols();
        Array2::from_shape_fn((m, n), |(i, j)| {
            (0..k).map(|p| a[[i, p]] as f64 * b[[p, j]] as f64).sum()
        })
    }

    fn filled(rows: usize, cols: usize, seed: usize) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |(i, j)| {
            (((i * 31 + j * 17 + seed * 7) % 23) as f32 - 11.0) / 8.0
        })
    }

    #[test]
    fn matches_a_naive_product_for_awkward_shapes_strides_alpha_and_beta() {
        let mut pack = Vec::new();
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 5, 7),
            (16, 60, 60),
            (13, 60, 30),
            (16, 30, 1),
            (17, 300, 33),
            (25, 70, 65),
            (12, 1, 100),
            (40, 260, 70),
            (5, 9, 16),
            (13, 20, 48),
            (14, 33, 8),
        ] {
            for transpose_b in [false, true] {
                let a = filled(m, k, 1);
                let b_owned = if transpose_b {
                    filled(n, k, 2).reversed_axes()
                } else {
                    filled(k, n, 2)
                };
                let b = b_owned.view();
                let c0 = filled(m, n, 3);
                let expected = naive(&a.view(), &b) * 0.5 + c0.mapv(|v| v as f64) * 2.0;
                let mut c = c0.clone();
                gemm(0.5, &a.view(), &b, 2.0, &mut c.view_mut(), &mut pack);
                for (x, y) in c.iter().zip(expected.iter()) {
                    assert!(
                        ((*x as f64) - y).abs() < 1e-3 * (1.0 + y.abs()),
                        "{m}x{k}x{n}"
                    );
                }
                // beta = 0 ignores (possibly NaN) old contents
                let mut c = Array2::from_elem((m, n), f32::NAN);
                gemm(1.0, &a.view(), &b, 0.0, &mut c.view_mut(), &mut pack);
                let e = naive(&a.view(), &b);
                for (x, y) in c.iter().zip(e.iter()) {
                    assert!(((*x as f64) - y).abs() < 1e-3 * (1.0 + y.abs()));
                }
            }
        }
    }

    #[test]
    fn reads_a_transposed_left_operand() {
        let mut pack = Vec::new();
        let x = filled(16, 60, 4); // A = xᵀ: (60, 16)
        let g = filled(16, 30, 5);
        let a = x.t();
        let mut c = Array2::zeros((60, 30).f());
        let mut c_std = Array2::<f32>::zeros((60, 30));
        gemm(1.0, &a, &g.view(), 0.0, &mut c_std.view_mut(), &mut pack);
        general_mat_mul(1.0, &a, &g, 0.0, &mut c);
        for (x, y) in c_std.iter().zip(c.iter()) {
            assert!((x - y).abs() < 1e-3);
        }
    }
}
