//! Signed `/t/` URLs (`--signing-key`): HMAC-SHA256 over the request target.
//!
//! The canonical form (docs/serve.md, "Signed URLs"): the signature is the
//! **last** query parameter, `sig=` followed by 64 lowercase hex digits of
//! HMAC-SHA256(key, message), where the message is the request target
//! exactly as sent, up to (not including) the `?sig=` or `&sig=` that starts
//! it: the path, and `?` and the query before the signature when there is
//! one. Nothing is decoded or reordered, so any client that appends the
//! signature to the URL it signed gets it right, and any change to the path
//! or the query (even of percent-encoding) breaks it. The key is the bytes
//! of the text given (as `openssl dgst -sha256 -hmac KEY` uses it).

use std::fmt;
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::error::ServeError;

type HmacSha256 = Hmac<Sha256>;

/// The query parameter holding the signature.
pub const SIG_PARAM: &str = "sig";

/// The query parameter holding a URL's expiry time, in Unix seconds (a
/// reserved name, like `sig` and `quality`, not a template variable).
pub const EXPIRES_PARAM: &str = "expires";

/// The most bytes `--signing-key-file` reads: 64 KiB.
pub const MAX_KEY_FILE_BYTES: u64 = 64 << 10;

/// The environment variable read when `--signing-key` is not given.
pub const KEY_ENV: &str = "IMPASTO_SIGNING_KEY";

/// The secret; its `Debug` form does not show it.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({} bytes)", self.0.len())
    }
}

impl SigningKey {
    /// A key from its text; empty keys are refused (they sign nothing).
    pub fn new(text: &str) -> Result<SigningKey, String> {
        if text.is_empty() {
            return Err("the signing key is empty".into());
        }
        Ok(SigningKey(text.as_bytes().to_vec()))
    }

    /// A key from a file: its text, less one trailing newline. At most
    /// [`MAX_KEY_FILE_BYTES`] are read: `/dev/zero` grew the process by
    /// gigabytes. (A pipe is read, as `<(command)` gives one.)
    pub fn from_file(path: &Path) -> Result<SigningKey, String> {
        use std::io::Read as _;
        let shown = impasto::scene::shown_path(path);
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_KEY_FILE_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|e| format!("--signing-key-file {shown}: {e}"))?;
        if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
            return Err(format!(
                "--signing-key-file {shown}: more than {MAX_KEY_FILE_BYTES} bytes: no key file is that long"
            ));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| format!("--signing-key-file {shown}: not UTF-8 text"))?;
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        SigningKey::new(text)
    }

    fn mac(&self, message: &str) -> HmacSha256 {
        // HMAC takes keys of any length: `new_from_slice` fails only for
        // fixed-length-key MACs, never for HMAC.
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC accepts any key length");
        mac.update(message.as_bytes());
        mac
    }

    /// The signature of `target` (a path and optional query, as it will be
    /// sent), in lowercase hex.
    pub fn sign(&self, target: &str) -> String {
        hex(&self.mac(target).finalize().into_bytes())
    }

    /// `target` with its signature appended (`?sig=` or `&sig=`).
    pub fn signed_url(&self, target: &str) -> String {
        let joiner = if target.contains('?') { '&' } else { '?' };
        format!("{target}{joiner}{SIG_PARAM}={}", self.sign(target))
    }

    /// Checks the signature of a request for `path` with the raw `query`
    /// (as sent, without the `?`). The comparison is constant-time
    /// (`Mac::verify_slice`).
    pub fn verify(&self, path: &str, query: Option<&str>) -> Result<(), ServeError> {
        let (message, sig) = split_signature(path, query)?;
        let Some(bytes) = unhex(sig) else {
            return Err(ServeError::Forbidden(format!(
                "the {SIG_PARAM} parameter is not 64 lowercase hex digits"
            )));
        };
        self.mac(&message)
            .verify_slice(&bytes)
            .map_err(|_| ServeError::Forbidden("the URL's signature does not match".into()))
    }
}

/// The seconds a URL with `expires` (the parameter's value, if given)
/// has left at `now` (Unix seconds): `None` without one, 400 when it is not
/// a whole number of seconds, 403 once `now` reached it.
pub fn remaining(expires: Option<&str>, now: u64) -> Result<Option<u64>, ServeError> {
    let Some(value) = expires else {
        return Ok(None);
    };
    // No leading zero, as for `quality`: one expiry, one URL (and one
    // signature, one cache entry).
    let digits = !value.is_empty()
        && value.len() <= 20
        && value.bytes().all(|b| b.is_ascii_digit())
        && (value == "0" || !value.starts_with('0'));
    let at = digits
        .then(|| value.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| ServeError::BadParameter {
            field: EXPIRES_PARAM.into(),
            message: format!(
                "{EXPIRES_PARAM}={} is not a time in whole Unix seconds (digits, no leading zero)",
                impasto::scene::quoted(value)
            ),
        })?;
    match at.checked_sub(now) {
        Some(left) if left > 0 => Ok(Some(left)),
        _ => Err(ServeError::Expired { at, ago: now - at }),
    }
}

/// Checks a URL's time left (`None`: it has no `expires`) against the
/// server's `--max-url-lifetime` `max`: 403 without `expires` or with one
/// further ahead than `max` seconds.
pub fn within_lifetime(left: Option<u64>, max: u64) -> Result<(), ServeError> {
    match left {
        None => Err(ServeError::Forbidden(format!(
            "the URL has no {EXPIRES_PARAM} parameter, which this server requires (--max-url-lifetime {max})"
        ))),
        Some(left) if left > max => Err(ServeError::Forbidden(format!(
            "the URL expires in {left} s, later than this server accepts (--max-url-lifetime {max})"
        ))),
        Some(_) => Ok(()),
    }
}

/// The time now in whole Unix seconds (0 for a clock before 1970).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The current Unix second rounded up (a second begun counts as passed):
/// what a cache lifetime is counted from, so it never outlives an expiry.
pub fn unix_now_ceil() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
}

/// Whether the query of request target `target` has a parameter `name`.
pub fn has_param(target: &str, name: &str) -> bool {
    let query = target.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .any(|pair| pair.split('=').next() == Some(name))
}

/// `target` with `expires=at` appended to its query, refused when it has
/// one already.
pub fn with_expiry(target: &str, at: u64) -> Result<String, String> {
    if has_param(target, EXPIRES_PARAM) {
        return Err(format!(
            "the target has an {EXPIRES_PARAM} parameter already; give it or --expires-in, not both"
        ));
    }
    let joiner = if target.contains('?') { '&' } else { '?' };
    Ok(format!("{target}{joiner}{EXPIRES_PARAM}={at}"))
}

/// The signed message and the signature text of a request target.
fn split_signature<'a>(
    path: &str,
    query: Option<&'a str>,
) -> Result<(String, &'a str), ServeError> {
    let missing = || {
        ServeError::Forbidden(format!(
            "this server requires signed URLs: append {SIG_PARAM}=HMAC-SHA256 (hex) of the path and query as the last parameter"
        ))
    };
    let query = query.ok_or_else(missing)?;
    let prefix = format!("{SIG_PARAM}=");
    let (before, sig) = match query.rfind('&') {
        Some(i) => (Some(&query[..i]), &query[i + 1..]),
        None => (None, query),
    };
    let Some(sig) = sig.strip_prefix(&prefix) else {
        // Signed, but not at the end: the signature covers what comes
        // before it, so it must be last.
        if query.split('&').any(|pair| pair.starts_with(&prefix)) {
            return Err(ServeError::Forbidden(format!(
                "the {SIG_PARAM} parameter must be the last of the query (it signs the path and the parameters before it)"
            )));
        }
        return Err(missing());
    };
    let message = match before {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    Ok((message, sig))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of 64 lowercase hex digits: one spelling per signature, so a
/// leaked URL cannot be varied (upper case) past a cache in front.
fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    let digit = |c: u8| {
        if c.is_ascii_uppercase() {
            None
        } else {
            (c as char).to_digit(16)
        }
    };
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rfc_4231_test_case_2() {
        let key = SigningKey::new("Jefe").expect("key");
        assert_eq!(
            key.sign("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn expiry_is_checked_against_now_and_must_be_whole_seconds() {
        assert_eq!(remaining(None, 100).ok(), Some(None));
        assert_eq!(remaining(Some("160"), 100).ok(), Some(Some(60)));
        assert!(matches!(
            remaining(Some("100"), 100),
            Err(ServeError::Expired { at: 100, ago: 0 })
        ));
        assert!(matches!(
            remaining(Some("40"), 100),
            Err(ServeError::Expired { at: 40, ago: 60 })
        ));
        for bad in [
            "",
            "-5",
            "1e9",
            " 160",
            "160.5",
            "99999999999999999999999",
            "0160",
        ] {
            assert!(
                matches!(
                    remaining(Some(bad), 100),
                    Err(ServeError::BadParameter { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_max_lifetime_requires_an_expiry_no_further_ahead() {
        assert!(within_lifetime(Some(60), 60).is_ok());
        assert!(within_lifetime(Some(1), 60).is_ok());
        let far = within_lifetime(Some(61), 60).expect_err("too far ahead");
        assert!(far.to_string().contains("expires in 61 s"), "{far}");
        let none = within_lifetime(None, 60).expect_err("no expiry");
        assert!(matches!(none, ServeError::Forbidden(_)), "{none}");
        assert!(none.to_string().contains("no expires parameter"), "{none}");
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_is_read_to_64_kib_at_most() {
        let e = SigningKey::from_file(Path::new("/dev/zero")).err().unwrap();
        assert!(e.contains("more than 65536 bytes"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "s3cret\r\n").unwrap();
        let key = SigningKey::from_file(&file).unwrap();
        assert_eq!(
            key.sign("/t/a.png"),
            SigningKey::new("s3cret").unwrap().sign("/t/a.png")
        );
    }

    #[test]
    fn expiry_is_appended_once() {
        assert_eq!(
            with_expiry("/t/a.png", 7).as_deref(),
            Ok("/t/a.png?expires=7")
        );
        assert_eq!(
            with_expiry("/t/a.png?x=1", 7).as_deref(),
            Ok("/t/a.png?x=1&expires=7")
        );
        assert!(with_expiry("/t/a.png?expires=1", 7).is_err());
        assert!(with_expiry("/t/a.png?x=1&expires", 7).is_err());
        assert!(with_expiry("/t/a.png?myexpires=1", 7).is_ok());
    }

    #[test]
    fn signed_urls_verify_and_changes_do_not() {
        let key = SigningKey::new("secret").expect("key");
        let url = key.signed_url("/t/card.png?title=Hi&accent=%23fff");
        let (path, query) = url.split_once('?').expect("a query");
        assert!(key.verify(path, Some(query)).is_ok());
        let tampered = query.replace("Hi", "Ho");
        assert!(key.verify(path, Some(&tampered)).is_err());
        assert!(key.verify("/t/card.jpg", Some(query)).is_err());
        let bare = key.signed_url("/t/card.png");
        let (path, query) = bare.split_once('?').expect("a query");
        assert!(key.verify(path, Some(query)).is_ok());
        assert!(key.verify(path, None).is_err());
        assert!(key.verify(path, Some("sig=00")).is_err());
        // One spelling per signature: the same digits in upper case fail.
        let (rest, sig) = query.split_once("sig=").expect("a sig");
        let upper = format!("{rest}sig={}", sig.to_uppercase());
        assert_ne!(upper, query);
        assert!(key.verify(path, Some(&upper)).is_err());
    }
}
