//! The markers before the scan: frame, quantization and Huffman tables,
//! restart interval, scan header, and where the scan's entropy-coded data,
//! its stuffed bytes and its restart markers are.
//!
//! Only what the reduced decoder covers is accepted: a baseline (or
//! extended, 8-bit) Huffman frame with one grey or three YCbCr components
//! (identifiers 1, 2, 3), chroma at 1x1 and luma at 1 or 2 on each axis, one
//! interleaved scan of all components followed by EOI. Anything else gives
//! `None`, and the caller decodes the file with `jpeg-decoder` as before.

use super::entropy::HuffTable;

/// One frame component, in frame order.
#[derive(Debug, Clone, Copy)]
pub(super) struct Component {
    /// Horizontal and vertical sampling factors.
    pub h: usize,
    pub v: usize,
    /// Quantization table slot.
    pub tq: usize,
}

/// One component of the scan, in scan order.
#[derive(Debug, Clone, Copy)]
pub(super) struct ScanComponent {
    /// Index into [`Header::components`].
    pub frame_index: usize,
    pub dc: usize,
    pub ac: usize,
}

/// Everything the entropy decoder and the pixel stage need.
pub(super) struct Header<'a> {
    pub width: usize,
    pub height: usize,
    pub components: Vec<Component>,
    pub scan: Vec<ScanComponent>,
    /// Quantization tables in natural (row-major) order.
    pub quant: [[u16; 64]; 4],
    pub dc: [Option<HuffTable>; 4],
    pub ac: [Option<HuffTable>; 4],
    pub restart_interval: usize,
    /// The entropy-coded data as in the file: from after the scan header
    /// to the marker that ends it (fill bytes excluded), stuffing and
    /// restart markers included.
    pub data: &'a [u8],
    /// Where in `data` each stuffed zero byte (the `00` of `FF 00`) is, in
    /// order: the reader skips them, and positions count without them.
    pub stuffed: Vec<usize>,
    /// For each restart marker: where the interval before it ends (its
    /// first byte, fill bytes included) and where the next one starts.
    pub restarts: Vec<(usize, usize)>,
}

impl Header<'_> {
    /// Stuffed bytes before `raw` in `data`.
    pub fn stuffed_before(&self, raw: usize) -> usize {
        self.stuffed.partition_point(|&p| p < raw)
    }

    /// Largest sampling factors over the components.
    pub fn max_factors(&self) -> (usize, usize) {
        let h = self.components.iter().map(|c| c.h).max().unwrap_or(1);
        let v = self.components.iter().map(|c| c.v).max().unwrap_or(1);
        (h, v)
    }

    /// MCUs across and down.
    pub fn mcus(&self) -> (usize, usize) {
        let (hm, vm) = self.max_factors();
        (self.width.div_ceil(8 * hm), self.height.div_ceil(8 * vm))
    }
}

/// A big-endian u16 at `at`, if the file is long enough.
fn be16(b: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(*b.get(at)?) << 8 | usize::from(*b.get(at + 1)?))
}

/// Parses `bytes` up to the end of the first scan; `None` when the file is
/// outside what the reduced decoder covers (or malformed: the caller's
/// decoder then reports it).
pub(super) fn parse(bytes: &[u8]) -> Option<Header<'_>> {
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut pos = 2;
    let mut quant = [[0u16; 64]; 4];
    let mut quant_set = [false; 4];
    let mut dc: [Option<HuffTable>; 4] = Default::default();
    let mut ac: [Option<HuffTable>; 4] = Default::default();
    let mut frame: Option<Frame> = None;
    let mut restart_interval = 0;
    let (mut jfif, mut adobe) = (false, None);
    loop {
        // Fill bytes may precede a marker.
        while *bytes.get(pos)? == 0xFF && *bytes.get(pos + 1)? == 0xFF {
            pos += 1;
        }
        if *bytes.get(pos)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(pos + 1)?;
        let len = be16(bytes, pos + 2)?;
        let body = bytes.get(pos + 4..pos + 2 + len)?;
        if len < 2 {
            return None;
        }
        match marker {
            0xE0 if body.starts_with(b"JFIF\0") => jfif = true,
            0xEE if body.len() >= 12 && body.starts_with(b"Adobe\0") => {
                if body[11] > 2 {
                    return None; // jpeg-decoder refuses it
                }
                adobe = Some(body[11]);
            }
            0xE0..=0xEF | 0xFE => {} // other APPn, COM: metadata read elsewhere
            0xDB => parse_dqt(body, &mut quant, &mut quant_set)?,
            0xC4 => parse_dht(body, &mut dc, &mut ac)?,
            0xDD => restart_interval = be16(body, 0)?,
            0xC0 | 0xC1 => {
                if frame.is_some() {
                    return None;
                }
                frame = Some(parse_sof(body)?);
            }
            0xDA => {
                let (width, height, comps) = frame?;
                if comps.len() == 3 && !is_ycbcr(&comps, jfif, adobe) {
                    return None;
                }
                let scan = parse_sos(body, &comps)?;
                let components: Vec<Component> = comps.into_iter().map(|(_, c)| c).collect();
                let tables_present = scan.iter().all(|s| {
                    dc[s.dc].is_some()
                        && ac[s.ac].is_some()
                        && quant_set[components[s.frame_index].tq]
                });
                if !tables_present {
                    return None;
                }
                let tail = bytes.get(pos + 2 + len..)?;
                let (end, stuffed, restarts) = entropy_segment(tail)?;
                let data = &tail[..end];
                return Some(Header {
                    width,
                    height,
                    components,
                    scan,
                    quant,
                    dc,
                    ac,
                    restart_interval,
                    data,
                    stuffed,
                    restarts,
                });
            }
            _ => return None, // other frames, DNL, arithmetic coding, ...
        }
        pos += 2 + len;
    }
}

fn parse_dqt(mut body: &[u8], quant: &mut [[u16; 64]; 4], set: &mut [bool; 4]) -> Option<()> {
    while !body.is_empty() {
        let (pq, tq) = (body[0] >> 4, usize::from(body[0] & 15));
        let size = if pq == 0 { 64 } else { 128 };
        let values = body.get(1..1 + size)?;
        let table = quant.get_mut(tq)?;
        for (zz, &natural) in super::entropy::UNZIGZAG.iter().enumerate() {
            let q = if pq == 0 {
                u16::from(values[zz])
            } else {
                u16::from_be_bytes([values[2 * zz], values[2 * zz + 1]])
            };
            if q == 0 {
                return None; // jpeg-decoder refuses it with its message
            }
            table[usize::from(natural)] = q;
        }
        set[tq] = true;
        body = &body[1 + size..];
    }
    Some(())
}

fn parse_dht(
    mut body: &[u8],
    dc: &mut [Option<HuffTable>; 4],
    ac: &mut [Option<HuffTable>; 4],
) -> Option<()> {
    while !body.is_empty() {
        let (class, th) = (body[0] >> 4, usize::from(body[0] & 15));
        let counts: [u8; 16] = body.get(1..17)?.try_into().ok()?;
        let n: usize = counts.iter().map(|&c| usize::from(c)).sum();
        let values = body.get(17..17 + n)?;
        let table = HuffTable::new(&counts, values, class == 1)?;
        match class {
            0 => *dc.get_mut(th)? = Some(table),
            1 => *ac.get_mut(th)? = Some(table),
            _ => return None,
        }
        body = &body[17 + n..];
    }
    Some(())
}

type Frame = (usize, usize, Vec<(u8, Component)>);

fn parse_sof(body: &[u8]) -> Option<Frame> {
    if *body.first()? != 8 {
        return None; // 12-bit samples
    }
    let height = be16(body, 1)?;
    let width = be16(body, 3)?;
    let n = usize::from(*body.get(5)?);
    if width == 0 || height == 0 || !(n == 1 || n == 3) {
        return None;
    }
    let mut comps = Vec::with_capacity(n);
    for i in 0..n {
        let c = body.get(6 + 3 * i..9 + 3 * i)?;
        let (h, v, tq) = (
            usize::from(c[1] >> 4),
            usize::from(c[1] & 15),
            usize::from(c[2]),
        );
        if tq > 3 {
            return None;
        }
        comps.push((c[0], Component { h, v, tq }));
    }
    let luma_ok = |c: &Component| (1..=2).contains(&c.h) && (1..=2).contains(&c.v);
    let ok = match n {
        1 => comps[0].1.h == 1 && comps[0].1.v == 1,
        _ => luma_ok(&comps[0].1) && comps[1..].iter().all(|c| c.1.h == 1 && c.1.v == 1),
    };
    ok.then_some((width, height, comps))
}

/// Whether jpeg-decoder takes three components for YCbCr
/// (`determine_color_transform`): by their identifiers, then a JFIF
/// segment, then Adobe's transform flag, YCbCr when nothing says otherwise.
fn is_ycbcr(comps: &[(u8, Component)], jfif: bool, adobe: Option<u8>) -> bool {
    match [comps[0].0, comps[1].0, comps[2].0] {
        [1, 2, 3] => true,
        [1, 34, 35] | [82, 71, 66] | [114, 103, 98] => false,
        _ => jfif || matches!(adobe, None | Some(1)),
    }
}

fn parse_sos(body: &[u8], comps: &[(u8, Component)]) -> Option<Vec<ScanComponent>> {
    let n = usize::from(*body.first()?);
    if n != comps.len() {
        return None; // not one interleaved scan of every component
    }
    let mut scan = Vec::with_capacity(n);
    for i in 0..n {
        let s = body.get(1 + 2 * i..3 + 2 * i)?;
        let frame_index = comps.iter().position(|c| c.0 == s[0])?;
        if scan
            .iter()
            .any(|c: &ScanComponent| c.frame_index == frame_index)
        {
            return None;
        }
        let (dc, ac) = (usize::from(s[1] >> 4), usize::from(s[1] & 15));
        if dc > 3 || ac > 3 {
            return None;
        }
        scan.push(ScanComponent {
            frame_index,
            dc,
            ac,
        });
    }
    // Spectral selection 0..63, no successive approximation: sequential.
    (body.get(1 + 2 * n..4 + 2 * n)? == [0, 63, 0]).then_some(scan)
}

/// The entropy-coded bytes after SOS: where the marker that ends them
/// starts (it must be EOI), the stuffed zero bytes in them, and each
/// restart marker's extent (interval end, next interval's start).
/// Restart markers must come in order (RST0, RST1, ... RST7, RST0, ...).
type Segment = (usize, Vec<usize>, Vec<(usize, usize)>);

fn entropy_segment(tail: &[u8]) -> Option<Segment> {
    let mut stuffed = Vec::with_capacity(tail.len() / 200);
    let mut restarts = Vec::new();
    let mut pos = 0;
    loop {
        let ff = pos + memchr::memchr(0xFF, tail.get(pos..)?)?;
        let mut next = ff + 1;
        while *tail.get(next)? == 0xFF {
            next += 1; // fill bytes before a marker
        }
        match tail[next] {
            0x00 if next == ff + 1 => stuffed.push(next),
            m @ 0xD0..=0xD7 if usize::from(m - 0xD0) == restarts.len() % 8 => {
                restarts.push((ff, next + 1));
            }
            0xD9 => return Some((ff, stuffed, restarts)),
            _ => return None,
        }
        pos = next + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_segment_scan_finds_stuffed_bytes_restart_markers_in_order_and_the_end() {
        let tail = [
            1, 0xFF, 0x00, 2, 0xFF, 0xD0, 3, 0xFF, 0xFF, 0xD1, 4, 0xFF, 0xD9,
        ];
        let (end, stuffed, restarts) = entropy_segment(&tail).unwrap();
        assert_eq!(end, 11);
        assert_eq!(stuffed, [2]);
        assert_eq!(restarts, [(4, 6), (7, 10)]);
    }

    #[test]
    fn the_segment_scan_refuses_out_of_order_restarts_other_markers_and_a_missing_end() {
        assert!(entropy_segment(&[1, 0xFF, 0xD1, 2, 0xFF, 0xD9]).is_none());
        assert!(entropy_segment(&[1, 0xFF, 0xDA, 0xFF, 0xD9]).is_none());
        assert!(entropy_segment(&[1, 2, 3]).is_none());
        assert!(entropy_segment(&[1, 0xFF]).is_none());
        assert!(entropy_segment(&[1, 0xFF, 0xFF, 0x00, 0xFF, 0xD9]).is_none());
    }
}
