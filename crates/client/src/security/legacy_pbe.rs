//! PKCS#12's password-based encryption with SHA-1 and three-key triple DES
//! (`pbeWithSHAAnd3-KeyTripleDES-CBC`, Java's `PBEWithSHA1AndDESede`): what
//! `openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES` writes, and the only encrypted
//! PEM key form Kafka on JDK 17 reads, so operators' keys come in it. The
//! `pkcs8` crate decrypts PBES2 only; this adds the PKCS#12 key derivation
//! (the `pkcs12` crate) and 3DES-CBC (the `des` and `cbc` crates).

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use der::asn1::OctetString;
use der::Decode as _;
use pkcs12::kdf::{derive_key_utf8, Pkcs12KeyType};
use sha1::Sha1;

use super::jks::EncryptedKeyInfo;

const PBE_SHA1_3DES: &str = "1.2.840.113549.1.12.1.3";
/// Bound on the iteration count of an untrusted file.
const MAX_ITERATIONS: u32 = 10_000_000;

#[derive(der::Sequence)]
struct PbeParameters {
    salt: OctetString,
    iterations: u32,
}

/// Why a key in this form does not decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LegacyPbeError {
    Malformed,
    WrongPassword,
}

/// Decrypts an `EncryptedPrivateKeyInfo` (DER) in this form to PKCS#8 DER;
/// `Ok(None)` when the key uses another scheme.
pub(crate) fn decrypt(der: &[u8], password: &str) -> Result<Option<Vec<u8>>, LegacyPbeError> {
    let info = EncryptedKeyInfo::from_der(der).map_err(|_| LegacyPbeError::Malformed)?;
    if info.algorithm.oid.to_string() != PBE_SHA1_3DES {
        return Ok(None);
    }
    let params: PbeParameters = info
        .algorithm
        .parameters
        .as_ref()
        .ok_or(LegacyPbeError::Malformed)?
        .decode_as()
        .map_err(|_| LegacyPbeError::Malformed)?;
    if params.iterations == 0 || params.iterations > MAX_ITERATIONS {
        return Err(LegacyPbeError::Malformed);
    }
    let rounds = i32::try_from(params.iterations).map_err(|_| LegacyPbeError::Malformed)?;
    let salt = params.salt.as_bytes();
    let derive = |kind, len| {
        derive_key_utf8::<Sha1>(password, salt, kind, rounds, len)
            .map_err(|_| LegacyPbeError::Malformed)
    };
    let key = derive(Pkcs12KeyType::EncryptionKey, 24)?;
    let iv = derive(Pkcs12KeyType::Iv, 8)?;
    let cipher = cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
        .map_err(|_| LegacyPbeError::Malformed)?;
    let plaintext = cipher
        .decrypt_padded_vec::<Pkcs7>(info.data.as_bytes())
        .map_err(|_| LegacyPbeError::WrongPassword)?;
    // A wrong password can still unpad by chance: the result must parse.
    pkcs8::PrivateKeyInfoRef::from_der(&plaintext).map_err(|_| LegacyPbeError::WrongPassword)?;
    Ok(Some(plaintext))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A P-256 key, written by `openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES
    /// -passout pass:legacy-pw`, and the same key unencrypted.
    const ENCRYPTED: &str = "MIGxMBwGCiqGSIb3DQEMAQMwDgQIjPJkHP2V6HUCAggABIGQkNgqTa74B5NiIVg/cQq/Rtv3Dt1mBGyn3gz0VwLgzr3oX3df/Jq7w5I6ADYgsa6WiDJv28b4GGE7vlQxFifd3ivDEP7JEmoTntr2bZZtobqhhKHijQkZI8Xp/Ie9uWTJ4ORtOdH8HLkbsp+Z3P7Zncu8aYQTA1kmtSqpBRsBELsC3WhUTmf7izrH4HtgbnaM";
    const PLAIN: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgkQH31VJ2FFuPNlwbx1zBC2pOWV4pDH2F0dV4LuCBQe6hRANCAAR93Rl/vOhKB8Y41IVSDIdCqY2e3cc4nAnpp9uWd8qWn6PQSxcTq077qQFi8SAqy/QV6cZMIaODZCZKOWa4KZDB";

    fn b64(text: &str) -> Vec<u8> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap()
    }

    #[test]
    fn decrypts_what_openssl_writes() {
        let key = decrypt(&b64(ENCRYPTED), "legacy-pw").unwrap().unwrap();
        assert_eq!(key, b64(PLAIN));
    }

    #[test]
    fn a_wrong_password_is_said() {
        assert_eq!(
            decrypt(&b64(ENCRYPTED), "nope"),
            Err(LegacyPbeError::WrongPassword)
        );
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decrypt(&bytes, "p");
        }
    }
}
