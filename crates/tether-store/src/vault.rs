//! Sealing credentials at rest with XChaCha20-Poly1305.
//!
//! The key comes from `TETHER_SECRET_KEY` (32 bytes, base64) or from a key file created on first
//! run with mode 0600. Each sealed value carries its own random 24-byte nonce, and the row's id is
//! bound in as associated data, so a sealed value copied onto another row does not open.
//!
//! A vault remembers where its key came from, so a connection that does not open can say which
//! key was tried. [`Vault::load_existing`] never creates a key: a command that only reads, or a
//! store that already holds sealed credentials, must not get a fresh key that opens none of them.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::OsRng;
use tether_core::Secret;

use crate::Error;

/// The environment variable holding the key (base64 of 32 bytes).
pub const KEY_ENV: &str = "TETHER_SECRET_KEY";

const NONCE_LEN: usize = 24;

/// Seals and opens secrets. `Debug` never shows the key.
#[derive(Clone)]
pub struct Vault {
    /// `None` when no key exists: such a vault opens and seals nothing, so a store read without a
    /// key still answers everything but credentials.
    cipher: Option<XChaCha20Poly1305>,
    /// Where the key came from, for messages: a file path (with the variable that would override
    /// it) or the variable's name.
    place: String,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault([redacted])")
    }
}

impl Vault {
    /// A vault with this 32-byte key.
    pub fn from_key(key: &[u8; 32]) -> Self {
        Vault {
            cipher: Some(XChaCha20Poly1305::new(key.into())),
            place: "the key given".into(),
        }
    }

    /// The key from `TETHER_SECRET_KEY`, else from `key_file`, which is created (0600) when missing.
    pub fn load(key_file: &Path) -> Result<Self, Error> {
        match Self::load_existing(key_file)? {
            Some(vault) => Ok(vault),
            None => Self::create(key_file),
        }
    }

    /// The key from `TETHER_SECRET_KEY`, else from `key_file`; `None` when neither exists. Never
    /// writes anything.
    pub fn load_existing(key_file: &Path) -> Result<Option<Self>, Error> {
        if let Ok(encoded) = std::env::var(KEY_ENV) {
            return Self::from_base64(encoded.trim(), KEY_ENV.into())
                .map(Some)
                .map_err(|reason| Error::Key {
                    place: KEY_ENV.into(),
                    reason,
                });
        }
        match std::fs::read_to_string(key_file) {
            Ok(encoded) => Self::from_base64(encoded.trim(), Self::file_place(key_file))
                .map(Some)
                .map_err(|reason| Error::Key {
                    place: key_file.display().to_string(),
                    reason,
                }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(Error::Key {
                place: key_file.display().to_string(),
                reason: error.to_string(),
            }),
        }
    }

    /// A vault with no key, standing for the missing `key_file`: every open fails with a message
    /// naming the connection and the missing file, and every seal is refused.
    pub fn missing(key_file: &Path) -> Self {
        Vault {
            cipher: None,
            place: format!(
                "{}, which is missing (and {KEY_ENV} is not set)",
                key_file.display()
            ),
        }
    }

    /// Creates `key_file` (0600) with a new random key and answers its vault.
    pub fn create(key_file: &Path) -> Result<Self, Error> {
        Self::create_key_file(key_file)
    }

    /// Where the key came from, for messages.
    pub fn place(&self) -> &str {
        &self.place
    }

    fn file_place(key_file: &Path) -> String {
        format!("{} (or {KEY_ENV})", key_file.display())
    }

    fn from_base64(encoded: &str, place: String) -> Result<Self, String> {
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|error| format!("not base64: {error}"))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|bytes: Vec<u8>| format!("{} bytes, expected 32", bytes.len()))?;
        Ok(Vault {
            place,
            ..Self::from_key(&key)
        })
    }

    fn create_key_file(key_file: &Path) -> Result<Self, Error> {
        let place = || key_file.display().to_string();
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        if let Some(parent) = key_file.parent() {
            std::fs::create_dir_all(parent).map_err(|error| Error::Key {
                place: place(),
                reason: error.to_string(),
            })?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(key_file).map_err(|error| Error::Key {
            place: place(),
            reason: error.to_string(),
        })?;
        file.write_all(STANDARD.encode(key).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|error| Error::Key {
                place: place(),
                reason: error.to_string(),
            })?;
        Ok(Vault {
            cipher: Some(XChaCha20Poly1305::new(&key)),
            place: Self::file_place(key_file),
        })
    }

    /// Seals `secret` for the row `row_id`: nonce ‖ ciphertext.
    pub fn seal(&self, row_id: &str, secret: &Secret) -> Result<Vec<u8>, Error> {
        let Some(cipher) = &self.cipher else {
            return Err(Error::Key {
                place: self.place.clone(),
                reason: "no key to seal with".into(),
            });
        };
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.expose().as_bytes(),
                    aad: row_id.as_bytes(),
                },
            )
            .map_err(|_| Error::Seal)?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Opens what [`Vault::seal`] sealed for `row_id`.
    /// The error names the row; the store names the connection instead.
    pub fn open(&self, row_id: &str, sealed: &[u8]) -> Result<Secret, Error> {
        let unseal = || Error::Unseal {
            connection: row_id.to_owned(),
            app: None,
            key: self.place.clone(),
            key_missing: self.cipher.is_none(),
        };
        let Some(cipher) = &self.cipher else {
            return Err(unseal());
        };
        if sealed.len() < NONCE_LEN {
            return Err(unseal());
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let plain = cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: row_id.as_bytes(),
                },
            )
            .map_err(|_| unseal())?;
        let text = String::from_utf8(plain).map_err(|_| unseal())?;
        Ok(Secret::new(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_for_their_row_and_key() {
        let vault = Vault::from_key(&[7; 32]);
        let sealed = vault
            .seal("conn-1", &Secret::new("refresh-token-xyz"))
            .unwrap();
        assert!(
            !sealed.windows(7).any(|w| w == b"refresh"),
            "plaintext must not show"
        );
        assert_eq!(
            vault.open("conn-1", &sealed).unwrap().expose(),
            "refresh-token-xyz"
        );
        assert!(vault.open("conn-2", &sealed).is_err());
        assert!(Vault::from_key(&[8; 32]).open("conn-1", &sealed).is_err());
        // Same secret, different nonce each time.
        assert_ne!(
            sealed,
            vault
                .seal("conn-1", &Secret::new("refresh-token-xyz"))
                .unwrap()
        );
    }

    #[test]
    fn a_key_file_is_created_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("tether-vault-{}", std::process::id()));
        let key_file = dir.join("secret.key");
        let _ = std::fs::remove_dir_all(&dir);
        let first = Vault::create_key_file(&key_file).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let sealed = first.seal("row", &Secret::new("s")).unwrap();
        let again = Vault::load_existing(&key_file).unwrap().unwrap();
        assert_eq!(again.open("row", &sealed).unwrap().expose(), "s");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
