//! Secrets at rest (SPEC §16): the envelope that seals secret argument values and capabilities
//! (Slack `response_url`s, Discord interaction tokens) before they are stored, and opens them
//! when they are needed.
//!
//! XChaCha20-Poly1305 (RustCrypto) with a random 24-byte nonce per value, under the first key
//! of `WARDEN_ENCRYPTION_KEYS`; each sealed value names its key id, so every configured key
//! can open what it sealed, and the row it belongs to (table, id, column) is its associated
//! data, so a value copied into another row or column does not open.
//!
//! Architecture invariant: pure. No IO, no clock; storage keeps the sealed text and knows
//! nothing of keys, and nothing here ever formats a key or a plaintext into an error.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

mod args;

pub use args::{merge_secrets, split_secrets, SecretValues};

/// How every sealed value starts: a version tag, so that sealed and plaintext values (written
/// before a key was configured) can be told apart.
pub const PREFIX: &str = "enc:v1:";

const NONCE_LEN: usize = 24;

/// Where a sealed value lives; its associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place<'a> {
    /// The table, e.g. `jobs`.
    pub table: &'a str,
    /// The row id.
    pub id: i64,
    /// The column, e.g. `secrets`.
    pub column: &'a str,
}

impl Place<'_> {
    fn aad(&self) -> Vec<u8> {
        format!("warden/{}/{}/{}", self.table, self.id, self.column).into_bytes()
    }
}

/// Why a sealed value did not open. Never carries the value or a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Not a sealed value (plaintext, or damaged beyond recognition).
    #[error("the stored value is not sealed")]
    NotSealed,
    /// Sealed under a key id that is not configured.
    #[error("the stored value was sealed with key `{0}`, which is not in WARDEN_ENCRYPTION_KEYS")]
    UnknownKey(String),
    /// The key is known but the value does not open: the wrong key under that id, a changed
    /// byte, or a value moved from another row.
    #[error("the stored value does not open with key `{0}`: it was altered, moved from another row, or the key changed")]
    Tampered(String),
}

/// One encryption key. Its bytes are never shown (`Debug` prints the id only).
#[derive(Clone)]
struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

/// The configured keys: the first seals, all open.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<Key>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

impl Keyring {
    /// Parses `KID:BASE64[,KID:BASE64…]` (32-byte keys, standard base64). The error names the
    /// entry by position and key id, never the key.
    pub fn parse(text: &str) -> Result<Keyring, String> {
        let mut keys: Vec<Key> = Vec::new();
        if text.trim().is_empty() {
            return Err("WARDEN_ENCRYPTION_KEYS is set but names no key".to_string());
        }
        for (i, entry) in text.split(',').map(str::trim).enumerate() {
            let n = i + 1;
            let Some((id, material)) = entry.split_once(':') else {
                return Err(format!(
                    "WARDEN_ENCRYPTION_KEYS: entry {n} is not KID:BASE64KEY"
                ));
            };
            let id = id.trim();
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(format!(
                    "WARDEN_ENCRYPTION_KEYS: entry {n}: a key id is letters, digits, `-` and `_`"
                ));
            }
            if keys.iter().any(|k| k.id == id) {
                return Err(format!(
                    "WARDEN_ENCRYPTION_KEYS: key id `{id}` is given twice"
                ));
            }
            let bytes = STANDARD.decode(material.trim()).map_err(|_| {
                format!("WARDEN_ENCRYPTION_KEYS: the key `{id}` is not valid base64")
            })?;
            if bytes.len() != 32 {
                return Err(format!(
                    "WARDEN_ENCRYPTION_KEYS: the key `{id}` is {} bytes; it must be 32 (e.g. `openssl rand -base64 32`)",
                    bytes.len()
                ));
            }
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes)
                .map_err(|_| format!("WARDEN_ENCRYPTION_KEYS: the key `{id}` is unusable"))?;
            keys.push(Key {
                id: id.to_string(),
                cipher,
            });
        }
        if keys.is_empty() {
            return Err("WARDEN_ENCRYPTION_KEYS is set but names no key".to_string());
        }
        Ok(Keyring { keys })
    }

    /// The id of the key that seals.
    pub fn current(&self) -> &str {
        &self.keys[0].id
    }

    /// Every configured key id, the sealing one first.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// Seals `plaintext` for `place` under the first key: `enc:v1:KID:BASE64(nonce ‖ ct)`.
    pub fn seal(&self, place: Place<'_>, plaintext: &str) -> String {
        let key = &self.keys[0];
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = place.aad();
        // Encryption with a valid key and nonce cannot fail for in-memory inputs.
        let sealed = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad,
                },
            )
            .unwrap_or_default();
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        format!("{PREFIX}{}:{}", key.id, STANDARD.encode(blob))
    }

    /// Opens a value sealed for `place` with whichever configured key sealed it.
    pub fn open(&self, place: Place<'_>, stored: &str) -> Result<String, OpenError> {
        let (id, blob) = parse_sealed(stored)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| OpenError::UnknownKey(id.to_string()))?;
        let tampered = || OpenError::Tampered(id.to_string());
        if blob.len() <= NONCE_LEN {
            return Err(tampered());
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        let aad = place.aad();
        let plain = key
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| tampered())?;
        String::from_utf8(plain).map_err(|_| tampered())
    }
}

/// Whether a stored value is sealed (rather than plaintext from before a key was configured).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

/// The key id a sealed value names, for `warden secrets status`.
pub fn key_id(stored: &str) -> Option<&str> {
    stored
        .strip_prefix(PREFIX)?
        .split_once(':')
        .map(|(id, _)| id)
}

fn parse_sealed(stored: &str) -> Result<(&str, Vec<u8>), OpenError> {
    let rest = stored.strip_prefix(PREFIX).ok_or(OpenError::NotSealed)?;
    let (id, encoded) = rest.split_once(':').ok_or(OpenError::NotSealed)?;
    let blob = STANDARD
        .decode(encoded)
        .map_err(|_| OpenError::Tampered(id.to_string()))?;
    Ok((id, blob))
}

#[cfg(test)]
mod tests;
