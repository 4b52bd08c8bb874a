//! The benches' global allocator.
//!
//! The system allocator by default: the issue #15 targets (the plain-API
//! word count and the inverse windowed count against hand-written loops)
//! are measured on it. Built with `BENCH_ALLOCATOR=mimalloc` in the
//! environment (`BENCH_ALLOCATOR=mimalloc cargo bench --bench wordcount`),
//! every variant runs on mimalloc instead; the choice is a compile-time
//! constant, so the allocator costs no branch.
//!
//! Counting (allocations and live bytes) is off unless [`count`] switched
//! it on: while off it costs one read of a flag no one writes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, Ordering};

/// Whether this build runs on mimalloc (`BENCH_ALLOCATOR=mimalloc`).
pub const MIMALLOC: bool = is_mimalloc(option_env!("BENCH_ALLOCATOR"));

const fn is_mimalloc(v: Option<&str>) -> bool {
    let Some(v) = v else { return false };
    let (a, b) = (v.as_bytes(), b"mimalloc");
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The allocator's name, for the benches' headers.
pub fn name() -> &'static str {
    if MIMALLOC {
        "mimalloc (BENCH_ALLOCATOR=mimalloc)"
    } else {
        "system (glibc malloc)"
    }
}

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicIsize = AtomicIsize::new(0);

/// Switches counting on or off.
#[allow(dead_code)]
pub fn count(on: bool) {
    COUNTING.store(on, Ordering::SeqCst);
}

/// Allocations (including reallocations) since counting was switched on.
#[allow(dead_code)]
pub fn allocations() -> u64 {
    ALLOCS.load(Ordering::SeqCst)
}

/// Bytes allocated and not freed while counting was on.
#[allow(dead_code)]
pub fn live_bytes() -> isize {
    LIVE.load(Ordering::SeqCst)
}

/// The system allocator or mimalloc, see the module documentation.
pub struct BenchAlloc;

#[inline]
fn counted(delta: isize, alloc: bool) {
    if COUNTING.load(Ordering::Relaxed) {
        if alloc {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        LIVE.fetch_add(delta, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for BenchAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        counted(layout.size() as isize, true);
        if MIMALLOC {
            mimalloc::MiMalloc.alloc(layout)
        } else {
            System.alloc(layout)
        }
    }
    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        counted(-(layout.size() as isize), false);
        if MIMALLOC {
            mimalloc::MiMalloc.dealloc(ptr, layout)
        } else {
            System.dealloc(ptr, layout)
        }
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        counted(layout.size() as isize, true);
        if MIMALLOC {
            mimalloc::MiMalloc.alloc_zeroed(layout)
        } else {
            System.alloc_zeroed(layout)
        }
    }
    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        counted(new_size as isize - layout.size() as isize, true);
        if MIMALLOC {
            mimalloc::MiMalloc.realloc(ptr, layout, new_size)
        } else {
            System.realloc(ptr, layout, new_size)
        }
    }
}
