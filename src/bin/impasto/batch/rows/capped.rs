//! A bound on the bytes one row of the data may hold. A CSV quote never
//! closed reads the rest of the file into one field, and a JSON Lines
//! "line" without a newline (`--data /dev/zero`) never ends: either held
//! whole in memory, gigabytes, before the row could fail. The input is read
//! through [`Capped`], which counts the bytes read since the row began and
//! fails the read past the cap; the batch then stops, saying so.

use std::cell::Cell;
use std::io::Read;
use std::rc::Rc;

/// The most bytes one row may hold: a scene file's 64 MiB of text, and a
/// `data:` URL (base64, 4 bytes for 3) of an image file as large as
/// `--max-image-file-bytes` allows.
pub fn max_row_bytes(max_image_file_bytes: u64) -> u64 {
    impasto::scene::MAX_SCENE_BYTES
        .saturating_add(max_image_file_bytes.div_ceil(3).saturating_mul(4))
}

/// The count of bytes read since the current row began: shared by the
/// reader ([`Capped`]) and the rows, which start it again at each row.
#[derive(Clone, Default)]
pub struct RowBytes(Rc<Cell<u64>>);

impl RowBytes {
    /// A new row begins (what the reader read ahead of it is forgiven).
    pub fn next_row(&self) {
        self.0.set(0);
    }
}

/// `inner`, failing a read that takes the current row past `cap` bytes.
pub struct Capped {
    inner: Box<dyn Read>,
    row: RowBytes,
    cap: u64,
}

impl Capped {
    pub fn new(inner: Box<dyn Read>, row: RowBytes, cap: u64) -> Capped {
        Capped { inner, row, cap }
    }
}

impl Read for Capped {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let held = self.row.0.get().saturating_add(n as u64);
        self.row.0.set(held);
        if held > self.cap {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "a row holds more than {} bytes (64 MiB of text and a data: URL of an image of --max-image-file-bytes); is a CSV quote never closed, or is this no line-by-line data?",
                    self.cap
                ),
            ));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_past_the_cap_fails_the_read_and_each_row_starts_again() {
        let row = RowBytes::default();
        let data = b"aaaa\nbbbbbbbb\n".to_vec();
        let mut capped = Capped::new(Box::new(std::io::Cursor::new(data)), row.clone(), 6);
        let mut buf = [0u8; 5];
        assert_eq!(capped.read(&mut buf).unwrap(), 5);
        row.next_row();
        assert_eq!(capped.read(&mut buf).unwrap(), 5);
        let e = capped.read(&mut buf).unwrap_err();
        assert!(e.to_string().contains("more than 6 bytes"), "{e}");
        assert_eq!(max_row_bytes(3), (64 << 20) + 4);
    }
}
