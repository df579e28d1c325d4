//! Cutting response frames out of a plain TCP stream.
//!
//! Why a read-ahead: reading a frame's 4-byte size and then its body costs
//! two `recv` calls per response. Produce responses are small (tens of bytes
//! per partition) and there is one per request; a request carries at most one
//! batch per partition, so a worker with few partitions sends many of them
//! (three workers sharing 12 partitions sent 2.8 times the produce requests
//! of one worker for the same data, and made 40 % more `recv` calls). One
//! `recv` of up to [`READ_AHEAD`] bytes takes the size, a small frame whole,
//! and often the frames after it; small frames are then slices of that read,
//! not copies.
//!
//! A large frame (a fetch response) is read as before, straight into a
//! buffer of its own size from [`recv_pool`](crate::recv_pool), never past
//! its end: only the bytes already read ahead are copied into that buffer,
//! at most [`READ_AHEAD`] of its first bytes (the read-ahead never holds
//! more, whatever the capacity `BytesMut` gave its buffer).
//!
//! While the rest of a large frame arrives, the socket's receive low-water
//! mark (`SO_RCVLOWAT`) is raised to the bytes still missing, up to
//! [`LOW_WATER_MAX`]: the process then wakes once per half MiB or so instead
//! of once per segment burst (a 12 MiB fetch response took about 100
//! `recv` calls, each after a wake-up). A frame is of no use before its last
//! byte, so this delays nothing. The mark is back at 1 before the next frame
//! is read, and never above the bytes the frame still lacks, so a wait can
//! always be satisfied. With `receive.buffer.bytes` set, the mark stays under
//! half that buffer: the kernel grows an automatic buffer to fit the mark,
//! not a fixed one.

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::net::tcp::OwnedReadHalf;

use crate::recv_pool;
use crate::security::tls_stream::FrameError;

/// Bytes one read may take beyond the frame being read. Frames up to this
/// size are read whole into the read-ahead buffer.
pub(crate) const READ_AHEAD: usize = 16 * 1024;

/// The highest receive low-water mark set while a large frame arrives.
pub(crate) const LOW_WATER_MAX: usize = 512 * 1024;

/// The read half of a plain connection, with the bytes read ahead.
#[derive(Debug)]
pub(crate) struct PlainFrames {
    tcp: OwnedReadHalf,
    ahead: BytesMut,
    /// The highest low-water mark to set (0: never set one).
    low_water_cap: usize,
    /// The mark set now (1 is the socket's default).
    low_water: usize,
}

impl PlainFrames {
    /// `receive_buffer`: the socket's `receive.buffer.bytes`, when set.
    pub(crate) fn new(tcp: OwnedReadHalf, receive_buffer: Option<u32>) -> Self {
        let cap = receive_buffer.map_or(LOW_WATER_MAX, |bytes| {
            (bytes as usize / 2).min(LOW_WATER_MAX)
        });
        PlainFrames {
            tcp,
            ahead: BytesMut::new(),
            low_water_cap: if cap > READ_AHEAD { cap } else { 0 },
            low_water: 1,
        }
    }

    /// The next frame, without its size prefix, at most `max_bytes` long.
    pub(crate) async fn read_frame(&mut self, max_bytes: usize) -> Result<Bytes, FrameError> {
        while self.ahead.len() < 4 {
            self.read_ahead().await?;
        }
        let size = i32::from_be_bytes([self.ahead[0], self.ahead[1], self.ahead[2], self.ahead[3]]);
        if size < 4 || size as usize > max_bytes {
            return Err(FrameError::BadSize(size));
        }
        let size = size as usize;
        let total = 4 + size;
        if total <= READ_AHEAD {
            while self.ahead.len() < total {
                self.read_ahead().await?;
            }
            let mut frame = self.ahead.split_to(total);
            frame.advance(4);
            return Ok(frame.freeze());
        }
        self.read_large(size).await
    }

    /// A frame larger than the read-ahead, whose start (and size prefix)
    /// may already be in `ahead`, but not its end.
    async fn read_large(&mut self, size: usize) -> Result<Bytes, FrameError> {
        let mut frame = recv_pool::take(size);
        self.ahead.advance(4);
        frame.extend_from_slice(&self.ahead);
        self.ahead.clear();
        while frame.len() < size {
            let missing = size - frame.len();
            self.wake_after(missing.min(self.low_water_cap));
            let mut limited = (&mut self.tcp).take(missing as u64);
            match limited.read_buf(&mut *frame).await {
                Ok(0) => return Err(FrameError::Closed { mid_frame: true }),
                Ok(_) => {}
                Err(e) => return Err(FrameError::Io(e)),
            }
        }
        self.wake_after(1);
        Ok(frame.freeze())
    }

    /// Sets the receive low-water mark to `bytes` (at least 1). Only a
    /// lower mark is set while a frame arrives (its missing bytes shrink),
    /// so a frame costs about three `setsockopt` calls.
    fn wake_after(&mut self, bytes: usize) {
        let bytes = bytes.max(1);
        let lower = bytes < self.low_water;
        let first_of_frame = self.low_water == 1 && bytes > 1;
        if !(lower || first_of_frame) {
            return;
        }
        if set_receive_low_water(&self.tcp, bytes).is_ok() {
            self.low_water = bytes;
        } else {
            // Not supported here: read as without a mark from now on.
            self.low_water_cap = 0;
        }
    }

    /// One `recv` into the read-ahead buffer, which never holds more than
    /// [`READ_AHEAD`] bytes. Called only while it holds less: for a frame's
    /// size, or the rest of a frame no larger than [`READ_AHEAD`].
    async fn read_ahead(&mut self) -> Result<(), FrameError> {
        let room = READ_AHEAD.saturating_sub(self.ahead.len());
        // A read of 0 bytes would look like the peer closing.
        debug_assert!(room > 0, "read ahead while full");
        if self.ahead.capacity() - self.ahead.len() < room.min(READ_AHEAD / 2) {
            self.ahead.reserve(READ_AHEAD);
        }
        let mut limited = (&mut self.tcp).take(room as u64);
        match limited.read_buf(&mut self.ahead).await {
            Ok(0) => Err(FrameError::Closed {
                mid_frame: !self.ahead.is_empty(),
            }),
            Ok(_) => Ok(()),
            Err(e) => Err(FrameError::Io(e)),
        }
    }
}

/// `setsockopt(SO_RCVLOWAT)`; no crate of ours wraps it (tokio, socket2
/// and nix do not).
#[allow(unsafe_code)]
fn set_receive_low_water(tcp: &OwnedReadHalf, bytes: usize) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: the descriptor belongs to the live stream `tcp` borrows, and
    // the option value is a c_int on the stack, passed with its size.
    let result = unsafe {
        libc::setsockopt(
            tcp.as_ref().as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;

    /// A connected pair on loopback: the reader's half and the writer.
    async fn pair() -> (PlainFrames, TcpStream) {
        let (ours, peer) = crate::transport::loopback_pair().await;
        // Our write half is dropped: the tests only read from it.
        (PlainFrames::new(ours.into_split().0, None), peer)
    }

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut out = (body.len() as i32).to_be_bytes().to_vec();
        out.extend_from_slice(body);
        out
    }

    fn body(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .collect()
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn small_frames_written_at_once_come_back_one_by_one() {
        runtime().block_on(async {
            let (mut frames, mut peer) = pair().await;
            let bodies: Vec<Vec<u8>> = (0..20).map(|i| body(4 + i * 37, i as u8)).collect();
            let stream: Vec<u8> = bodies.iter().flat_map(|b| framed(b)).collect();
            peer.write_all(&stream).await.unwrap();
            for expected in &bodies {
                let frame = frames.read_frame(1 << 20).await.unwrap();
                assert_eq!(&frame[..], &expected[..]);
            }
        });
    }

    #[test]
    fn a_large_frame_between_small_ones_is_read_whole_and_not_past_its_end() {
        runtime().block_on(async {
            let (mut frames, mut peer) = pair().await;
            let small = body(100, 1);
            let large = body(3 * READ_AHEAD + 5, 2);
            let mut stream = framed(&small);
            stream.extend(framed(&large));
            stream.extend(framed(&small));
            let writer = tokio::spawn(async move {
                // In pieces, so that the large frame arrives over many reads.
                for piece in stream.chunks(7_000) {
                    peer.write_all(piece).await.unwrap();
                    tokio::task::yield_now().await;
                }
                peer
            });
            assert_eq!(&frames.read_frame(1 << 20).await.unwrap()[..], &small[..]);
            assert_eq!(&frames.read_frame(1 << 20).await.unwrap()[..], &large[..]);
            assert_eq!(&frames.read_frame(1 << 20).await.unwrap()[..], &small[..]);
            drop(writer.await.unwrap());
        });
    }

    #[test]
    fn after_a_large_frame_a_small_one_wakes_the_reader_alone() {
        runtime().block_on(async {
            let (mut frames, mut peer) = pair().await;
            let large = body(4 << 20, 3);
            let small = body(8, 4);
            let writer = tokio::spawn(async move {
                peer.write_all(&framed(&large)).await.unwrap();
                peer
            });
            assert_eq!(frames.read_frame(8 << 20).await.unwrap().len(), 4 << 20);
            assert_eq!(frames.low_water, 1, "the mark is reset after the frame");
            let mut peer = writer.await.unwrap();
            // Sent only once the reader waits for it: a mark left above
            // these 12 bytes would never wake it.
            let reader = tokio::spawn(async move { frames.read_frame(8 << 20).await.unwrap() });
            tokio::task::yield_now().await;
            peer.write_all(&framed(&small)).await.unwrap();
            let frame = tokio::time::timeout(std::time::Duration::from_secs(10), reader)
                .await
                .expect("the small frame woke the reader")
                .unwrap();
            assert_eq!(&frame[..], &small[..]);
        });
    }

    #[test]
    fn a_fixed_receive_buffer_keeps_the_mark_under_half_of_it() {
        runtime().block_on(async {
            let (frames, _peer) = pair().await;
            let read = frames.tcp;
            assert_eq!(
                PlainFrames::new(read, Some(256 * 1024)).low_water_cap,
                128 * 1024
            );
            let (frames, _peer) = pair().await;
            assert_eq!(
                PlainFrames::new(frames.tcp, Some(16 * 1024)).low_water_cap,
                0
            );
            let (frames, _peer) = pair().await;
            assert_eq!(
                PlainFrames::new(frames.tcp, None).low_water_cap,
                LOW_WATER_MAX
            );
        });
    }

    #[test]
    fn a_bad_size_and_a_close_are_told_apart() {
        runtime().block_on(async {
            let (mut frames, mut peer) = pair().await;
            peer.write_all(&[0x16, 0x03, 0x03, 0x00]).await.unwrap();
            assert!(matches!(
                frames.read_frame(1 << 20).await,
                Err(FrameError::BadSize(0x1603_0300))
            ));

            let (mut frames, mut peer) = pair().await;
            peer.write_all(&framed(&body(10, 0))).await.unwrap();
            peer.write_all(&100i32.to_be_bytes()).await.unwrap();
            peer.write_all(&[1, 2, 3]).await.unwrap();
            drop(peer);
            assert_eq!(frames.read_frame(1 << 20).await.unwrap().len(), 10);
            assert!(matches!(
                frames.read_frame(1 << 20).await,
                Err(FrameError::Closed { mid_frame: true })
            ));

            let (mut frames, peer) = pair().await;
            drop(peer);
            assert!(matches!(
                frames.read_frame(1 << 20).await,
                Err(FrameError::Closed { mid_frame: false })
            ));
        });
    }

    #[test]
    fn a_frame_over_the_limit_is_refused_before_its_body_is_read() {
        runtime().block_on(async {
            let (mut frames, mut peer) = pair().await;
            peer.write_all(&(64_i32 << 20).to_be_bytes()).await.unwrap();
            assert!(matches!(
                frames.read_frame(1 << 20).await,
                Err(FrameError::BadSize(size)) if size == 64 << 20
            ));
        });
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the frame sizes and however the stream is cut into
        /// writes, the frames come back whole and in order.
        #[test]
        fn frames_survive_any_cutting_of_the_stream(
            sizes in proptest::collection::vec(
                prop_oneof![4usize..64, 64usize..READ_AHEAD, READ_AHEAD..3 * READ_AHEAD],
                1..12,
            ),
            cut in 1usize..20_000,
        ) {
            runtime().block_on(async {
                let (mut frames, mut peer) = pair().await;
                let bodies: Vec<Vec<u8>> =
                    sizes.iter().enumerate().map(|(i, n)| body(*n, i as u8)).collect();
                let stream: Vec<u8> = bodies.iter().flat_map(|b| framed(b)).collect();
                let writer = tokio::spawn(async move {
                    for piece in stream.chunks(cut) {
                        peer.write_all(piece).await.unwrap();
                        tokio::task::yield_now().await;
                    }
                    peer
                });
                for expected in &bodies {
                    let frame = frames.read_frame(1 << 20).await.unwrap();
                    assert_eq!(&frame[..], &expected[..]);
                    assert!(frames.ahead.len() <= READ_AHEAD, "read ahead {}", frames.ahead.len());
                }
                drop(writer.await.unwrap());
            });
        }
    }
}
