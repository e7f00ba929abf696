//! URL pieces the remote fetcher reads exactly: a `Location` header
//! resolved against the URL that sent it (RFC 3986, section 5.2: dot
//! segments removed, a reference with a scheme of its own taken whole), and
//! the port written in an authority, refused unless it is one (1 to 65535,
//! digits only; the `http` crate reads `:84337` as no port at all, which
//! would be the scheme's default).

use ureq::http::Uri;

/// `reference` (a `Location` header) resolved against `base` (RFC 3986,
/// 5.2.2); its fragment dropped, as requests carry none.
pub fn resolve(base: &Uri, reference: &str) -> String {
    let reference = reference.split_once('#').map_or(reference, |(r, _)| r);
    if scheme_of(reference).is_some() {
        // Taken whole (its dot segments are the fetch's URL parser's).
        return reference.to_owned();
    }
    let scheme = base.scheme_str().unwrap_or("http");
    let (rest, query) = match reference.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (reference, None),
    };
    if let Some(net) = rest.strip_prefix("//") {
        let (authority, path) = net.find('/').map_or((net, ""), |i| net.split_at(i));
        return join(scheme, authority, &remove_dot_segments(path), query);
    }
    let authority = base.authority().map_or("", |a| a.as_str());
    let (path, query) = match rest {
        "" => (base.path().to_owned(), query.or(base.query())),
        p if p.starts_with('/') => (remove_dot_segments(p), query),
        p => {
            // Merged: the base's path up to its last '/', then the reference.
            let base_path = base.path();
            let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
            let merged = match dir.is_empty() {
                true => format!("/{p}"),
                false => format!("{dir}{p}"),
            };
            (remove_dot_segments(&merged), query)
        }
    };
    join(scheme, authority, &path, query)
}

fn join(scheme: &str, authority: &str, path: &str, query: Option<&str>) -> String {
    let path = if path.is_empty() { "/" } else { path };
    match query {
        Some(q) => format!("{scheme}://{authority}{path}?{q}"),
        None => format!("{scheme}://{authority}{path}"),
    }
}

/// The scheme `reference` starts with, if any: letters, digits, `+`, `-`
/// and `.` after a first letter, then `:` (RFC 3986, 3.1).
fn scheme_of(reference: &str) -> Option<&str> {
    let colon = reference.find(':')?;
    let scheme = &reference[..colon];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

/// `path` without its `.` and `..` segments (RFC 3986, 5.2.4), for the
/// absolute paths of http(s) URLs: a `..` above the root stays at the root.
fn remove_dot_segments(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut segments = path.split('/');
    if absolute {
        segments.next(); // The empty piece before the first '/'.
    }
    let mut out: Vec<&str> = Vec::new();
    // A path ending in `.` or `..` names a folder: it keeps a final '/'.
    let mut folder = false;
    for segment in segments {
        folder = matches!(segment, "." | "..");
        match segment {
            "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut s = String::with_capacity(path.len());
    if absolute {
        s.push('/');
    }
    s.push_str(&out.join("/"));
    if folder && !out.is_empty() {
        s.push('/');
    }
    s
}

/// `url` as a request carries it, as browsers send one: without its
/// fragment, and with the characters a URL may not hold as they are
/// (non-ASCII ones, as UTF-8; controls, spaces and ``"<>`{}|^``)
/// percent-encoded. `%`
/// itself is left as it is (an escape already written).
pub fn request_form(url: &str) -> std::borrow::Cow<'_, str> {
    let url = url.split_once('#').map_or(url, |(u, _)| u);
    percent_encoding::utf8_percent_encode(url, REQUEST).into()
}

/// The ASCII characters [`request_form`] escapes (all others beyond ASCII).
const REQUEST: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'^');

/// The port written after the host in `authority` (`host`, `host:port`,
/// `[v6]:port`): `Ok(None)` when none is written, `Err` when what is written
/// is no port (empty, not digits, 0 or over 65535).
pub fn written_port(authority: &str) -> Result<Option<u16>, ()> {
    let after_host = match authority.rfind(']') {
        Some(end) => &authority[end + 1..],
        None => authority.rfind(':').map_or("", |i| &authority[i..]),
    };
    let Some(digits) = after_host.strip_prefix(':') else {
        return match after_host.is_empty() {
            true => Ok(None),
            false => Err(()),
        };
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    // Leading zeros are the same port, as the URL standard reads them
    // (`:018401` is 18401); all zeros is port 0, refused below.
    let digits = match digits.trim_start_matches('0') {
        "" => "0",
        rest => rest,
    };
    if digits.len() > 5 {
        return Err(());
    }
    match digits.parse::<u16>() {
        Ok(0) | Err(_) => Err(()),
        Ok(port) => Ok(Some(port)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3986's own examples (5.4.1 and 5.4.2), those an http base
    /// gives, and what browsers do with the rest.
    #[test]
    fn references_resolve_as_rfc_3986_resolves_them() {
        let base: Uri = "http://a/b/c/d;p?q".parse().unwrap();
        for (reference, target) in [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g/"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q"),
            ("g#s", "http://a/b/c/g"),
            (";x", "http://a/b/c/;x"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../g", "http://a/g"),
            ("../../../g", "http://a/g"),
            ("../../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("/../g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            ("..g", "http://a/b/c/..g"),
            ("./../g", "http://a/b/g"),
            ("./g/.", "http://a/b/c/g/"),
            ("g/./h", "http://a/b/c/g/h"),
            ("g/../h", "http://a/b/c/h"),
            ("g;x=1/./y", "http://a/b/c/g;x=1/y"),
            ("g;x=1/../y", "http://a/b/c/y"),
            ("http://other/x", "http://other/x"),
            // A scheme of its own: taken whole, for the fetcher to refuse.
            ("data:image/png;base64,AAAA", "data:image/png;base64,AAAA"),
            ("mailto:x@y", "mailto:x@y"),
        ] {
            assert_eq!(resolve(&base, reference), target, "{reference:?}");
        }
        let root: Uri = "https://a.example".parse().unwrap();
        assert_eq!(resolve(&root, "y.png"), "https://a.example/y.png");
    }

    #[test]
    fn a_request_carries_its_url_percent_encoded_as_browsers_send_it() {
        assert_eq!(request_form("http://h/a.png"), "http://h/a.png");
        assert_eq!(
            request_form("http://h/caf\u{e9} 1.png?q=\u{e9}#frag"),
            "http://h/caf%C3%A9%201.png?q=%C3%A9"
        );
        assert_eq!(request_form("http://h/a%20b{c}"), "http://h/a%20b%7Bc%7D");
    }

    #[test]
    fn a_written_port_must_be_a_port() {
        assert_eq!(written_port("h"), Ok(None));
        assert_eq!(written_port("h:8080"), Ok(Some(8080)));
        assert_eq!(written_port("[::1]"), Ok(None));
        assert_eq!(written_port("[::1]:443"), Ok(Some(443)));
        assert_eq!(written_port("h:65535"), Ok(Some(65535)));
        assert_eq!(written_port("h:018401"), Ok(Some(18401)));
        assert_eq!(written_port("h:0000000080"), Ok(Some(80)));
        for bad in [
            "h:", "h:84337", "h:65536", "h:0", "h:000", "h:-1", "h:+80", "h:abc", "[::1]x",
            "[::1]:",
        ] {
            assert_eq!(written_port(bad), Err(()), "{bad}");
        }
    }
}
