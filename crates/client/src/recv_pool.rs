//! Reused buffers for large response frames.
//!
//! Why: a fetch response of several MiB is read into a buffer of its own
//! size, and the forwarded batches are zero-copy slices of it until the
//! target acknowledges them. A fresh allocation of that size is a fresh
//! mapping, so the first write to each of its pages is a page fault: one
//! per 4 KiB received, about a tenth of kmirror's CPU during catch-up. This
//! pool keeps the buffers of dropped frames (when the last slice of a frame
//! goes, its buffer comes back here) and hands them out again, so their pages
//! stay mapped.
//!
//! One pool per process rather than per connection: a frame is dropped on
//! whatever task sent its last batch, and a per-connection pool would
//! multiply the memory kept at rest by the number of brokers. What it keeps
//! is bounded by [`MAX_KEPT_BYTES`] and [`MAX_KEPT_BUFFERS`]; frames under
//! [`MIN_POOLED`] are left to the allocator, which recycles small blocks
//! without faulting.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

use bytes::{Bytes, BytesMut};

/// Frames smaller than this are allocated as before.
pub const MIN_POOLED: usize = 256 * 1024;
/// Pooled buffers are sized in steps of this, so responses of slightly
/// different sizes reuse each other's buffers.
const SIZE_STEP: usize = 1024 * 1024;
/// At most this many bytes of idle buffers are kept.
pub const MAX_KEPT_BYTES: usize = 64 * 1024 * 1024;
/// At most this many idle buffers are kept.
pub const MAX_KEPT_BUFFERS: usize = 16;

/// The process's pool (see the module documentation).
static POOL: RecvPool = RecvPool::new(MAX_KEPT_BYTES, MAX_KEPT_BUFFERS);

/// A buffer with room for at least `size` bytes, empty; from the pool when
/// `size` is large enough to be pooled.
pub fn take(size: usize) -> FrameBuffer {
    if size < MIN_POOLED {
        return FrameBuffer {
            buf: BytesMut::with_capacity(size),
            pool: None,
        };
    }
    POOL.frame(size)
}

/// A frame being read (it dereferences to the bytes read so far);
/// [`FrameBuffer::freeze`] makes it shareable.
#[derive(Debug)]
pub struct FrameBuffer {
    buf: BytesMut,
    pool: Option<&'static RecvPool>,
}

impl From<BytesMut> for FrameBuffer {
    /// A buffer outside the pool.
    fn from(buf: BytesMut) -> Self {
        FrameBuffer { buf, pool: None }
    }
}

impl Deref for FrameBuffer {
    type Target = BytesMut;

    fn deref(&self) -> &BytesMut {
        &self.buf
    }
}

impl DerefMut for FrameBuffer {
    fn deref_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }
}

impl FrameBuffer {
    /// Cuts the first `len` bytes off as a frame, for a reader whose buffer
    /// also holds what follows the frame (TLS records). A pooled buffer
    /// becomes the frame whole, so that it can return to the pool, and what
    /// follows (less than a read's worth) is copied into a fresh buffer; any
    /// other buffer is split without a copy.
    pub fn split_frame(&mut self, len: usize) -> Bytes {
        if self.pool.is_none() {
            return self.buf.split_to(len).freeze();
        }
        let mut rest = take(self.buf.len() - len);
        rest.extend_from_slice(&self.buf[len..]);
        self.buf.truncate(len);
        std::mem::replace(self, rest).freeze()
    }

    /// The frame as `Bytes`; its buffer returns to the pool when the last
    /// slice of it is dropped.
    pub fn freeze(mut self) -> Bytes {
        let buf = std::mem::take(&mut self.buf);
        match self.pool.take() {
            None => buf.freeze(),
            Some(pool) => Bytes::from_owner(Returning { buf, pool }),
        }
    }
}

impl Drop for FrameBuffer {
    /// A buffer dropped unfrozen (a read failed, or a reader replaced it
    /// with a larger one) goes back to the pool too.
    fn drop(&mut self) {
        if let Some(pool) = self.pool {
            pool.give_back(std::mem::take(&mut self.buf));
        }
    }
}

/// Owner of a pooled frame's buffer inside `Bytes`.
struct Returning {
    buf: BytesMut,
    pool: &'static RecvPool,
}

impl AsRef<[u8]> for Returning {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        self.pool.give_back(std::mem::take(&mut self.buf));
    }
}

/// Idle buffers, bounded in count and bytes.
#[derive(Debug)]
pub struct RecvPool {
    idle: Mutex<Idle>,
    max_bytes: usize,
    max_buffers: usize,
}

#[derive(Debug)]
struct Idle {
    buffers: Vec<BytesMut>,
    bytes: usize,
}

impl RecvPool {
    pub const fn new(max_bytes: usize, max_buffers: usize) -> Self {
        RecvPool {
            idle: Mutex::new(Idle {
                buffers: Vec::new(),
                bytes: 0,
            }),
            max_bytes,
            max_buffers,
        }
    }

    /// A frame buffer of at least `size` bytes that returns here.
    pub fn frame(&'static self, size: usize) -> FrameBuffer {
        FrameBuffer {
            buf: self.take(size),
            pool: Some(self),
        }
    }

    /// The smallest idle buffer that holds `size` bytes, or a new one
    /// rounded up to the size step.
    pub fn take(&self, size: usize) -> BytesMut {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let best = idle
            .buffers
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= size)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        if let Some(i) = best {
            let buf = idle.buffers.swap_remove(i);
            idle.bytes -= buf.capacity();
            return buf;
        }
        drop(idle);
        BytesMut::with_capacity(size.div_ceil(SIZE_STEP) * SIZE_STEP)
    }

    /// Keeps `buf` for reuse if the bounds allow; when they do not, the
    /// smallest idle buffers make way for a larger one, since a large buffer
    /// can serve every frame a small one can.
    pub fn give_back(&self, mut buf: BytesMut) {
        buf.clear();
        let cap = buf.capacity();
        if cap > self.max_bytes {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while idle.buffers.len() >= self.max_buffers || idle.bytes + cap > self.max_bytes {
            let Some((i, smallest)) = idle
                .buffers
                .iter()
                .enumerate()
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, b)| (i, b.capacity()))
            else {
                break;
            };
            if smallest >= cap {
                return;
            }
            idle.buffers.swap_remove(i);
            idle.bytes -= smallest;
        }
        idle.bytes += cap;
        idle.buffers.push(buf);
    }

    /// Idle buffers and their bytes.
    pub fn kept(&self) -> (usize, usize) {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        (idle.buffers.len(), idle.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1024 * 1024;

    /// A pool of its own for one test, as the process's pool is `'static`.
    fn test_pool() -> &'static RecvPool {
        Box::leak(Box::new(RecvPool::new(64 * MIB, 4)))
    }

    #[test]
    fn a_dropped_frame_buffer_is_handed_out_again_without_a_new_allocation() {
        let pool = test_pool();
        let mut frame = pool.frame(3 * MIB);
        frame.extend_from_slice(&vec![7u8; 3 * MIB]);
        let first_ptr = frame.as_ptr();
        let bytes = frame.freeze();
        let slice = bytes.slice(10..20);
        drop(bytes);
        assert_eq!(pool.kept(), (0, 0), "a live slice keeps the buffer");
        assert_eq!(&slice[..], &[7u8; 10]);
        drop(slice);
        assert_eq!(pool.kept(), (1, 3 * MIB));

        let again = pool.take(2 * MIB + 5);
        assert_eq!(again.as_ptr(), first_ptr);
        assert!(again.is_empty());
        assert_eq!(pool.kept(), (0, 0));
    }

    #[test]
    fn take_picks_the_smallest_buffer_that_fits() {
        let pool = RecvPool::new(64 * MIB, 8);
        for size in [8 * MIB, 2 * MIB, 4 * MIB] {
            pool.give_back(BytesMut::with_capacity(size));
        }
        assert_eq!(pool.take(3 * MIB).capacity(), 4 * MIB);
        assert_eq!(pool.take(MIB).capacity(), 2 * MIB);
        assert_eq!(pool.kept(), (1, 8 * MIB));
        // Nothing fits: a new buffer, rounded up to the size step.
        assert_eq!(pool.take(9 * MIB + 1).capacity(), 10 * MIB);
        assert_eq!(pool.kept(), (1, 8 * MIB));
    }

    #[test]
    fn what_is_kept_stays_within_both_bounds_and_prefers_large_buffers() {
        let pool = RecvPool::new(10 * MIB, 3);
        for size in [MIB, 2 * MIB, 3 * MIB, 4 * MIB] {
            pool.give_back(BytesMut::with_capacity(size));
        }
        // Four buffers over a bound of three: the 1 MiB one made way.
        assert_eq!(pool.kept(), (3, 9 * MIB));
        pool.give_back(BytesMut::with_capacity(5 * MIB));
        // 5 MiB in: 2 and 3 MiB out (bytes), 4 + 5 = 9 MiB kept.
        assert_eq!(pool.kept(), (2, 9 * MIB));
        // Smaller than everything kept, and no room: dropped.
        pool.give_back(BytesMut::with_capacity(2 * MIB));
        assert_eq!(pool.kept(), (2, 9 * MIB));
        // Larger than the whole bound: never kept.
        pool.give_back(BytesMut::with_capacity(11 * MIB));
        assert_eq!(pool.kept(), (2, 9 * MIB));
    }

    #[test]
    fn a_frame_cut_from_a_pooled_buffer_takes_the_whole_buffer_back_to_the_pool() {
        let pool = test_pool();
        let mut buffer = pool.frame(2 * MIB);
        buffer.extend_from_slice(&vec![1u8; MIB]);
        buffer.extend_from_slice(b"next record");
        let frame = buffer.split_frame(MIB);
        assert_eq!(frame.len(), MIB);
        assert_eq!(&buffer[..], b"next record");
        assert!(buffer.pool.is_none(), "the rest is small: not pooled");
        drop(frame);
        assert_eq!(pool.kept(), (1, 2 * MIB));

        // Outside the pool, a split without a copy.
        let mut plain = FrameBuffer::from(BytesMut::from(&b"framerest"[..]));
        assert_eq!(&plain.split_frame(5)[..], b"frame");
        assert_eq!(&plain[..], b"rest");
    }

    #[test]
    fn a_buffer_dropped_unfrozen_returns_to_the_pool() {
        let pool = test_pool();
        let buffer = pool.frame(MIB);
        drop(buffer);
        assert_eq!(pool.kept(), (1, MIB));
    }

    #[test]
    fn small_frames_bypass_the_pool() {
        let mut frame = take(1000);
        frame.extend_from_slice(b"abc");
        assert!(frame.pool.is_none());
        assert_eq!(&frame.freeze()[..], b"abc");
    }
}
