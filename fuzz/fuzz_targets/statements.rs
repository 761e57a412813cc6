//! The statement splitter and the readers of its statements (classifier, tuple walker,
//! LOAD DATA conversion); the properties are documented on `sfdbtools::fuzzing::statements`.
//! Here also: the splitter's memory stays within a few times the input plus a constant,
//! whatever the input (a counting allocator measures the peak of each run).
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// The fuzz target's own allocator; the checks forbid unsafe code only in sfdbtools itself.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allowed beyond a few copies of the input: the splitter's read buffers (256 KiB each).
const CONSTANT: usize = 4 << 20;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    sfdbtools::fuzzing::statements(data);
    let peak = PEAK.load(Ordering::Relaxed) - before;
    // Two splits (whole and trickled) keep their statements: about four copies of the input.
    assert!(
        peak <= 6 * data.len() + CONSTANT,
        "splitting {} bytes peaked at {peak} bytes",
        data.len()
    );
});
