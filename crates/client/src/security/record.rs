//! The TLS record layer after the handshake: sealing and opening records in
//! the caller's buffers with ring, on the traffic keys rustls negotiated.
//!
//! Why by hand: rustls 0.23 (buffered and "unbuffered" API alike) copies
//! every received record's plaintext into a new `Vec` and every sent record's
//! plaintext into another, and reads the socket 4 KiB at a time. On a
//! replication path moving gigabytes that cost as much CPU as the cipher
//! itself (docs/BENCHMARKS.md, "SASL_SSL"). rustls still runs the handshake,
//! certificate checks, key updates' key schedule and session tickets (its
//! kernel-TLS interface, `rustls::kernel`); only the framing and the AEAD
//! calls on application traffic are here, so that records are decrypted in
//! place in the frame buffer and sealed straight from the request's bytes.
//! Pure: no I/O, unit-tested below and end to end against real brokers.

use ring::aead::{
    Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM, CHACHA20_POLY1305, NONCE_LEN,
};
use rustls::{ConnectionTrafficSecrets, ProtocolVersion};

/// Record header: content type, legacy version, length.
pub(crate) const HEADER_LEN: usize = 5;
/// The largest plaintext a record carries (RFC 8446 5.1, RFC 5246 6.2.1).
pub(crate) const MAX_PLAINTEXT: usize = 1 << 14;
/// The AEAD tag of every suite rustls offers on ring.
const TAG_LEN: usize = 16;
/// TLS 1.2 AES-GCM sends the per-record half of its nonce in the record.
const EXPLICIT_NONCE_LEN: usize = 8;
/// The largest ciphertext a peer may send (RFC 8446 5.2: 2^14 + 256;
/// RFC 5246 6.2.3: 2^14 + 2048).
const MAX_CIPHERTEXT: usize = MAX_PLAINTEXT + 2048;

pub(crate) const CONTENT_ALERT: u8 = 21;
pub(crate) const CONTENT_HANDSHAKE: u8 = 22;
pub(crate) const CONTENT_APPLICATION_DATA: u8 = 23;

/// Which record format the connection negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordVersion {
    Tls12,
    Tls13,
}

impl RecordVersion {
    pub(crate) fn from_protocol(version: ProtocolVersion) -> Option<Self> {
        match version {
            ProtocolVersion::TLSv1_2 => Some(RecordVersion::Tls12),
            ProtocolVersion::TLSv1_3 => Some(RecordVersion::Tls13),
            _ => None,
        }
    }
}

/// One direction's key, fixed IV and sequence number.
pub(crate) struct DirectionKeys {
    key: LessSafeKey,
    iv: [u8; NONCE_LEN],
    /// TLS 1.2 with AES-GCM: 8 nonce bytes travel in each record.
    explicit_nonce: bool,
    version: RecordVersion,
    seq: u64,
}

impl std::fmt::Debug for DirectionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key or IV.
        f.debug_struct("DirectionKeys")
            .field("version", &self.version)
            .field("seq", &self.seq)
            .finish()
    }
}

impl DirectionKeys {
    /// Keys from what rustls extracted; `None` for a suite ring cannot run
    /// here (rustls on ring negotiates only these three).
    pub(crate) fn new(
        version: RecordVersion,
        seq: u64,
        secrets: &ConnectionTrafficSecrets,
    ) -> Option<Self> {
        let (algorithm, key, iv, gcm) = match secrets {
            ConnectionTrafficSecrets::Aes128Gcm { key, iv } => (&AES_128_GCM, key, iv, true),
            ConnectionTrafficSecrets::Aes256Gcm { key, iv } => (&AES_256_GCM, key, iv, true),
            ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => {
                (&CHACHA20_POLY1305, key, iv, false)
            }
            _ => return None,
        };
        let key = LessSafeKey::new(UnboundKey::new(algorithm, key.as_ref()).ok()?);
        let iv: [u8; NONCE_LEN] = iv.as_ref().try_into().ok()?;
        Some(DirectionKeys {
            key,
            iv,
            explicit_nonce: gcm && version == RecordVersion::Tls12,
            version,
            seq,
        })
    }

    /// Records sealed or opened with this key so far.
    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }

    /// The fixed IV with the sequence number folded into its last 8 bytes
    /// (RFC 8446 5.3; rustls does the same for TLS 1.2 AES-GCM, whose
    /// explicit half is then sent in the record).
    fn nonce_bytes(&self) -> [u8; NONCE_LEN] {
        let mut nonce = self.iv;
        for (byte, seq) in nonce[4..].iter_mut().zip(self.seq.to_be_bytes()) {
            *byte ^= seq;
        }
        nonce
    }

    /// TLS 1.2's additional data: sequence, type, version, plaintext length.
    fn tls12_aad(&self, content_type: u8, plaintext_len: usize) -> [u8; 13] {
        let mut aad = [0u8; 13];
        aad[..8].copy_from_slice(&self.seq.to_be_bytes());
        aad[8] = content_type;
        aad[9..11].copy_from_slice(&[3, 3]);
        aad[11..].copy_from_slice(&(plaintext_len as u16).to_be_bytes());
        aad
    }

    /// Bytes a record adds around `plaintext_len` bytes.
    pub(crate) fn overhead(&self) -> usize {
        HEADER_LEN
            + TAG_LEN
            + match (self.version, self.explicit_nonce) {
                (RecordVersion::Tls13, _) => 1,
                (RecordVersion::Tls12, true) => EXPLICIT_NONCE_LEN,
                (RecordVersion::Tls12, false) => 0,
            }
    }

    /// Appends one record of `content_type` to `out`; `fill` must append
    /// exactly `plaintext_len` (at most [`MAX_PLAINTEXT`]) bytes of
    /// plaintext, which are then sealed where they lie.
    pub(crate) fn seal(
        &mut self,
        out: &mut Vec<u8>,
        content_type: u8,
        plaintext_len: usize,
        fill: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), rustls::Error> {
        debug_assert!(plaintext_len <= MAX_PLAINTEXT);
        let start = out.len();
        let record_len = plaintext_len + self.overhead() - HEADER_LEN;
        out.reserve(HEADER_LEN + record_len);
        let outer_type = match self.version {
            RecordVersion::Tls13 => CONTENT_APPLICATION_DATA,
            RecordVersion::Tls12 => content_type,
        };
        out.push(outer_type);
        out.extend_from_slice(&[3, 3]);
        out.extend_from_slice(&(record_len as u16).to_be_bytes());
        let nonce = self.nonce_bytes();
        if self.explicit_nonce {
            out.extend_from_slice(&nonce[4..]);
        }
        let plain_start = out.len();
        fill(out);
        debug_assert_eq!(out.len() - plain_start, plaintext_len);
        if self.version == RecordVersion::Tls13 {
            out.push(content_type);
        }
        let aad = match self.version {
            RecordVersion::Tls13 => {
                let mut header = [0u8; 13];
                header[..HEADER_LEN].copy_from_slice(&out[start..start + HEADER_LEN]);
                (header, HEADER_LEN)
            }
            RecordVersion::Tls12 => (self.tls12_aad(content_type, plaintext_len), 13),
        };
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad.0[..aad.1]),
                &mut out[plain_start..],
            )
            .map_err(|_| rustls::Error::EncryptError)?;
        out.extend_from_slice(tag.as_ref());
        self.seq += 1;
        Ok(())
    }

    /// Opens the complete record at `buf[src..]` (header included) and
    /// moves its content to `buf[dst..]` (`dst <= src`), so that records
    /// decrypted one after the other leave their contents contiguous.
    /// Returns the content type and length.
    pub(crate) fn open(
        &mut self,
        buf: &mut [u8],
        dst: usize,
        src: usize,
    ) -> Result<(u8, usize), rustls::Error> {
        let header: [u8; HEADER_LEN] = buf[src..src + HEADER_LEN].try_into().unwrap();
        let record_len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let end = src + HEADER_LEN + record_len;
        let mut body = src + HEADER_LEN;
        let (nonce, aad) = match self.version {
            RecordVersion::Tls13 => {
                if header[0] != CONTENT_APPLICATION_DATA {
                    return Err(rustls::Error::InappropriateMessage {
                        expect_types: vec![rustls::ContentType::ApplicationData],
                        got_type: rustls::ContentType::from(header[0]),
                    });
                }
                let mut aad = [0u8; 13];
                aad[..HEADER_LEN].copy_from_slice(&header);
                (self.nonce_bytes(), (aad, HEADER_LEN))
            }
            RecordVersion::Tls12 => {
                let mut nonce = self.nonce_bytes();
                let mut overhead = TAG_LEN;
                if self.explicit_nonce {
                    if record_len < EXPLICIT_NONCE_LEN + TAG_LEN {
                        return Err(rustls::Error::DecryptError);
                    }
                    nonce[4..].copy_from_slice(&buf[body..body + EXPLICIT_NONCE_LEN]);
                    body += EXPLICIT_NONCE_LEN;
                    overhead += EXPLICIT_NONCE_LEN;
                }
                let plaintext_len = record_len
                    .checked_sub(overhead)
                    .ok_or(rustls::Error::DecryptError)?;
                (nonce, (self.tls12_aad(header[0], plaintext_len), 13))
            }
        };
        let plaintext = self
            .key
            .open_within(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad.0[..aad.1]),
                &mut buf[dst..end],
                (body - dst)..,
            )
            .map_err(|_| rustls::Error::DecryptError)?;
        self.seq += 1;
        match self.version {
            RecordVersion::Tls12 => Ok((header[0], plaintext.len())),
            // The inner plaintext is content, type, then zero padding.
            RecordVersion::Tls13 => match plaintext.iter().rposition(|&b| b != 0) {
                Some(type_at) => Ok((plaintext[type_at], type_at)),
                None => Err(rustls::Error::PeerMisbehaved(
                    rustls::PeerMisbehaved::IllegalTlsInnerPlaintext,
                )),
            },
        }
    }
}

/// The length of the complete record at the start of `bytes`, header
/// included; `None` while it is incomplete.
pub(crate) fn complete_record_len(bytes: &[u8]) -> Result<Option<usize>, rustls::Error> {
    if bytes.len() < HEADER_LEN {
        return Ok(None);
    }
    let len = usize::from(u16::from_be_bytes([bytes[3], bytes[4]]));
    if len > MAX_CIPHERTEXT {
        return Err(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::MessageTooLarge,
        ));
    }
    Ok((bytes.len() >= HEADER_LEN + len).then_some(HEADER_LEN + len))
}

/// The ciphertext that carries `plaintext_len` bytes of application data.
pub(crate) fn ciphertext_len(plaintext_len: usize, overhead: usize) -> usize {
    plaintext_len + plaintext_len.div_ceil(MAX_PLAINTEXT) * overhead
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::crypto::cipher::{AeadKey, Iv};

    fn secrets(kind: u8) -> ConnectionTrafficSecrets {
        let key = AeadKey::from([7u8; 32]);
        let iv = Iv::from([9u8; NONCE_LEN]);
        match kind {
            0 => ConnectionTrafficSecrets::Aes256Gcm { key, iv },
            1 => ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv },
            _ => unreachable!(),
        }
    }

    fn pair(version: RecordVersion, kind: u8) -> (DirectionKeys, DirectionKeys) {
        (
            DirectionKeys::new(version, 5, &secrets(kind)).unwrap(),
            DirectionKeys::new(version, 5, &secrets(kind)).unwrap(),
        )
    }

    fn seal_all(sealer: &mut DirectionKeys, chunks: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in chunks {
            sealer
                .seal(&mut out, CONTENT_APPLICATION_DATA, chunk.len(), |out| {
                    out.extend_from_slice(chunk)
                })
                .unwrap();
        }
        out
    }

    /// Opens every record in `buf`, compacting contents to the front.
    fn open_all(opener: &mut DirectionKeys, buf: &mut [u8]) -> Result<Vec<u8>, rustls::Error> {
        let (mut dst, mut src) = (0, 0);
        while src < buf.len() {
            let len = complete_record_len(&buf[src..])?.expect("complete");
            let (content_type, plain) = opener.open(buf, dst, src)?;
            assert_eq!(content_type, CONTENT_APPLICATION_DATA);
            dst += plain;
            src += len;
        }
        Ok(buf[..dst].to_vec())
    }

    #[test]
    fn records_round_trip_and_compact_in_place() {
        for version in [RecordVersion::Tls12, RecordVersion::Tls13] {
            for kind in [0, 1] {
                let (mut sealer, mut opener) = pair(version, kind);
                let big = vec![0xabu8; MAX_PLAINTEXT];
                let chunks: [&[u8]; 3] = [b"hello", &big, b"\0\0trailing zeros\0\0"];
                let mut wire = seal_all(&mut sealer, &chunks);
                assert_eq!(sealer.seq(), 8);
                let expected_len: usize = chunks.iter().map(|c| c.len() + sealer.overhead()).sum();
                assert_eq!(wire.len(), expected_len);
                let plain = open_all(&mut opener, &mut wire).unwrap();
                assert_eq!(plain, chunks.concat(), "{version:?} {kind}");
                assert_eq!(opener.seq(), 8);
            }
        }
    }

    #[test]
    fn a_tampered_or_replayed_record_is_refused() {
        for version in [RecordVersion::Tls12, RecordVersion::Tls13] {
            let (mut sealer, mut opener) = pair(version, 0);
            let mut wire = seal_all(&mut sealer, &[b"payload"]);
            let last = wire.len() - 1;
            wire[last] ^= 1;
            assert_eq!(
                open_all(&mut opener, &mut wire),
                Err(rustls::Error::DecryptError)
            );
            // Sequence numbers are part of the nonce: a record opened out of
            // order does not verify.
            let (mut sealer, mut opener) = pair(version, 0);
            let _first = seal_all(&mut sealer, &[b"one"]);
            let mut second = seal_all(&mut sealer, &[b"two"]);
            assert_eq!(
                open_all(&mut opener, &mut second),
                Err(rustls::Error::DecryptError)
            );
        }
    }

    #[test]
    fn oversized_and_partial_records_are_told_apart() {
        assert_eq!(complete_record_len(&[23, 3, 3, 0]), Ok(None));
        assert_eq!(complete_record_len(&[23, 3, 3, 0, 2, 1]), Ok(None));
        assert_eq!(complete_record_len(&[23, 3, 3, 0, 2, 1, 1]), Ok(Some(7)));
        assert!(complete_record_len(&[23, 3, 3, 0xff, 0xff]).is_err());
        assert_eq!(ciphertext_len(0, 22), 0);
        assert_eq!(ciphertext_len(MAX_PLAINTEXT, 22), MAX_PLAINTEXT + 22);
        assert_eq!(ciphertext_len(MAX_PLAINTEXT + 1, 22), MAX_PLAINTEXT + 45);
    }

    proptest::proptest! {
        /// Whatever a peer sends, framing and opening answer with a length,
        /// "incomplete" or an error: never a panic, never plaintext from a
        /// record that does not verify.
        #[test]
        fn arbitrary_bytes_never_panic_or_open(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            tls13 in proptest::prelude::any::<bool>(),
            chacha in proptest::prelude::any::<bool>(),
        ) {
            let version = if tls13 { RecordVersion::Tls13 } else { RecordVersion::Tls12 };
            let (_, mut opener) = pair(version, u8::from(chacha));
            let mut buf = bytes;
            if let Ok(Some(len)) = complete_record_len(&buf) {
                proptest::prop_assert!(len <= buf.len());
                let opened = opener.open(&mut buf, 0, 0);
                proptest::prop_assert!(opened.is_err(), "a forged record opened: {opened:?}");
            }
        }

        /// A record sealed here and cut anywhere is incomplete until whole.
        #[test]
        fn sealed_records_are_complete_only_when_whole(
            plain in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            cut in 0usize..400,
            tls13 in proptest::prelude::any::<bool>(),
        ) {
            let version = if tls13 { RecordVersion::Tls13 } else { RecordVersion::Tls12 };
            let (mut sealer, mut opener) = pair(version, 0);
            let mut wire = seal_all(&mut sealer, &[&plain]);
            let cut = cut.min(wire.len());
            let complete = complete_record_len(&wire[..cut]).unwrap();
            proptest::prop_assert_eq!(complete.is_some(), cut == wire.len());
            proptest::prop_assert_eq!(open_all(&mut opener, &mut wire).unwrap(), plain);
        }
    }
}
