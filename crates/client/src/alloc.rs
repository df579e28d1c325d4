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
//! The same binaries call [`keep_freed_memory`] once at start and
//! [`release_freed_memory`] now and then (see there why).
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

/// Allocations up to this size come from glibc's heaps, not from a mapping
/// of their own (glibc's largest allowed value on 64-bit).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 32 << 20;

/// Free memory at the top of a glibc heap is returned to the kernel only
/// beyond this much.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 64 << 20;

/// Makes glibc keep freed memory for reuse instead of handing it back to the
/// kernel after every large free.
///
/// Why: every fetch response is read into a buffer of its own, megabytes
/// long. With glibc's defaults (a mapping per allocation above a threshold
/// that only grows with the largest block freed so far, heaps trimmed at
/// twice that) many of those buffers land on fresh pages, and the kernel
/// faults in and zeroes each 4 KiB page on first write: measured on a
/// 512 MiB catch-up, 50,000 to 140,000 page faults per GB copied, most
/// of them in a process that owns few partitions (its responses are
/// smaller, so its thresholds stay lower), about a fifth of the CPU it
/// spends per GB. Fixed thresholds reuse the heap; [`release_freed_memory`]
/// gives what stays unused back. Returns whether glibc took both settings
/// (other C libraries: nothing to do, `false`).
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes glibc's allocation parameters.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// Returns the free memory of glibc's heaps to the kernel: with
/// [`keep_freed_memory`] a process would otherwise hold its peak heap
/// forever. Called every few seconds, it costs a walk of the heaps (well
/// under a millisecond) and, while copying, one page fault per page given
/// back. A blocking call: run it off the async threads.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory glibc holds as free.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_takes_the_fixed_thresholds() {
        assert!(keep_freed_memory());
        // Freed memory is kept, then given back on request without harm.
        drop(vec![1u8; 8 << 20]);
        release_freed_memory();
        let again = vec![2u8; 8 << 20];
        assert!(again.iter().all(|b| *b == 2));
    }
}
