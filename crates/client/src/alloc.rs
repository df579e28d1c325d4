//! A global allocator that makes huge allocations lazy.
//!
//! Why: `kafka-protocol` 0.18 pre-allocates every array it decodes with
//! `Vec::with_capacity(n)`, `n` read from the wire. A corrupt or hostile
//! response with a few bytes declaring two billion elements asks for hundreds
//! of gigabytes up front; the system allocator refuses and Rust aborts the
//! process before the decoder would have failed cleanly on the short buffer
//! (upstream: kafka-protocol-rs PRs #152, #161 and #200, open at the time of
//! writing). This allocator serves allocations of 1 GiB and more with
//! `mmap(MAP_NORESERVE)`: address space is reserved, memory only when pages
//! are touched. The decoder then runs out of input after a few elements,
//! returns an error, and the mapping is released. Everything smaller goes to
//! the system allocator unchanged.
//!
//! Binaries that decode broker bytes install it:
//! `#[global_allocator] static ALLOC: LazyHugeAlloc = LazyHugeAlloc;`
//!
//! The same binaries call [`release_freed_memory`] now and then (see there
//! why).
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations at or above this size are reserved lazily.
const HUGE: usize = 1 << 30;

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct LazyHugeAlloc;

fn is_huge(layout: &Layout) -> bool {
    cfg!(unix) && layout.size() >= HUGE && layout.align() <= 4096
}

// SAFETY: small allocations are forwarded to `System` as is; huge ones are
// page-aligned anonymous mappings (zero-filled, which also satisfies
// `alloc_zeroed`), released with `munmap` of the same length.
unsafe impl GlobalAlloc for LazyHugeAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_huge(&layout) {
            return map_lazily(layout.size());
        }
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_huge(&layout) {
            return map_lazily(layout.size());
        }
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_huge(&layout) {
            #[cfg(unix)]
            libc::munmap(ptr.cast(), layout.size());
            return;
        }
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        if !is_huge(&layout) && !is_huge(&new_layout) {
            return System.realloc(ptr, layout, new_size);
        }
        let new_ptr = self.alloc(new_layout);
        if !new_ptr.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new_ptr, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new_ptr
    }
}

#[cfg(unix)]
unsafe fn map_lazily(size: usize) -> *mut u8 {
    let ptr = libc::mmap(
        std::ptr::null_mut(),
        size,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
        -1,
        0,
    );
    if ptr == libc::MAP_FAILED {
        std::ptr::null_mut()
    } else {
        ptr.cast()
    }
}

#[cfg(not(unix))]
unsafe fn map_lazily(_size: usize) -> *mut u8 {
    std::ptr::null_mut()
}

/// Returns the free memory of glibc's heaps to the kernel. glibc gives
/// back only what is free at the top of its main heap; memory freed
/// elsewhere (what a start-up with thousands of partitions allocated and
/// dropped, or the heaps of other threads) would otherwise stay resident
/// at its peak. Called every few seconds, it costs a walk of the heaps,
/// well under a millisecond. Large receive buffers are not affected: the
/// receive pool keeps those (`crate::recv_pool`). A blocking call: run it
/// off the async threads.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory glibc holds as free.
    unsafe {
        libc::malloc_trim(0);
    }
}
