//! A counting global allocator for the tests that check what a call allocates. The counters
//! are process-wide, so they also see allocations made on worker threads; a test binary that
//! installs it runs without libtest's harness (`harness = false` in Cargo.toml), whose own
//! threads would otherwise allocate while it counts.
//!
//! Install it in the test file with
//! `#[global_allocator] static GLOBAL: counting::Counting = counting::Counting;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting allocations (alloc, alloc_zeroed, realloc) and their bytes.
pub struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

fn bump(bytes: usize) {
    ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
    BYTES.fetch_add(bytes, Ordering::SeqCst);
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are atomics,
// which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocations and the bytes they asked for, on every thread, while `f` runs.
pub fn allocations_during(f: impl FnOnce()) -> (usize, usize) {
    let (n, b) = (
        ALLOCATIONS.load(Ordering::SeqCst),
        BYTES.load(Ordering::SeqCst),
    );
    f();
    (
        ALLOCATIONS.load(Ordering::SeqCst) - n,
        BYTES.load(Ordering::SeqCst) - b,
    )
}
