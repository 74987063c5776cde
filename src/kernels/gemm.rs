//! Single-precision matrix product `C = α·A·B + β·C` for the layers' forward and backward passes.
//!
//! The SIMD kernels keep a register tile of `C` (rows × `2·LANES` columns) in vector registers
//! and stream a panel of `B` through it, with AVX-512 or AVX2+FMA chosen at run time. Two drivers
//! feed them:
//!
//! - a small row-major `B` (a depth block of at most `DIRECT_MAX` floats, the sonar network's
//!   layers) is read in place, and so is `A`;
//! - anything else is cache-blocked: per block of `NC` columns and `KC` depths, `B` is packed
//!   into panels of `2·LANES` columns (a transposed `B`, a layer's `Wᵀ`, through 16 × 16
//!   register transposes on AVX-512), and per block of rows `A` is packed into groups of `MR`
//!   rows (14 on AVX-512, 6 on AVX2) unless a depth block of it is at most 64 KiB. The panels
//!   live in a caller-owned buffer, aligned to 64 bytes, which grows once and is then reused, so
//!   a product performs no heap allocation after the first call with a given shape.
//!
//! Without either instruction set, or when the environment variable `NDNET_PORTABLE` is set to
//! anything but `0` or the empty string when the first product runs, a portable kernel in safe
//! code runs instead. It allocates nothing and sums in the same order as the SIMD kernels,
//! whatever their blocking: for each element, depth blocks of [`KC`] in order, within a block
//! `acc = a·b + acc` with one rounding (`f32::mul_add`) starting from 0, then `acc·α`, then
//! `c·β + that` with one rounding (`β` for the first block, 1 after). Its results are therefore
//! bitwise those of the SIMD kernels (see the tests below).

use std::sync::OnceLock;

use ndarray::{ArrayView2, ArrayViewMut2, Axis, s};

use crate::error::{Error, Result};

/// Depth of a block of `k` (rows of a `B` panel held in L1).
const KC: usize = 256;
/// Largest `B` block (in floats) read in place rather than packed.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const DIRECT_MAX: usize = 4096;
/// Largest depth block of `A` (in floats, `m·KC.min(k)`: 64 KiB) that the packed product reads
/// in place rather than packing: up to 64 rows (the sonar networks' weight gradients `xᵀ·g`,
/// whose 60 rows fill five 12-row tiles where packing would make four 14-row tiles and a
/// 4-row tail).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const A_IN_PLACE_MAX: usize = 16384;
/// Columns of `C` the portable kernel accumulates at once (on the stack).
const PORTABLE_NC: usize = 64;

/// Which kernel the products use, decided once per process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
    /// AVX-512F.
    Avx512,
    /// AVX2 and FMA.
    Avx2,
    /// The portable kernel (no SIMD instructions required).
    Portable,
}

/// Whether `NDNET_PORTABLE` asks for the portable kernel: set, and neither empty nor `0`.
fn portable_forced(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0")
}

/// The kernel this process uses: the environment variable is read, and the CPU queried, once.
pub(crate) fn path() -> Path {
    static PATH: OnceLock<Path> = OnceLock::new();
    *PATH.get_or_init(|| {
        if portable_forced(std::env::var_os("NDNET_PORTABLE").as_deref()) {
            return Path::Portable;
        }
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Path::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Path::Avx2;
            }
        }
        Path::Portable
    })
}

/// The products' scratch: one packing buffer per block of columns a product is split into
/// (one unless [`crate::set_product_threads`] asked for more threads and the product is large,
/// see [`split_blocks`]). Each buffer grows once to what its block needs and is then reused.
#[derive(Debug, Default, Clone)]
pub(crate) struct Pack {
    bufs: Vec<Vec<f32>>,
}

/// Products of fewer multiply-adds than this (`m·k·n`) run on the calling thread alone. 2²¹
/// multiply-adds take about 50 µs on one core at the 90 GFLOP/s a 1024³ product reaches on the
/// machine of BENCHMARKS.md's "Product threads"; the threshold was chosen, not tuned against
/// the cost of waking a parked worker.
const SPLIT_MIN_MADDS: usize = 1 << 21;
/// Fewest columns of `c` a thread of a split product takes.
const SPLIT_MIN_COLS: usize = 64;

/// Into how many blocks of columns the product `(m×k)·(k×n)` is split: at most the product
/// threads asked for, 1 for small products. A split changes no result: each element of `c` is
/// summed in the same order whichever block, and so whichever thread, computes it.
fn split_blocks(m: usize, k: usize, n: usize) -> usize {
    let threads = super::threads::product_threads();
    if threads <= 1 || m.saturating_mul(k).saturating_mul(n) < SPLIT_MIN_MADDS {
        return 1;
    }
    threads.min(n / SPLIT_MIN_COLS).max(1)
}

/// `c = alpha · a · b + beta · c`, with `a: (m, k)`, `b: (k, n)`, `c: (m, n)`.
///
/// `pack` is scratch space reused across calls. The shapes are checked here, in every build:
/// a mismatch is a `ShapeMismatch` error and nothing is written. With `beta == 0` the old
/// contents of `c` are ignored (NaN included). A large product runs on the product threads
/// (blocks of columns of `c`, each block's `b` packed by its own thread), with the same bits
/// as on one.
pub(crate) fn gemm(
    alpha: f32,
    a: &ArrayView2<f32>,
    b: &ArrayView2<f32>,
    beta: f32,
    c: &mut ArrayViewMut2<f32>,
    pack: &mut Pack,
) -> Result<()> {
    let (m, k) = a.dim();
    let n = b.ncols();
    if b.nrows() != k {
        return Err(Error::ShapeMismatch {
            what: format!("matrix product: right operand (the left one is {m}×{k})"),
            expected: vec![k, n],
            found: b.shape().to_vec(),
        });
    }
    if c.dim() != (m, n) {
        return Err(Error::ShapeMismatch {
            what: format!("matrix product: result of ({m}×{k})·({k}×{n})"),
            expected: vec![m, n],
            found: c.shape().to_vec(),
        });
    }
    gemm_blocks(path(), split_blocks(m, k, n), alpha, a, b, beta, c, pack);
    Ok(())
}

/// [`gemm`] on a given path split into `blocks` blocks of columns (fewer when `n` is narrow),
/// shapes already checked.
#[allow(clippy::too_many_arguments)]
fn gemm_blocks(
    path: Path,
    blocks: usize,
    alpha: f32,
    a: &ArrayView2<f32>,
    b: &ArrayView2<f32>,
    beta: f32,
    c: &mut ArrayViewMut2<f32>,
    pack: &mut Pack,
) {
    let n = b.ncols();
    let blocks = blocks.clamp(1, n.max(1));
    if pack.bufs.len() < blocks {
        pack.bufs.resize_with(blocks, Vec::new);
    }
    if blocks == 1 {
        gemm_on(path, alpha, a, b, beta, c, &mut pack.bufs[0]);
        return;
    }
    // Block widths a multiple of 32 columns (two AVX-512 panels), the last one shorter.
    let width = n.div_ceil(blocks).next_multiple_of(32);
    let items = c
        .axis_chunks_iter_mut(Axis(1), width)
        .zip(b.axis_chunks_iter(Axis(1), width))
        .zip(pack.bufs.iter_mut());
    super::threads::for_each(blocks, items, |((mut c, b), buf)| {
        gemm_on(path, alpha, a, &b, beta, &mut c, buf);
    });
}

/// [`gemm`] on a given path, shapes already checked (`b: (k, n)`, `c: (m, n)`).
fn gemm_on(
    path: Path,
    alpha: f32,
    a: &ArrayView2<f32>,
    b: &ArrayView2<f32>,
    beta: f32,
    c: &mut ArrayViewMut2<f32>,
    pack: &mut Vec<f32>,
) {
    let (m, k) = a.dim();
    let n = b.ncols();
    assert!(b.nrows() == k && c.dim() == (m, n), "gemm shapes");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if beta == 0.0 {
            c.fill(0.0);
        } else {
            c.mapv_inplace(|v| v * beta);
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if path != Path::Portable
        && let Some(args) = Args::new(alpha, a, b, beta, c)
    {
        if path == Path::Avx512 {
            // SAFETY: `path()` chose Avx512 only after detecting AVX-512F, and only it (or a
            // test that checked the CPU) passes that path. `Args::new` returned `Some`, so
            // `args` describes `a`, `b` and `c` (shapes checked above, strides checked there),
            // all borrowed for this call.
            unsafe { x86::gemm_avx512(&args, pack) };
        } else {
            // SAFETY: as above, for AVX2 and FMA.
            unsafe { x86::gemm_avx2(&args, pack) };
        }
        return;
    }
    let _ = (path, &pack);
    portable(alpha, a, b, beta, c);
}

/// The portable kernel: safe code, no allocation, the SIMD kernels' order of operations.
fn portable(
    alpha: f32,
    a: &ArrayView2<f32>,
    b: &ArrayView2<f32>,
    beta: f32,
    c: &mut ArrayViewMut2<f32>,
) {
    let (m, k) = a.dim();
    let n = b.ncols();
    let mut acc = [0.0f32; PORTABLE_NC];
    for i in 0..m {
        let a_row = a.row(i);
        let mut j0 = 0;
        while j0 < n {
            let j1 = n.min(j0 + PORTABLE_NC);
            let acc = &mut acc[..j1 - j0];
            let mut p0 = 0;
            while p0 < k {
                let p1 = k.min(p0 + KC);
                let block_beta = if p0 == 0 { beta } else { 1.0 };
                acc.fill(0.0);
                for p in p0..p1 {
                    let av = a_row[p];
                    let b_row = b.slice(s![p, j0..j1]);
                    match b_row.as_slice() {
                        Some(bs) => {
                            for (s, &bv) in acc.iter_mut().zip(bs) {
                                *s = av.mul_add(bv, *s);
                            }
                        }
                        None => {
                            for (s, &bv) in acc.iter_mut().zip(b_row.iter()) {
                                *s = av.mul_add(bv, *s);
                            }
                        }
                    }
                }
                let mut c_row = c.slice_mut(s![i, j0..j1]);
                for (cv, &s) in c_row.iter_mut().zip(acc.iter()) {
                    let v = s * alpha;
                    *cv = if block_beta != 0.0 {
                        cv.mul_add(block_beta, v)
                    } else {
                        v
                    };
                }
                p0 = p1;
            }
            j0 = j1;
        }
    }
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
    /// The raw description of a product whose shapes agree (`b: (k, n)`, `c: (m, n)`), or `None`
    /// when the SIMD kernels cannot read the views: a negative stride on an axis longer than 1,
    /// or a `c` whose rows are not contiguous. The stride of an axis of length 1 (which ndarray
    /// may report as anything) is taken as 0.
    ///
    /// With `Some`, element `(i, p)` of `a` is at `a + i·a_rs + p·a_cs` for `i < m`, `p < k`
    /// (likewise `b`), element `(i, j)` of `c` at `c + i·c_rs + j`, each inside its view, and
    /// distinct `(i, j)` of `c` are distinct addresses: what the kernels rely on.
    fn new(
        alpha: f32,
        a: &ArrayView2<f32>,
        b: &ArrayView2<f32>,
        beta: f32,
        c: &mut ArrayViewMut2<f32>,
    ) -> Option<Self> {
        let (m, k) = a.dim();
        let n = b.ncols();
        if b.nrows() != k || c.dim() != (m, n) {
            return None;
        }
        // `default` for an axis of length 1: 1 for a column stride (so a single column still
        // counts as contiguous), 0 for a row stride.
        let stride = |len: usize, s: isize, default: usize| -> Option<usize> {
            if len <= 1 {
                Some(default)
            } else {
                usize::try_from(s).ok()
            }
        };
        let c_rs = stride(m, c.strides()[0], 0)?;
        if n > 1 && c.strides()[1] != 1 || m > 1 && c_rs < n {
            return None;
        }
        Some(Args {
            m,
            n,
            k,
            alpha,
            beta,
            a: a.as_ptr(),
            a_rs: stride(m, a.strides()[0], 0)?,
            a_cs: stride(k, a.strides()[1], 1)?,
            b: b.as_ptr(),
            b_rs: stride(k, b.strides()[0], 0)?,
            b_cs: stride(n, b.strides()[1], 1)?,
            c: c.as_mut_ptr(),
            c_rs,
        })
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The SIMD kernels. Every function here is `unsafe`: its callers guarantee that the CPU has
    //! the instruction set of the `Simd` implementation in use (checked once in `super::path`)
    //! and that the pointers and strides of `Args` describe the product's views (built by
    //! `Args::new`, which checks shapes and strides). The offsets each function computes stay
    //! inside those views; the comments at each block say why.

    use std::arch::x86_64::*;

    use super::{A_IN_PLACE_MAX, Args, DIRECT_MAX, KC};

    /// The few vector operations the kernel needs.
    ///
    /// # Safety
    /// The CPU supports the implementation's instruction set; pointers are valid for the
    /// elements each method touches (`LANES` of them, or `n < LANES` for the partial ones).
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
        /// Whether [`Simd::transpose16`] is implemented.
        const TRANSPOSE16: bool = false;
        /// Copies a 16 × 16 block transposed: `dst[i·dst_ld + j] = src[j·src_ld + i]` for
        /// `i, j < 16`. Only called when [`Simd::TRANSPOSE16`] is true.
        ///
        /// # Safety
        /// The `src` and `dst` elements named above are readable and writable.
        unsafe fn transpose16(_src: *const f32, _src_ld: usize, _dst: *mut f32, _dst_ld: usize) {
            unreachable!("transpose16 without an implementation")
        }
    }

    struct Avx512;

    impl Simd for Avx512 {
        type V = __m512;
        const LANES: usize = 16;
        #[inline(always)]
        unsafe fn zero() -> __m512 {
            // SAFETY: reached only from `gemm_avx512`, whose caller checked AVX-512F.
            unsafe { _mm512_setzero_ps() }
        }
        #[inline(always)]
        unsafe fn splat(v: f32) -> __m512 {
            // SAFETY: AVX-512F present.
            unsafe { _mm512_set1_ps(v) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m512 {
            // SAFETY: AVX-512F present; `p..p + 16` readable (trait contract).
            unsafe { _mm512_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn load_partial(p: *const f32, n: usize) -> __m512 {
            // SAFETY: AVX-512F present; the mask covers `p..p + n`, readable (trait contract).
            unsafe { _mm512_maskz_loadu_ps(((1u32 << n) - 1) as u16, p) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m512) {
            // SAFETY: AVX-512F present; `p..p + 16` writable (trait contract).
            unsafe { _mm512_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn store_partial(p: *mut f32, v: __m512, n: usize) {
            // SAFETY: AVX-512F present; the mask covers `p..p + n`, writable (trait contract).
            unsafe { _mm512_mask_storeu_ps(p, ((1u32 << n) - 1) as u16, v) }
        }
        #[inline(always)]
        unsafe fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
            // SAFETY: AVX-512F present.
            unsafe { _mm512_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn mul(a: __m512, b: __m512) -> __m512 {
            // SAFETY: AVX-512F present.
            unsafe { _mm512_mul_ps(a, b) }
        }
        const TRANSPOSE16: bool = true;
        #[inline(always)]
        unsafe fn transpose16(src: *const f32, src_ld: usize, dst: *mut f32, dst_ld: usize) {
            // SAFETY: AVX-512F present; the loads read `src + j·src_ld .. + 16` and the stores
            // write `dst + i·dst_ld .. + 16` for `i, j < 16` (trait contract). The shuffles
            // are pure register operations: in-lane pairs, then 64-bit pairs (each 128-bit
            // lane then holds one element of four rows), then 128-bit lanes twice.
            unsafe {
                let r: [__m512; 16] = std::array::from_fn(|j| _mm512_loadu_ps(src.add(j * src_ld)));
                let mut t = [_mm512_setzero_ps(); 16];
                for q in 0..8 {
                    t[2 * q] = _mm512_unpacklo_ps(r[2 * q], r[2 * q + 1]);
                    t[2 * q + 1] = _mm512_unpackhi_ps(r[2 * q], r[2 * q + 1]);
                }
                let pd = _mm512_castps_pd;
                let ps = _mm512_castpd_ps;
                let mut u = [_mm512_setzero_ps(); 16];
                for q in 0..4 {
                    let (a0, a1, b0, b1) = (t[4 * q], t[4 * q + 1], t[4 * q + 2], t[4 * q + 3]);
                    u[4 * q] = ps(_mm512_unpacklo_pd(pd(a0), pd(b0)));
                    u[4 * q + 1] = ps(_mm512_unpackhi_pd(pd(a0), pd(b0)));
                    u[4 * q + 2] = ps(_mm512_unpacklo_pd(pd(a1), pd(b1)));
                    u[4 * q + 3] = ps(_mm512_unpackhi_pd(pd(a1), pd(b1)));
                }
                // u[4q + e], lane l: element 4l + e of rows 4q..4q + 4.
                let mut v = [_mm512_setzero_ps(); 16];
                for h in 0..2 {
                    for e in 0..4 {
                        let (a, b) = (u[8 * h + e], u[8 * h + 4 + e]);
                        v[8 * h + e] = _mm512_shuffle_f32x4::<0x88>(a, b);
                        v[8 * h + 4 + e] = _mm512_shuffle_f32x4::<0xdd>(a, b);
                    }
                }
                // v[8h + e] lanes: elements e and 8 + e of rows 8h..8h + 4, then of rows
                // 8h + 4..8h + 8; v[8h + 4 + e] the same for elements 4 + e and 12 + e.
                for e in 0..8 {
                    let (a, b) = (v[e], v[8 + e]);
                    let lo = _mm512_shuffle_f32x4::<0x88>(a, b);
                    let hi = _mm512_shuffle_f32x4::<0xdd>(a, b);
                    // `lo` is element `e` of all 16 rows, `hi` element `e + 8`.
                    _mm512_storeu_ps(dst.add(e * dst_ld), lo);
                    _mm512_storeu_ps(dst.add((e + 8) * dst_ld), hi);
                }
            }
        }
    }

    struct Avx2;

    /// A lane mask selecting the first `n <= 8` lanes.
    ///
    /// # Safety
    /// The CPU supports AVX2.
    #[inline(always)]
    unsafe fn avx2_mask(n: usize) -> __m256i {
        const IDX: [i32; 8] = [0, 1, 2, 3, 4, 5, 6, 7];
        // SAFETY: AVX2 present (caller); `IDX` is 8 readable `i32`s (an unaligned load).
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
            // SAFETY: reached only from `gemm_avx2`, whose caller checked AVX2 and FMA.
            unsafe { _mm256_setzero_ps() }
        }
        #[inline(always)]
        unsafe fn splat(v: f32) -> __m256 {
            // SAFETY: AVX2 present (as above).
            unsafe { _mm256_set1_ps(v) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m256 {
            // SAFETY: AVX2 present; `p..p + 8` readable (trait contract).
            unsafe { _mm256_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn load_partial(p: *const f32, n: usize) -> __m256 {
            // SAFETY: AVX2 present; the mask covers `p..p + n`, readable (trait contract).
            unsafe { _mm256_maskload_ps(p, avx2_mask(n)) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m256) {
            // SAFETY: AVX2 present; `p..p + 8` writable (trait contract).
            unsafe { _mm256_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn store_partial(p: *mut f32, v: __m256, n: usize) {
            // SAFETY: AVX2 present; the mask covers `p..p + n`, writable (trait contract).
            unsafe { _mm256_maskstore_ps(p, avx2_mask(n), v) }
        }
        #[inline(always)]
        unsafe fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
            // SAFETY: FMA present (as above).
            unsafe { _mm256_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn mul(a: __m256, b: __m256) -> __m256 {
            // SAFETY: AVX2 present.
            unsafe { _mm256_mul_ps(a, b) }
        }
    }

    /// One block of `B`: `kc` rows of `nr <= 2·LANES` columns, rows `ldb` apart.
    #[derive(Clone, Copy)]
    struct Panel {
        ptr: *const f32,
        ldb: usize,
        nr: usize,
        /// Columns beyond `nr` (up to `2·LANES`) are readable zeros (packed panels).
        padded: bool,
    }

    /// `C[MR × nr] = α · A[MR × kc] · B + β · C` for one register tile.
    ///
    /// # Safety
    /// The instruction set of `S` is present; `a + r·a_rs + p·a_cs` (`r < MR`, `p < kc`) and
    /// `b.ptr + p·b.ldb + j` (`p < kc`, `j < nr`, or `j < 2·LANES` when padded) are readable;
    /// `c + r·c_rs + j` (`r < MR`, `j < nr`) is writable; `NV == 1` only if `nr <= LANES`.
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
        // SAFETY: every access below is one the function's contract makes valid: loads of
        // `B` row `p < kc` touch columns `< nr` (partial loads) or `< 2·LANES` only for a full
        // or padded panel; `A` is read at rows `r < MR`, depths `p < kc`; `C` is read and
        // written at rows `r < MR`, columns `< nr`. The running pointers `bp` and `ap` advance
        // with `wrapping_add`, so the step after the last depth, which may leave the
        // allocation, is plain address arithmetic and is never dereferenced.
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
                bp = bp.wrapping_add(b.ldb);
                ap = ap.wrapping_add(a_cs);
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
    ///
    /// # Safety
    /// As [`rows_nv`].
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
            // SAFETY: the caller's guarantees; `nr <= LANES` allows `NV = 1`.
            unsafe { rows_nv::<S, MR, 1>(g, kc, a, b, beta, c) }
        } else {
            // SAFETY: the caller's guarantees.
            unsafe { rows_nv::<S, MR, 2>(g, kc, a, b, beta, c) }
        }
    }

    /// [`rows`] with `NV` vectors per tile row.
    ///
    /// # Safety
    /// The instruction set of `S` is present; `a` points at depth `p0` of row 0 of `A`
    /// (`g.m` rows `g.a_rs` apart, `kc` depths `g.a_cs` apart, all readable); `b` is a panel
    /// as [`kernel`] requires; `c` points at row 0, column `j0` of `C`, whose `g.m` rows
    /// (`g.c_rs` apart) have `b.nr` writable columns from there.
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
        while i + MR <= g.m {
            // SAFETY: rows `i..i + MR` are rows of `A` and `C` (`i + MR <= m`), so the offsets
            // stay inside the views and the kernel's contract holds for the tile.
            unsafe {
                let (ap, cp) = (a.add(i * g.a_rs), c.add(i * g.c_rs));
                kernel::<S, MR, NV>(kc, ap, g.a_rs, g.a_cs, b, g.alpha, beta, cp, g.c_rs);
            }
            i += MR;
        }
        let rest = g.m - i;
        if rest == 0 {
            return;
        }
        // SAFETY: `i < m`, so row `i` exists and the offsets stay inside the views; the tail
        // tile has `rest` rows, `i + rest == m`.
        unsafe {
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

    /// Product of a small `B` read in place: for each depth block, each panel of
    /// `NR = 2·LANES` columns of `B` is swept by all row tiles of `A`, read in place too.
    ///
    /// # Safety
    /// The instruction set of `S` is present; `g` comes from `Args::new` for views borrowed for
    /// the duration of the call, with `g.b_cs == 1`; `MR <= 12` (the tail tiles have at most
    /// 11 rows).
    #[inline(always)]
    unsafe fn direct<S: Simd, const MR: usize>(g: &Args) {
        let nr_full = 2 * S::LANES;
        let panels = g.n.div_ceil(nr_full);
        let mut p0 = 0;
        while p0 < g.k {
            let kc = KC.min(g.k - p0);
            let beta = if p0 == 0 { g.beta } else { 1.0 };
            // SAFETY: depth `p0 < k` of row 0 lies inside `A` (`m > 0`).
            let a = unsafe { g.a.add(p0 * g.a_cs) };
            for p in 0..panels {
                let j0 = p * nr_full;
                let panel = Panel {
                    // SAFETY: row `p0 < k`, column `j0 < n` lies inside `B`; with `b_cs == 1`
                    // its `kc` rows of `nr` columns are readable.
                    ptr: unsafe { g.b.add(p0 * g.b_rs + j0) },
                    ldb: g.b_rs,
                    nr: nr_full.min(g.n - j0),
                    padded: false,
                };
                // SAFETY: `a` and `panel` are as `rows_nv` requires; column `j0 < n` of row 0
                // lies inside `C`, whose rows have `nr` columns from there.
                unsafe { rows::<S, MR>(g, kc, a, panel, beta, g.c.add(j0)) };
            }
            p0 += kc;
        }
    }

    /// `C[MR × cols] = α · Ã · B̃ + β · C` for one register tile of the packed product: `Ã`
    /// holds `kc` groups of `STEP` floats (the tile's `MR <= STEP` rows first in each), `B̃`
    /// holds `kc` rows of `2·LANES` floats. The sums are those of [`kernel`]: per element,
    /// `acc = a·b + acc` from 0 over the block, then `acc·α`, then `c·β + that`.
    ///
    /// # Safety
    /// The instruction set of `S` is present; `a..a + kc·STEP` and `b..b + kc·2·LANES` are
    /// readable; `c + r·c_rs + j` (`r < MR`, `j < cols`) is writable; `0 < cols <= NV·LANES`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel_packed<S: Simd, const MR: usize, const NV: usize, const STEP: usize>(
        kc: usize,
        a: *const f32,
        b: *const f32,
        alpha: f32,
        beta: f32,
        c: *mut f32,
        c_rs: usize,
        cols: usize,
    ) {
        let l = S::LANES;
        // SAFETY: the loads read `B̃` row `p < kc` at columns `< 2·LANES` and `Ã` group
        // `p < kc` at rows `< MR <= STEP`; `C` is read and written at rows `r < MR`, columns
        // `< cols`. The running pointers advance with `wrapping_add`, so the step past the last
        // group is never dereferenced.
        unsafe {
            // The tile of `C` is read at the end: fetch its lines now, while the sums run (a
            // prefetch never faults; the addresses are those the end reads and writes).
            for r in 0..MR {
                let cp = c.wrapping_add(r * c_rs);
                _mm_prefetch::<_MM_HINT_T0>(cp as *const i8);
                if NV == 2 && cols > l {
                    _mm_prefetch::<_MM_HINT_T0>(cp.wrapping_add(l) as *const i8);
                }
            }
            let mut acc0 = [S::zero(); MR];
            let mut acc1 = [S::zero(); MR];
            let mut bp = b;
            let mut ap = a;
            for _ in 0..kc {
                let b0 = S::load(bp);
                let b1 = if NV == 2 { S::load(bp.add(l)) } else { b0 };
                for r in 0..MR {
                    let av = S::splat(*ap.add(r));
                    acc0[r] = S::fma(av, b0, acc0[r]);
                    if NV == 2 {
                        acc1[r] = S::fma(av, b1, acc1[r]);
                    }
                }
                bp = bp.wrapping_add(2 * l);
                ap = ap.wrapping_add(STEP);
            }
            let va = S::splat(alpha);
            let vb = S::splat(beta);
            let n0 = cols.min(l);
            let n1 = cols.saturating_sub(l);
            for r in 0..MR {
                let cp = c.add(r * c_rs);
                let mut v0 = S::mul(acc0[r], va);
                if NV == 2 && n1 > 0 {
                    let mut v1 = S::mul(acc1[r], va);
                    if beta != 0.0 {
                        v0 = S::fma(S::load(cp), vb, v0);
                        v1 = if n1 == l {
                            S::fma(S::load(cp.add(l)), vb, v1)
                        } else {
                            S::fma(S::load_partial(cp.add(l), n1), vb, v1)
                        };
                    }
                    S::store(cp, v0);
                    if n1 == l {
                        S::store(cp.add(l), v1);
                    } else {
                        S::store_partial(cp.add(l), v1, n1);
                    }
                } else if n0 == l {
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

    /// Packs depths `p0..p0 + kc` of rows `i0..i0 + mc` of `A` into groups of `MR` rows:
    /// row `i0 + q·MR + r`, depth `p0 + p` goes to `dst[q·MR·kc + p·MR + r]`. The slots of
    /// rows past `i0 + mc` in the last group are left as they are (the tail tiles never read
    /// them).
    ///
    /// # Safety
    /// `g` comes from `Args::new` for live views; `i0 + mc <= m`, `p0 + kc <= k`;
    /// `dst.len() >= mc.div_ceil(MR)·MR·kc`.
    #[inline(always)]
    unsafe fn pack_a<const MR: usize>(
        g: &Args,
        i0: usize,
        mc: usize,
        p0: usize,
        kc: usize,
        dst: &mut [f32],
    ) {
        for q in 0..mc.div_ceil(MR) {
            let rows = MR.min(mc - q * MR);
            let panel = &mut dst[q * MR * kc..(q + 1) * MR * kc];
            let row0 = i0 + q * MR;
            if g.a_rs == 1 {
                // Aᵀ of a row-major matrix (a layer's input in the weight gradient): the rows
                // of one depth are contiguous.
                for (p, group) in panel.chunks_exact_mut(MR).enumerate() {
                    // SAFETY: rows `row0..row0 + rows <= m`, depth `p0 + p < k`, inside `A`.
                    let src = unsafe { g.a.add((p0 + p) * g.a_cs + row0) };
                    for (r, d) in group[..rows].iter_mut().enumerate() {
                        // SAFETY: as above, row `row0 + r`.
                        *d = unsafe { *src.add(r) };
                    }
                }
            } else {
                for r in 0..rows {
                    // SAFETY: row `row0 + r < m`, depth `p0 < k`, inside `A`.
                    let src = unsafe { g.a.add((row0 + r) * g.a_rs + p0 * g.a_cs) };
                    for p in 0..kc {
                        // SAFETY: depth `p0 + p < k` of the same row.
                        panel[p * MR + r] = unsafe { *src.add(p * g.a_cs) };
                    }
                }
            }
        }
    }

    /// Packs depths `p0..p0 + kc` of columns `j0..j0 + nc` of `B` into panels of `NR`
    /// columns: column `j0 + q·NR + j`, depth `p0 + p` goes to `dst[q·NR·kc + p·NR + j]`, and
    /// the columns past `j0 + nc` in the last panel are zeros.
    ///
    /// # Safety
    /// The instruction set of `S` is present; `g` comes from `Args::new` for live views;
    /// `j0 + nc <= n`, `p0 + kc <= k`; `dst.len() >= nc.div_ceil(NR)·NR·kc`; `NR >= 16`.
    #[inline(always)]
    unsafe fn pack_b<S: Simd, const NR: usize>(
        g: &Args,
        j0: usize,
        nc: usize,
        p0: usize,
        kc: usize,
        dst: &mut [f32],
    ) {
        for q in 0..nc.div_ceil(NR) {
            let col0 = j0 + q * NR;
            let cols = NR.min(j0 + nc - col0);
            let panel = &mut dst[q * NR * kc..(q + 1) * NR * kc];
            if g.b_cs == 1 {
                for (p, row) in panel.chunks_exact_mut(NR).enumerate() {
                    // SAFETY: row `p0 + p < k`, columns `col0..col0 + cols <= n`, inside `B`.
                    let src = unsafe {
                        std::slice::from_raw_parts(g.b.add((p0 + p) * g.b_rs + col0), cols)
                    };
                    row[..cols].copy_from_slice(src);
                    row[cols..].fill(0.0);
                }
            } else {
                if cols < NR {
                    panel.fill(0.0);
                }
                let (mut p_done, mut j_done) = (0, 0);
                if S::TRANSPOSE16 && g.b_rs == 1 {
                    // Bᵀ of a row-major matrix (a layer's kernel in the input gradient): each
                    // column of `B` is contiguous; 16 × 16 blocks are transposed in registers.
                    (p_done, j_done) = (kc / 16 * 16, cols / 16 * 16);
                    for jb in (0..j_done).step_by(16) {
                        for pb in (0..p_done).step_by(16) {
                            // SAFETY: columns `col0 + jb .. + 16 <= n` and depths
                            // `p0 + pb .. + 16 <= k` lie inside `B` (`b_rs == 1`); the panel
                            // holds rows `pb .. pb + 16 <= kc` of `NR >= jb + 16` floats.
                            unsafe {
                                let src = g.b.add(p0 + pb + (col0 + jb) * g.b_cs);
                                let dst = panel.as_mut_ptr().add(pb * NR + jb);
                                S::transpose16(src, g.b_cs, dst, NR);
                            }
                        }
                    }
                }
                for j in 0..cols {
                    // SAFETY: column `col0 + j < n`, depth `p0 < k`, inside `B`.
                    let src = unsafe { g.b.add(p0 * g.b_rs + (col0 + j) * g.b_cs) };
                    let from = if j < j_done { p_done } else { 0 };
                    for p in from..kc {
                        // SAFETY: depth `p0 + p < k` of the same column.
                        panel[p * NR + j] = unsafe { *src.add(p * g.b_rs) };
                    }
                }
            }
        }
    }

    /// Columns of `C` per block of the packed product (`B̃` is `KC × NC`, 1 MiB, in L2).
    const NC: usize = 1024;
    /// Row tiles per block of the packed product (`Ã` is `MC_TILES·MR × KC`).
    const MC_TILES: usize = 12;

    /// Floats of scratch [`packed`] needs for a product: `B̃`, `Ã` and the alignment slack.
    fn packed_len<const MR: usize, const NR: usize>(g: &Args) -> usize {
        let kc = KC.min(g.k);
        let b = NC.min(g.n).div_ceil(NR) * NR * kc;
        let a = (MC_TILES * MR).min(g.m).div_ceil(MR) * MR * kc;
        b + a + 16
    }

    /// Cache-blocked product on packed operands: for each block of `NC` columns and each
    /// depth block of `KC`, `B` is packed into panels of `NR = 2·LANES` columns; for each block
    /// of `MC_TILES·MR` rows `A` is packed into groups of `MR` rows; then each panel of `B̃`
    /// (in L1) is swept by the row tiles of `Ã` (in L2). Both live in `pack`, aligned to 64
    /// bytes. A small `A` (`m·KC <= A_IN_PLACE_MAX`) is not packed: the row tiles of `MRD` rows
    /// read it in place. Per element of `C` the sums are those of [`direct`] and of the
    /// portable kernel.
    ///
    /// # Safety
    /// The instruction set of `S` is present; `g` comes from `Args::new` for views borrowed for
    /// the duration of the call; `NR == 2·S::LANES`; `MR <= 14` (the tails have at most 13
    /// rows); `MRD <= 12`.
    #[inline(always)]
    unsafe fn packed<S: Simd, const MR: usize, const NR: usize, const MRD: usize>(
        g: &Args,
        pack: &mut Vec<f32>,
    ) {
        debug_assert_eq!(NR, 2 * S::LANES);
        // A small `A` (a depth block of at most 64 KiB) is read in place, as by `direct`.
        let packs_a = g.m * KC.min(g.k) > A_IN_PLACE_MAX;
        let len = packed_len::<MR, NR>(g);
        if pack.len() < len {
            pack.resize(len, 0.0);
        }
        let off = pack.as_ptr().align_offset(64).min(16);
        let kc_max = KC.min(g.k);
        let b_len = NC.min(g.n).div_ceil(NR) * NR * kc_max;
        let (bt, at) = pack[off..len - 16 + off].split_at_mut(b_len);
        let mc_max = MC_TILES * MR;
        let mut j0 = 0;
        while j0 < g.n {
            let nc = NC.min(g.n - j0);
            let mut p0 = 0;
            while p0 < g.k {
                let kc = KC.min(g.k - p0);
                let beta = if p0 == 0 { g.beta } else { 1.0 };
                // SAFETY: `j0 + nc <= n`, `p0 + kc <= k`, and `bt` holds
                // `NC.min(n).div_ceil(NR)·NR·KC.min(k)` floats, at least what the block needs.
                unsafe { pack_b::<S, NR>(g, j0, nc, p0, kc, bt) };
                if !packs_a {
                    // SAFETY: depth `p0 < k` of row 0 lies inside `A` (`m > 0`).
                    let a = unsafe { g.a.add(p0 * g.a_cs) };
                    for q in 0..nc.div_ceil(NR) {
                        let col = j0 + q * NR;
                        let panel = Panel {
                            ptr: bt[q * NR * kc..].as_ptr(),
                            ldb: NR,
                            nr: NR.min(g.n - col),
                            padded: true,
                        };
                        // SAFETY: `a` is as `rows_nv` requires; the panel holds `kc` rows of
                        // `NR = 2·LANES` floats, zeros past `nr`; column `col < n` of row 0
                        // lies inside `C`, whose rows have `nr` columns from there.
                        unsafe { rows::<S, MRD>(g, kc, a, panel, beta, g.c.add(col)) };
                    }
                    p0 += kc;
                    continue;
                }
                let mut i0 = 0;
                while i0 < g.m {
                    let mc = mc_max.min(g.m - i0);
                    // SAFETY: as above for `A`: `at` holds `mc_max.min(m)` rows rounded up to
                    // `MR`, times `KC.min(k)`.
                    unsafe { pack_a::<MR>(g, i0, mc, p0, kc, at) };
                    for q in 0..nc.div_ceil(NR) {
                        let col = j0 + q * NR;
                        let cols = NR.min(g.n - col);
                        let bp = bt[q * NR * kc..].as_ptr();
                        for t in 0..mc.div_ceil(MR) {
                            let row = i0 + t * MR;
                            let rows = MR.min(g.m - row);
                            let ap = at[t * MR * kc..].as_ptr();
                            // SAFETY: `row < m` and `col < n`, so the tile's corner lies inside
                            // `C`; its `rows` rows and `cols` columns from there are inside too.
                            let cp = unsafe { g.c.add(row * g.c_rs + col) };
                            // SAFETY: `ap` holds `kc` groups of `MR` floats (the first `rows`
                            // written by `pack_a`), `bp` `kc` rows of `NR` floats; `C` as
                            // above; `0 < cols <= NR`, and `NV = 1` only for `cols <= LANES`.
                            unsafe {
                                macro_rules! tile {
                                    ($nv:literal, $($r:literal)*) => {
                                        match rows {
                                            $($r => kernel_packed::<S, $r, $nv, MR>(
                                                kc, ap, bp, g.alpha, beta, cp, g.c_rs, cols),)*
                                            _ => kernel_packed::<S, MR, $nv, MR>(
                                                kc, ap, bp, g.alpha, beta, cp, g.c_rs, cols),
                                        }
                                    };
                                }
                                if cols > S::LANES {
                                    tile!(2, 1 2 3 4 5 6 7 8 9 10 11 12 13)
                                } else {
                                    tile!(1, 1 2 3 4 5 6 7 8 9 10 11 12 13)
                                }
                            }
                        }
                    }
                    i0 += mc;
                }
                p0 += kc;
            }
            j0 += nc;
        }
    }

    /// Whether a product reads `B` in place ([`direct`]) rather than packing both operands
    /// ([`packed`]): a row-major `B` whose depth blocks fit in L1.
    fn reads_in_place(g: &Args) -> bool {
        g.b_cs == 1 && KC.min(g.k) * g.n <= DIRECT_MAX
    }

    /// # Safety
    /// The CPU supports AVX-512F; `g` comes from `Args::new` for live views.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn gemm_avx512(g: &Args, pack: &mut Vec<f32>) {
        if reads_in_place(g) {
            // SAFETY: the caller's guarantees; `b_cs == 1`; MR = 12.
            unsafe { direct::<Avx512, 12>(g) }
        } else {
            // SAFETY: the caller's guarantees; NR = 2·16; MR = 14; MRD = 12.
            unsafe { packed::<Avx512, 14, 32, 12>(g, pack) }
        }
    }

    /// # Safety
    /// The CPU supports AVX2 and FMA; `g` comes from `Args::new` for live views.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn gemm_avx2(g: &Args, pack: &mut Vec<f32>) {
        if reads_in_place(g) {
            // SAFETY: the caller's guarantees; `b_cs == 1`; MR = 6.
            unsafe { direct::<Avx2, 6>(g) }
        } else {
            // SAFETY: the caller's guarantees; NR = 2·8; MR = 6; MRD = 6.
            unsafe { packed::<Avx2, 6, 16, 6>(g, pack) }
        }
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

    /// Values whose products and sums round (unlike `filled`'s multiples of 1/64), so a
    /// different order of operations or a separate multiply and add would show.
    fn rough(rows: usize, cols: usize, seed: u32) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |(i, j)| {
            let h = (i as u32 * 7919 + j as u32 * 104_729 + seed * 15_485_863)
                .wrapping_mul(2_654_435_761);
            (h >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
        })
    }

    const SHAPES: [(usize, usize, usize); 17] = [
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
        (3, 600, 130),
        // Packed operands over several row blocks (`MC_TILES·14 = 168`) and column blocks
        // (`NC = 1024`), with tails in both.
        (180, 40, 1030),
        (130, 530, 50),
        // `A` read in place up to `A_IN_PLACE_MAX` (60 rows, a sonar weight gradient at
        // batch 300), packed just above it (65 rows).
        (60, 300, 60),
        (65, 300, 60),
    ];

    /// Every path this CPU can run.
    fn paths() -> Vec<Path> {
        let mut p = vec![Path::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                p.push(Path::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                p.push(Path::Avx512);
            }
        }
        p
    }

    #[test]
    fn matches_a_naive_product_for_awkward_shapes_strides_alpha_and_beta() {
        let mut pack = Vec::new();
        for path in paths() {
            for &(m, k, n) in &SHAPES {
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
                    gemm_on(path, 0.5, &a.view(), &b, 2.0, &mut c.view_mut(), &mut pack);
                    for (x, y) in c.iter().zip(expected.iter()) {
                        assert!(
                            ((*x as f64) - y).abs() < 1e-3 * (1.0 + y.abs()),
                            "{path:?} {m}x{k}x{n}"
                        );
                    }
                    // beta = 0 ignores (possibly NaN) old contents
                    let mut c = Array2::from_elem((m, n), f32::NAN);
                    gemm_on(path, 1.0, &a.view(), &b, 0.0, &mut c.view_mut(), &mut pack);
                    let e = naive(&a.view(), &b);
                    for (x, y) in c.iter().zip(e.iter()) {
                        assert!(((*x as f64) - y).abs() < 1e-3 * (1.0 + y.abs()));
                    }
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
        let expected = naive(&a, &g.view());
        for path in paths() {
            let mut c = Array2::<f32>::zeros((60, 30));
            gemm_on(path, 1.0, &a, &g.view(), 0.0, &mut c.view_mut(), &mut pack);
            for (x, y) in c.iter().zip(expected.iter()) {
                assert!(((*x as f64) - y).abs() < 1e-3, "{path:?}");
            }
        }
    }

    #[test]
    fn the_portable_kernel_equals_the_simd_kernels_bitwise() {
        let simd: Vec<Path> = paths()
            .into_iter()
            .filter(|&p| p != Path::Portable)
            .collect();
        if simd.is_empty() {
            eprintln!("no SIMD kernel on this CPU: nothing to compare the portable one with");
            return;
        }
        let mut pack = Vec::new();
        for &(m, k, n) in &SHAPES {
            for (transpose_a, transpose_b) in [(false, false), (false, true), (true, false)] {
                let a_owned = if transpose_a {
                    rough(k, m, 1).reversed_axes()
                } else {
                    rough(m, k, 1)
                };
                let b_owned = if transpose_b {
                    rough(n, k, 2).reversed_axes()
                } else {
                    rough(k, n, 2)
                };
                let (a, b) = (a_owned.view(), b_owned.view());
                for (alpha, beta) in [(1.0, 0.0), (1.0, 1.0), (0.37, -1.3)] {
                    let c0 = rough(m, n, 3);
                    let mut want = c0.clone();
                    gemm_on(
                        Path::Portable,
                        alpha,
                        &a,
                        &b,
                        beta,
                        &mut want.view_mut(),
                        &mut pack,
                    );
                    for &path in &simd {
                        let mut got = c0.clone();
                        gemm_on(path, alpha, &a, &b, beta, &mut got.view_mut(), &mut pack);
                        let same = got
                            .iter()
                            .zip(want.iter())
                            .all(|(x, y)| x.to_bits() == y.to_bits());
                        assert!(same, "{path:?} {m}x{k}x{n} {transpose_a} {transpose_b}");
                    }
                }
            }
        }
    }

    #[test]
    fn products_split_over_threads_give_the_bits_of_one() {
        // Blocks of columns on several threads: every element is summed in the same order.
        let shapes = [(33, 300, 130), (128, 784, 1000), (5, 17, 64), (70, 260, 97)];
        for path in paths() {
            for &(m, k, n) in &shapes {
                let a = filled(m, k, 1);
                let b = filled(k, n, 2);
                let bt = filled(n, k, 3);
                let c0 = filled(m, n, 4);
                for (alpha, beta) in [(1.0, 0.0), (0.5, 2.0)] {
                    let run = |blocks: usize, b: &ArrayView2<f32>| {
                        let (mut c, mut pack) = (c0.clone(), Pack::default());
                        let (a, mut cv) = (a.view(), c.view_mut());
                        gemm_blocks(path, blocks, alpha, &a, b, beta, &mut cv, &mut pack);
                        c
                    };
                    for b in [b.view(), bt.t()] {
                        let one = run(1, &b);
                        for blocks in [2, 3, 5] {
                            assert_eq!(run(blocks, &b), one, "{path:?} {m}x{k}x{n} {blocks}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn views_the_simd_kernels_cannot_read_use_the_portable_kernel() {
        // A negative stride and a column-major result: the SIMD kernels decline them.
        let a = filled(7, 20, 1);
        let b = filled(20, 9, 2);
        let a_rev = a.slice(s![..;-1, ..]);
        let expected = naive(&a_rev, &b.view());
        for path in paths() {
            let mut c = Array2::<f32>::zeros((7, 9).f());
            gemm(
                1.0,
                &a_rev,
                &b.view(),
                0.0,
                &mut c.view_mut(),
                &mut Pack::default(),
            )
            .unwrap();
            gemm_on(
                path,
                1.0,
                &a_rev,
                &b.view(),
                0.0,
                &mut c.view_mut(),
                &mut Vec::new(),
            );
            for (x, y) in c.iter().zip(expected.iter()) {
                assert!(((*x as f64) - y).abs() < 1e-3, "{path:?}");
            }
        }
    }

    #[test]
    fn an_empty_depth_scales_the_result_by_beta() {
        let a = Array2::<f32>::zeros((3, 0));
        let b = Array2::<f32>::zeros((0, 4));
        let mut c = Array2::from_elem((3, 4), 2.0f32);
        gemm(
            1.0,
            &a.view(),
            &b.view(),
            0.5,
            &mut c.view_mut(),
            &mut Pack::default(),
        )
        .unwrap();
        assert!(c.iter().all(|&v| v == 1.0));
        let mut c = Array2::from_elem((3, 4), f32::NAN);
        gemm(
            1.0,
            &a.view(),
            &b.view(),
            0.0,
            &mut c.view_mut(),
            &mut Pack::default(),
        )
        .unwrap();
        assert!(c.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn mismatched_shapes_are_errors_and_write_nothing() {
        let mut pack = Pack::default();
        let a = Array2::<f32>::ones((64, 4));
        let w = Array2::<f32>::ones((4, 32));
        let mut small = Array2::<f32>::zeros((1, 32));
        let err = gemm(
            1.0,
            &a.view(),
            &w.view(),
            0.0,
            &mut small.view_mut(),
            &mut pack,
        );
        assert!(
            matches!(err, Err(Error::ShapeMismatch { ref expected, ref found, .. })
            if expected == &[64, 32] && found == &[1, 32])
        );
        assert!(small.iter().all(|&v| v == 0.0));
        let wide = Array2::<f32>::ones((1, 4096));
        let mut c = Array2::<f32>::zeros((1, 32));
        let err = gemm(
            1.0,
            &wide.view(),
            &w.view(),
            0.0,
            &mut c.view_mut(),
            &mut pack,
        );
        assert!(
            matches!(err, Err(Error::ShapeMismatch { ref expected, .. }) if expected == &[4096, 32])
        );
    }

    #[test]
    fn the_switch_is_set_by_any_value_but_empty_and_0() {
        use std::ffi::OsStr;
        assert!(!portable_forced(None));
        assert!(!portable_forced(Some(OsStr::new(""))));
        assert!(!portable_forced(Some(OsStr::new("0"))));
        assert!(portable_forced(Some(OsStr::new("1"))));
        assert!(portable_forced(Some(OsStr::new("yes"))));
    }
}
