//! A JPEG file's bytes as its decoders read them, asking this thread's
//! render ([`super::halt_scope`]) whether it must stop every
//! [`CHECK_EVERY`] bytes: neither `zune-jpeg` nor `jpeg-decoder` takes a
//! stop, and both read their entropy-coded data through their input as
//! they decode, so an input that fails ends the decode there. A 121
//! megapixel progressive JPEG under `--timeout 0.2` ran to 3.2 s (the
//! scaled decode) and 4.2 s (full size), its decode uninterruptible.
//!
//! `image`'s decoders read through one as well ([`HaltingReader`]): a
//! lossless WebP decodes as it reads, and stops so too.
//!
//! What follows the last read is not covered: `zune-jpeg`'s final pass
//! over a progressive file's coefficients, either decoder's colour
//! conversion of the rows it holds, and a lossy WebP's decode (its
//! partitions are read before it).

use std::io::Read;

use zune_core::bytestream::{ZByteIoError, ZByteReaderTrait, ZCursor, ZSeekFrom};

/// Bytes read between two checks: a 64 KiB run of entropy-coded data is
/// well under a millisecond of decoding, and a check (a thread-local and
/// the clock) is some tens of nanoseconds.
const CHECK_EVERY: u64 = 64 << 10;

/// What a stopped read says; the caller answers with the render's own
/// reason (deadline or cancel) once it sees the decode fail.
pub(super) const STOPPED: &str = "the render stopped during the decode";

/// Counts bytes read and asks the render's stop at every [`CHECK_EVERY`],
/// from the first such point on: a file's headers (and a small file)
/// read without a check, so a stop comes from inside the decoder that
/// took the file, not from a format guess that would hand it to another.
/// Once stopped it stays stopped: every later read fails too (`zune-jpeg`
/// takes a failed 4-byte read for the end of its fast path and reads on
/// byte by byte).
#[derive(Debug)]
struct Countdown {
    read: u64,
    next_check: u64,
    stopped: bool,
}

impl Default for Countdown {
    fn default() -> Countdown {
        Countdown {
            read: 0,
            next_check: CHECK_EVERY,
            stopped: false,
        }
    }
}

impl Countdown {
    /// Counts `n` bytes about to be read: `Err` once the render must stop
    /// (asked when the count passes the next check point), and ever after.
    fn advance(&mut self, n: usize) -> Result<(), ()> {
        if self.stopped {
            return Err(());
        }
        self.read += n as u64;
        if self.read >= self.next_check {
            self.next_check = self.read + CHECK_EVERY;
            if super::halt_scope::must_stop() {
                self.stopped = true;
                return Err(());
            }
        }
        Ok(())
    }
}

/// A byte slice through `Read` and `Seek`: for `jpeg-decoder`, and for
/// `image`'s decoders under a `BufReader` (a lossless WebP's bit reader
/// and an interlaced PNG's rows read as they decode).
pub(crate) struct HaltingReader<'a> {
    inner: std::io::Cursor<&'a [u8]>,
    countdown: Countdown,
}

impl<'a> HaltingReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> HaltingReader<'a> {
        HaltingReader {
            inner: std::io::Cursor::new(bytes),
            countdown: Countdown::default(),
        }
    }
}

impl Read for HaltingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.countdown
            .advance(buf.len())
            .map_err(|()| std::io::Error::other(STOPPED))?;
        self.inner.read(buf)
    }
}

impl std::io::Seek for HaltingReader<'_> {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(to)
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
        if self.countdown.stopped {
            return 0;
        }
        self.inner.read_byte_no_error()
    }

    fn read_exact_bytes(&mut self, buf: &mut [u8]) -> Result<(), ZByteIoError> {
        // Counted before the read, which a failure must not advance.
        self.counted(buf.len())?;
        self.inner.read_exact_bytes(buf)
    }

    fn read_bytes(&mut self, buf: &mut [u8]) -> Result<usize, ZByteIoError> {
        self.counted(buf.len())?;
        self.inner.read_bytes(buf)
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
        // Stopped: the end of the data, which `zune-jpeg` (not strict)
        // answers by filling the rest of the image and ending at once; an
        // error here it would take for a bad byte and decode on through
        // every block. The caller then sees the render's stop.
        if self.counted(1).is_err() {
            return Ok(true);
        }
        self.inner.is_eof()
    }

    fn z_position(&mut self) -> Result<u64, ZByteIoError> {
        self.inner.z_position()
    }

    fn read_remaining(&mut self, sink: &mut Vec<u8>) -> Result<usize, ZByteIoError> {
        self.counted(0)?;
        self.inner.read_remaining(sink)
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
                HaltingReader::new(&bytes)
                    .read_to_end(&mut out)
                    .map(|_| out.len())
            };
            let n = match options {
                Some(o) => super::super::halt_scope::decoding_for(o, read_all),
                None => read_all(),
            };
            assert_eq!(n.unwrap(), bytes.len());
        }
        // Past the deadline: the first check, 64 KiB in, fails the read.
        let e = super::super::halt_scope::decoding_for(&past, || {
            let mut out = Vec::new();
            HaltingReader::new(&bytes).read_to_end(&mut out)
        })
        .unwrap_err();
        assert!(e.to_string().contains(STOPPED), "{e}");
        // The cursor: at the first check, the end of the data, and every
        // read after fails.
        super::super::halt_scope::decoding_for(&past, || {
            let mut cursor = HaltingCursor::new(&bytes);
            let ended = (0..bytes.len()).find(|_| {
                cursor.read_byte_no_error();
                cursor.is_eof().unwrap()
            });
            assert_eq!(ended, Some(CHECK_EVERY as usize - 1));
            assert_eq!(cursor.read_byte_no_error(), 0);
            let e = cursor.read_exact_bytes(&mut [0; 4]).unwrap_err();
            assert!(format!("{e:?}").contains(STOPPED), "{e:?}");
        });
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
    fn a_lossless_webp_decode_stops_with_its_render() {
        let rgba: Vec<u8> = noise_jpeg(false)
            .iter()
            .cycle()
            .take(512 * 512 * 4)
            .copied()
            .collect();
        let mut webp = Vec::new();
        image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
            .encode(&rgba, 512, 512, image::ExtendedColorType::Rgba8)
            .unwrap();
        assert!(webp.len() as u64 > 2 * CHECK_EVERY, "{}", webp.len());
        let decode = |o: &RenderOptions| {
            super::super::halt_scope::decoding_for(o, || {
                super::super::still::decode_bytes_noting(&webp, 1 << 20)
            })
        };
        let later = RenderOptions::with_timeout(Duration::from_secs(3600));
        assert_eq!(decode(&later).unwrap().0.dimensions(), (512, 512));
        let past = RenderOptions::with_deadline(Instant::now());
        let e = decode(&past).unwrap_err();
        assert!(e.0.contains(STOPPED), "{}", e.0);
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
            assert!(e.0.contains(STOPPED), "progressive: {progressive}: {}", e.0);
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
