//! A JPEG file's bytes as its decoders read them, asking this thread's
//! render ([`super::halt_scope`]) whether it must stop every
//! [`CHECK_EVERY`] bytes: neither `zune-jpeg` nor `jpeg-decoder` takes a
//! stop, and both read their entropy-coded data through their input as
//! they decode, so an input that fails ends the decode there. A 121
//! megapixel progressive JPEG under `--timeout 0.2` ran to 3.2 s (the
//! scaled decode) and 4.2 s (full size), its decode uninterruptible.
//!
//! What follows the last read is not covered: `zune-jpeg`'s final pass
//! over a progressive file's coefficients, and either decoder's colour
//! conversion of the rows it holds.

use std::io::Read;

use zune_core::bytestream::{ZByteIoError, ZByteReaderTrait, ZCursor, ZSeekFrom};

/// Bytes read between two checks: a 64 KiB run of entropy-coded data is
/// well under a millisecond of decoding, and a check (a thread-local and
/// the clock) is some tens of nanoseconds.
const CHECK_EVERY: u64 = 64 << 10;

/// What a stopped read says; the caller answers with the render's own
/// reason (deadline or cancel) once it sees the decode fail.
pub(super) const STOPPED: &str = "the render stopped during the decode";

/// Counts bytes read and asks the render's stop at every [`CHECK_EVERY`].
#[derive(Debug, Default)]
struct Countdown {
    read: u64,
    next_check: u64,
}

impl Countdown {
    /// `Err` once the render must stop (asked when `read` passes the next
    /// check point).
    fn advance(&mut self, n: usize) -> Result<(), ()> {
        self.read += n as u64;
        if self.read >= self.next_check {
            self.next_check = self.read + CHECK_EVERY;
            if super::halt_scope::must_stop() {
                return Err(());
            }
        }
        Ok(())
    }
}

/// A byte slice for `jpeg-decoder` (through `Read`).
pub(crate) struct HaltingSlice<'a> {
    rest: &'a [u8],
    countdown: Countdown,
}

impl<'a> HaltingSlice<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> HaltingSlice<'a> {
        HaltingSlice {
            rest: bytes,
            countdown: Countdown::default(),
        }
    }
}

impl Read for HaltingSlice<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.rest.read(buf)?;
        self.countdown
            .advance(n)
            .map_err(|()| std::io::Error::other(STOPPED))?;
        Ok(n)
    }
}

/// A byte slice for `zune-jpeg`: its `ZCursor`, with the check in
/// `is_eof`, which its bit reader asks after each byte of entropy-coded
/// data it takes (an error there ends the decode).
pub(crate) struct HaltingCursor<'a> {
    inner: ZCursor<&'a [u8]>,
    countdown: Countdown,
}

impl<'a> HaltingCursor<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> HaltingCursor<'a> {
        HaltingCursor {
            inner: ZCursor::new(bytes),
            countdown: Countdown::default(),
        }
    }

    fn counted(&mut self, n: usize) -> Result<(), ZByteIoError> {
        self.countdown
            .advance(n)
            .map_err(|()| ZByteIoError::Generic(STOPPED))
    }
}

impl ZByteReaderTrait for HaltingCursor<'_> {
    fn read_byte_no_error(&mut self) -> u8 {
        // Counted in `is_eof`, which the bit reader asks after each byte.
        self.inner.read_byte_no_error()
    }

    fn read_exact_bytes(&mut self, buf: &mut [u8]) -> Result<(), ZByteIoError> {
        self.inner.read_exact_bytes(buf)?;
        self.counted(buf.len())
    }

    fn read_bytes(&mut self, buf: &mut [u8]) -> Result<usize, ZByteIoError> {
        let n = self.inner.read_bytes(buf)?;
        self.counted(n)?;
        Ok(n)
    }

    fn peek_bytes(&mut self, buf: &mut [u8]) -> Result<usize, ZByteIoError> {
        self.inner.peek_bytes(buf)
    }

    fn peek_exact_bytes(&mut self, buf: &mut [u8]) -> Result<(), ZByteIoError> {
        self.inner.peek_exact_bytes(buf)
    }

    fn z_seek(&mut self, from: ZSeekFrom) -> Result<u64, ZByteIoError> {
        self.inner.z_seek(from)
    }

    fn is_eof(&mut self) -> Result<bool, ZByteIoError> {
        self.counted(1)?;
        self.inner.is_eof()
    }

    fn z_position(&mut self) -> Result<u64, ZByteIoError> {
        self.inner.z_position()
    }

    fn read_remaining(&mut self, sink: &mut Vec<u8>) -> Result<usize, ZByteIoError> {
        let n = self.inner.read_remaining(sink)?;
        self.counted(n)?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RenderOptions;
    use std::time::{Duration, Instant};

    #[test]
    fn reads_fail_once_the_render_must_stop_and_pass_through_otherwise() {
        let bytes = vec![7u8; 3 * CHECK_EVERY as usize];
        let past = RenderOptions::with_deadline(Instant::now());
        let later = RenderOptions::with_timeout(Duration::from_secs(3600));
        // Outside a render, and in one with time left: every byte reads.
        for options in [None, Some(&later)] {
            let read_all = || {
                let mut out = Vec::new();
                HaltingSlice::new(&bytes)
                    .read_to_end(&mut out)
                    .map(|_| out.len())
            };
            let n = match options {
                Some(o) => super::super::halt_scope::decoding_for(o, read_all),
                None => read_all(),
            };
            assert_eq!(n.unwrap(), bytes.len());
        }
        // Past the deadline: the first check fails the read.
        let e = super::super::halt_scope::decoding_for(&past, || {
            let mut out = Vec::new();
            HaltingSlice::new(&bytes).read_to_end(&mut out)
        })
        .unwrap_err();
        assert!(e.to_string().contains(STOPPED), "{e}");
        let e = super::super::halt_scope::decoding_for(&past, || {
            let mut cursor = HaltingCursor::new(&bytes);
            (0..bytes.len()).try_for_each(|_| {
                cursor.read_byte_no_error();
                cursor.is_eof().map(|_| ())
            })
        })
        .unwrap_err();
        assert!(format!("{e:?}").contains(STOPPED), "{e:?}");
    }

    /// A 512x512 noise JPEG (some 600 KB of entropy-coded data).
    fn noise_jpeg(progressive: bool) -> Vec<u8> {
        let mut x = 1u32;
        let rgb: Vec<u8> = (0..512 * 512 * 3)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let mut out = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
        encoder.set_progressive(progressive);
        encoder
            .encode(&rgb, 512, 512, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        out
    }

    #[test]
    fn jpeg_decodes_stop_with_their_render_on_every_path() {
        let past = RenderOptions::with_deadline(Instant::now());
        let later = RenderOptions::with_timeout(Duration::from_secs(3600));
        use super::super::halt_scope::decoding_for;
        for progressive in [false, true] {
            let jpeg = noise_jpeg(progressive);
            // Full size (zune-jpeg, then no fallback to `image`).
            let full = |o: &RenderOptions| {
                decoding_for(o, || {
                    super::super::still::decode_bytes_noting(&jpeg, 1 << 20)
                })
            };
            assert_eq!(full(&later).unwrap().0.dimensions(), (512, 512));
            let e = full(&past).unwrap_err();
            assert_eq!(e.0, STOPPED, "progressive: {progressive}");
            // Scaled or unusual layouts (jpeg-decoder), headers read before.
            let scaled = |o: &RenderOptions| {
                let mut opened = super::super::jpeg_headers::open(&jpeg, 1 << 20).unwrap();
                opened.decoder.scale(128, 128).unwrap();
                decoding_for(o, || opened.decoder.decode())
            };
            assert_eq!(scaled(&later).unwrap().len(), 128 * 128 * 3);
            let e = scaled(&past).unwrap_err();
            assert!(
                e.to_string().contains(STOPPED),
                "progressive: {progressive}: {e}"
            );
        }
    }
}
