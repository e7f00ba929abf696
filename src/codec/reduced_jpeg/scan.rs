//! Decoding the scan's blocks, on several threads where the file allows.
//!
//! With restart markers, each restart interval is decoded on its own (the
//! DC predictors restart and the data is byte-aligned there). Without them
//! the scan is one Huffman stream, which has no place to start but the
//! beginning, so it is decoded speculatively (the approach of Weißenberger
//! and Schmidt, "Accelerating JPEG decompression on GPUs", 2021): the data
//! is cut into one chunk per thread, each chunk is decoded from its first
//! byte as if a block started there, and every thread then decodes on past
//! its chunk's end until it reaches a block start that the next chunk's
//! decoder also reached, in the same slot of the MCU with the same
//! end-of-band run. From that point the two decodings are the same symbol
//! for symbol (decoding is a function of that state), so the second one's
//! blocks are kept, their DC values shifted by the difference of the two
//! decoders' DC predictors there. Huffman codes resynchronise within a few
//! blocks in practice; where they do not, the earlier thread simply decodes
//! the whole next chunk itself, so the result never depends on it.
//!
//! Just over 600 lines: the chunks, their joining and the rounds share the
//! decoder state and the block layout, which are private to this module.

use super::entropy::{decode_block, window, Bits, Carry, Corrupt, HuffTable};
use super::header::Header;

/// How the blocks of the scan are laid out: the MCU's block slots and the
/// part of each block that is kept.
pub(super) struct Layout<'a> {
    pub header: &'a Header<'a>,
    /// Kept coefficients per axis (8 / the shrink factor) of the luma, and
    /// of every component unless [`Layout::comp_k`] says otherwise.
    pub k: usize,
    /// Each frame component's transform size (its blocks' pixels per
    /// axis): `k`, or `2k` for the chroma of a 4:2:0 file at `k` <= 5
    /// ([`full_chroma`]). A block keeps that many coefficients per axis,
    /// all eight when it is more.
    pub comp_k: Vec<usize>,
    /// Whether the 1/8 transform (the DC alone) rounds to nearest; `false`
    /// truncates, as jpeg-decoder does, which made 1/8 decodes about half a
    /// level darker in each component (a flat 200,30,40 came out 199,29,38
    /// where libjpeg gives 200,30,39).
    pub round_dc: bool,
    /// For each block slot of an MCU, where its coefficients are kept.
    slot_window: Vec<[u8; 64]>,
    /// Where each block's values are stored.
    pub sizes: Sizes,
    /// For each block slot of an MCU, the scan component it belongs to.
    slot_component: Vec<usize>,
    /// For each block slot of an MCU, its DC and AC tables.
    slot_tables: Vec<(&'a HuffTable, &'a HuffTable)>,
    /// Blocks per MCU.
    pub bpm: usize,
    /// Blocks decoded: all of the scan's ([`Layout::all`]), or the MCU
    /// rows [`Layout::limit_rows`] keeps.
    pub total: usize,
    /// Blocks in the scan.
    pub all: usize,
}

impl<'a> Layout<'a> {
    pub fn new(header: &'a Header<'a>, k: usize) -> Layout<'a> {
        let mut slot_component = Vec::new();
        for (i, s) in header.scan.iter().enumerate() {
            let c = header.components[s.frame_index];
            slot_component.extend(std::iter::repeat_n(i, c.h * c.v));
        }
        let (mx, my) = header.mcus();
        let all = mx * my * slot_component_len(header);
        let doubled = full_chroma(header, k);
        let comp_k: Vec<usize> = (0..header.components.len())
            .map(|fi| if doubled && fi > 0 { 2 * k } else { k })
            .collect();
        // Coefficients kept per axis: the transform's size, or all eight
        // for a block drawn larger than 8 (4:2:0 chroma at 5/8 to 7/8).
        let kept = |c: usize| comp_k[header.scan[c].frame_index].min(8);
        let slot_window = slot_component.iter().map(|&c| window(kept(c))).collect();
        let slot_len: Vec<usize> = slot_component
            .iter()
            .map(|&c| kept(c) * kept(c) + 1)
            .collect();
        let sizes = Sizes::new(slot_len);
        let slot_tables = slot_component
            .iter()
            .map(|&c| {
                let s = header.scan[c];
                match (&header.dc[s.dc], &header.ac[s.ac]) {
                    (Some(dc), Some(ac)) => (dc, ac),
                    _ => unreachable!("header::parse checks the scan's tables"),
                }
            })
            .collect();
        Layout {
            header,
            k,
            comp_k,
            round_dc: !as_jpeg_decoder(),
            slot_window,
            sizes,
            bpm: slot_component.len(),
            slot_component,
            slot_tables,
            total: all,
            all,
        }
    }

    /// Decodes only the first `mcu_rows` MCU rows (at least one): the
    /// scan's data after them is not read.
    pub fn limit_rows(&mut self, mcu_rows: usize) {
        let per_row = self.header.mcus().0 * self.bpm;
        self.total = self.all.min(mcu_rows.max(1) * per_row);
    }

    /// The scan component of an MCU's block slot.
    pub fn slot_component(&self, slot: usize) -> usize {
        self.slot_component[slot]
    }

    /// The DC and AC tables of an MCU's block slot, its scan component and
    /// where its coefficients are kept.
    #[inline(always)]
    fn tables(&self, slot: usize) -> (&HuffTable, &HuffTable, usize, &[u8; 64]) {
        let (dc, ac) = self.slot_tables[slot];
        (dc, ac, self.slot_component[slot], &self.slot_window[slot])
    }
}

/// Where blocks are stored: each block slot of an MCU keeps its kept
/// corner (`k` x `k`, or `2k` x `2k` for 4:2:0 chroma at 1/8 and 1/4), then
/// one value that takes the coefficients not kept (it means nothing), so
/// an MCU's blocks take [`Sizes::mcu_len`] values, one after another. A
/// run of blocks starting in slot `s` is stored from `at(s)` on.
#[derive(Debug, Clone)]
pub(super) struct Sizes {
    /// Values of each slot's blocks.
    pub slot_len: Vec<usize>,
    /// Where each slot's block starts within its MCU.
    slot_start: Vec<usize>,
    /// Values of an MCU.
    pub mcu_len: usize,
}

impl Sizes {
    fn new(slot_len: Vec<usize>) -> Sizes {
        let mut slot_start = Vec::with_capacity(slot_len.len());
        let mut at = 0;
        for len in &slot_len {
            slot_start.push(at);
            at += len;
        }
        Sizes {
            slot_len,
            slot_start,
            mcu_len: at,
        }
    }

    /// Blocks per MCU.
    pub fn bpm(&self) -> usize {
        self.slot_len.len()
    }

    /// Where block `n` starts, counting blocks and values from an MCU's
    /// first block.
    #[inline(always)]
    pub fn at(&self, n: usize) -> usize {
        let bpm = self.bpm();
        (n / bpm) * self.mcu_len + self.slot_start[n % bpm]
    }

    /// The values of blocks `from..to` of a run whose block 0 is in slot
    /// `slot0`, within that run's storage.
    #[inline]
    pub fn span(&self, slot0: usize, from: usize, to: usize) -> std::ops::Range<usize> {
        let base = self.at(slot0);
        self.at(slot0 + from) - base..self.at(slot0 + to) - base
    }

    /// Where block `index` of an MCU starts in a run from an MCU's start
    /// (`mcu`: the MCU's index in the run; `slot`: the block's), and its
    /// length.
    #[inline(always)]
    pub fn in_mcu(&self, mcu: usize, slot: usize) -> (usize, usize) {
        (
            mcu * self.mcu_len + self.slot_start[slot],
            self.slot_len[slot],
        )
    }
}

/// Whether the chroma of this file is transformed at `2k` points per axis
/// where the luma is at `k`: a 4:2:0 file (luma 2x2, both chroma 1x1) at
/// 1/8 to 5/8. At 1/8 to 1/2 a chroma block keeps `2k` coefficients per
/// axis; at 5/8 all eight, drawn at 10 points
/// ([`super::k_point::idct_up`]). Its chroma
/// then comes out of the transform at the luma's resolution, as libjpeg's
/// scaled decoding gives it (`jdmaster.c` picks each component's
/// `DCT_scaled_size` so), instead of at half of it upsampled: colour
/// detail the full decode has is kept (red and blue squares at 1/8 were
/// off by 75 levels of red on average, now 14, the full decode 18). The
/// cost, on a 4000x3000 photo drawn 1200x900 (3/8) and 2000x1500 (1/2):
/// 16% and 10% more instructions (callgrind), the chroma's larger
/// transforms and the four times as many coefficients kept ([`Sizes`]).
/// jpeg-decoder transforms every component at `k`, so this departs from
/// its pixels (tests decode both ways: [`AS_JPEG_DECODER`]), as does the
/// rounding of the 1/8 transform ([`Layout::round_dc`]).
///
/// Why not 6/8 and 7/8 (12 and 14 points from the block's 8): measured
/// against the full decode Lanczos-filtered down (the mean over R, G, B, in
/// levels), a 4000x3000 4:2:0 chart of coloured text, lines and squares:
/// 5/8 gained (drawn 1200x900 at 5/8: 1.98 -> 1.54; 2000x1500: 3.40 ->
/// 2.64), 6/8 and 7/8 lost (1400x1050 at 6/8: 1.33 -> 1.71; 1600x1200 at
/// 7/8: 0.93 -> 1.94), the transform's ringing at saturated edges costing
/// more than the detail it adds where half resolution drops one or two of
/// eight coefficients; photos moved by 0.02 either way.
fn full_chroma(header: &Header, k: usize) -> bool {
    if as_jpeg_decoder() {
        return false;
    }
    let c = &header.components;
    k <= 5
        && c.len() == 3
        && (c[0].h, c[0].v) == (2, 2)
        && c[1..].iter().all(|c| (c.h, c.v) == (1, 1))
}

/// Whether this thread's tests asked for jpeg-decoder's pixels
/// ([`AS_JPEG_DECODER`]); never outside tests.
fn as_jpeg_decoder() -> bool {
    #[cfg(test)]
    return AS_JPEG_DECODER.with(std::cell::Cell::get);
    #[cfg(not(test))]
    false
}

#[cfg(test)]
thread_local! {
    /// Tests set this on their thread to decode every component at `k`, as
    /// jpeg-decoder does, and compare the pixels with its own.
    pub(super) static AS_JPEG_DECODER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn slot_component_len(header: &Header) -> usize {
    header
        .scan
        .iter()
        .map(|s| header.components[s.frame_index].h * header.components[s.frame_index].v)
        .sum()
}

/// A decoder's state at a block start.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct State {
    /// The MCU slot of the next block.
    pub slot: usize,
    pred: [i16; 3],
    carry: Carry,
}

/// A block start seen by a speculative decoder: enough to recognise the
/// same point in another decoder, and its DC predictors there.
#[derive(Debug, Clone, Copy)]
struct Mark {
    pos: u64,
    state: State,
}

/// Block starts recorded per chunk for synchronisation.
const MARKS: usize = 8192;
/// The smallest chunk worth a thread (bytes of scan data).
const MIN_CHUNK: usize = 192 * 1024;
/// How many times a speculative decoder that failed before falling into
/// step starts again, and how many bytes further on each time.
const RETRIES: usize = 8;
const RETRY_STEP: usize = 101;

/// One chunk's decoder and what it produced.
struct Chunk<'d> {
    bits: Bits<'d>,
    state: State,
    /// Decoded blocks as [`Sizes`] lays them out from slot `slot0`: the
    /// first `count` blocks of a zeroed buffer (allocated zeroed, so pages
    /// never written cost nothing).
    out: Vec<i16>,
    /// The MCU slot of the chunk's first block.
    slot0: usize,
    count: usize,
    /// The most blocks this chunk may hold (bounds memory on hostile data;
    /// a chunk stopped by it is continued by the chain, never trusted
    /// beyond what it decoded).
    cap: usize,
    marks: Vec<Mark>,
    failed: bool,
    /// Where this decoder met a later chunk's decoder: (chunk, mark index,
    /// blocks of this chunk before that point, this decoder's state there).
    joined: Option<(usize, usize, usize, State)>,
}

/// Decodes blocks from the current state until `limit` blocks are in `out`
/// or a block would start at or past bit `stop`; records the first block
/// starts in `marks` (up to its capacity).
fn run(layout: &Layout, c: &mut Chunk, limit: usize, stop: u64) {
    let sizes = &layout.sizes;
    // The decoder's state in locals, so it stays in registers.
    let (mut bits, mut state, mut count) = (c.bits, c.state, c.count);
    let need = sizes.span(c.slot0, 0, limit).end;
    if need > c.out.len() {
        c.out.resize(need, 0);
    }
    let mut at = sizes.span(c.slot0, 0, count).end;
    while count < limit {
        let pos = bits.position();
        if pos >= stop {
            break;
        }
        if c.marks.len() < c.marks.capacity() {
            c.marks.push(Mark { pos, state });
        }
        let len = sizes.slot_len[state.slot];
        let block = &mut c.out[at..at + len];
        if step(layout, &mut bits, &mut state, block).is_err() {
            c.failed = true;
            break;
        }
        (count, at) = (count + 1, at + len);
    }
    (c.bits, c.state, c.count) = (bits, state, count);
}

/// Decodes one block into `block` (left zeroed if it fails).
#[inline(always)]
pub(super) fn step(
    layout: &Layout,
    bits: &mut Bits,
    state: &mut State,
    block: &mut [i16],
) -> Result<(), Corrupt> {
    let (dc, ac, comp, window) = layout.tables(state.slot);
    let r = decode_block(
        bits,
        dc,
        ac,
        &mut state.pred[comp],
        &mut state.carry,
        window,
        block,
    );
    if r.is_err() {
        block.fill(0);
    }
    state.slot = if state.slot + 1 == layout.bpm {
        0
    } else {
        state.slot + 1
    };
    r
}

/// Continues chunk `i`'s decoding past its end until it reaches a block
/// start that a later chunk's decoder recorded in the same state, or the
/// end of the data, or its cap.
fn join(layout: &Layout, marks: &[Vec<Mark>], i: usize, c: &mut Chunk, end: u64) {
    let sizes = &layout.sizes;
    let (mut j, mut m) = (i + 1, 0);
    while j < marks.len() && c.bits.position() < end && c.count < c.cap {
        let pos = c.bits.position();
        let list = &marks[j];
        while m < list.len() && list[m].pos < pos {
            m += 1;
        }
        if m == list.len() {
            (j, m) = (j + 1, 0);
            continue;
        }
        let mark = list[m];
        if mark.pos == pos && mark.state.slot == c.state.slot && mark.state.carry == c.state.carry {
            c.joined = Some((j, m, c.count, c.state));
            return;
        }
        // `out` holds `cap` blocks from the start, and `count < cap` here.
        let block = &mut c.out[sizes.span(c.slot0, c.count, c.count + 1)];
        if step(layout, &mut c.bits, &mut c.state, block).is_err() {
            c.failed = true;
            return;
        }
        c.count += 1;
    }
}

/// The scan's blocks in decode order ([`Sizes`]), or why the
/// data cannot be decoded. `threads` bounds the chunks decoded at once.
pub(super) fn decode(layout: &Layout, threads: usize) -> Result<Blocks, Corrupt> {
    decode_chunked(layout, threads, MIN_CHUNK)
}

/// [`decode`] with chunks of at least `min_chunk` bytes (the tests cut
/// small files into many chunks).
///
/// The data is decoded in rounds. A round cuts the data it expects the
/// blocks still wanted to lie in into one chunk per thread: the first
/// continues from the known decoder state, the others start speculatively.
/// When the chain of joined chunks falls short of the blocks wanted (a
/// speculative decoder never fell into step, or the wanted rows hold more
/// of the data than their share, with [`Layout::limit_rows`]), the next
/// round goes on from where the chain ends, again on every core; the last
/// round finishes on one.
pub(super) fn decode_chunked(
    layout: &Layout,
    threads: usize,
    min_chunk: usize,
) -> Result<Blocks, Corrupt> {
    let h = layout.header;
    if h.restart_interval > 0 {
        return super::restarts::decode(layout)
            .map(|data| Blocks::whole(data, layout.total, layout.sizes.clone()));
    }
    let data_len = h.data.len();
    let mut head = Head {
        bits: Bits::new(h.data, 0, data_len, 0),
        state: State::default(),
    };
    let (mut parts, mut have) = (Vec::new(), 0);
    for round in 0..ROUNDS {
        let want = layout.total - have;
        let begin = head.bits.byte();
        // Where the wanted blocks should end: the end of the data, or, when
        // only the first `total` blocks are wanted, as far as they reach at
        // the file's average density (the density measured so far, after
        // the first round), a little further.
        let end = if layout.total == layout.all {
            data_len
        } else {
            let (bytes, blocks) = if have > 0 {
                (begin, have)
            } else {
                (data_len, layout.all)
            };
            let share = (bytes as u128 * want as u128 / blocks.max(1) as u128) as usize;
            (begin + share + share / 32 + 4096).min(data_len)
        };
        let last = round + 1 == ROUNDS;
        #[cfg(test)]
        LATER_ROUNDS.with(|r| r.set(r.get() + usize::from(round > 0)));
        let (got, next) = decode_round(layout, head, want, (begin, end), threads, min_chunk, last)?;
        let base = have;
        for mut p in got {
            p.start += base;
            have += p.len;
            parts.push(p);
        }
        match next {
            Some(next) => head = next,
            None => break,
        }
    }
    if have < layout.total {
        return Err(Corrupt); // the last round finishes or fails
    }
    Ok(Blocks {
        parts,
        sizes: layout.sizes.clone(),
    })
}

/// Rounds of [`decode_chunked`] at most.
const ROUNDS: usize = 4;

#[cfg(test)]
thread_local! {
    /// Rounds after the first that [`decode_chunked`] ran on this thread.
    pub(super) static LATER_ROUNDS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Where a round starts: the true decoder state at a block start.
struct Head<'d> {
    bits: Bits<'d>,
    state: State,
}

/// One round of [`decode_chunked`]: `want` blocks from `head`, the data
/// `[begin, end)` (raw bytes) cut into chunks. Returns the stretches the
/// chain of joined chunks holds (starts counted from the round's first
/// block), and where the chain stopped if it holds fewer than `want`
/// blocks (never on the `last` round).
#[allow(clippy::too_many_arguments)]
fn decode_round<'d>(
    layout: &Layout<'d>,
    head: Head<'d>,
    want: usize,
    (begin, end): (usize, usize),
    threads: usize,
    min_chunk: usize,
    last: bool,
) -> Result<(Vec<Part>, Option<Head<'d>>), Corrupt> {
    let h = layout.header;
    let (data_len, sizes) = (h.data.len(), &layout.sizes);
    let len = end.saturating_sub(begin);
    // Positions count the data without its stuffed bytes.
    let logical = |raw: usize| (raw - h.stuffed_before(raw)) as u64 * 8;
    let bits_end = logical(end.max(begin));
    let n = threads.min(len / min_chunk.max(1)).max(1);
    // Chunk starts, none on the `00` of an `FF 00`.
    let starts: Vec<usize> = (0..=n)
        .map(|i| {
            let s = begin + len * i / n;
            s + usize::from(i > 0 && s < data_len && h.data[s - 1] == 0xFF)
        })
        .collect();
    let mut head = Some(head);
    let mut chunks: Vec<Chunk> = (0..n)
        .map(|i| {
            let share = starts[i + 1].saturating_sub(starts[i]);
            let expected = (want as u128 * share as u128 / len.max(1) as u128) as usize;
            let cap = if n == 1 {
                want
            } else {
                want.min(4 * expected + MARKS)
            };
            let (bits, state) = match head.take() {
                Some(head) => (head.bits, head.state),
                None => (
                    Bits::new(h.data, starts[i], data_len, h.stuffed_before(starts[i])),
                    State::default(),
                ),
            };
            Chunk {
                bits,
                state,
                out: vec![0; sizes.span(state.slot, 0, cap).end],
                slot0: state.slot,
                count: 0,
                cap,
                marks: Vec::with_capacity(if i == 0 { 0 } else { MARKS }),
                failed: false,
                joined: None,
            }
        })
        .collect();
    parallel_each(&mut chunks, |i, c| {
        let stop = if i + 1 == n {
            bits_end
        } else {
            logical(starts[i + 1])
        };
        run(layout, c, c.cap, stop);
        // A speculative start can meet a code no table has before it falls
        // into step with the stream; its blocks would then be left to the
        // chunk before (one thread doing two chunks' work). Start again a
        // little further on, a few times, while most of the chunk is left.
        let mut start = starts[i];
        for _ in 0..RETRIES {
            if i == 0 || !c.failed || c.count > MARKS / 2 {
                break;
            }
            start += RETRY_STEP;
            start += usize::from(start < data_len && h.data[start - 1] == 0xFF);
            if start + (starts[i + 1] - starts[i]) / 2 >= starts[i + 1] {
                break;
            }
            c.out[..sizes.span(c.slot0, 0, c.count).end].fill(0);
            c.bits = Bits::new(h.data, start, data_len, h.stuffed_before(start));
            (c.state, c.count, c.failed) = (State::default(), 0, false);
            c.marks.clear();
            run(layout, c, c.cap, stop);
        }
    });
    let marks: Vec<Vec<Mark>> = chunks
        .iter_mut()
        .map(|c| std::mem::take(&mut c.marks))
        .collect();
    let last_chunk = n - 1;
    parallel_each(&mut chunks[..last_chunk], |i, c| {
        if !c.failed {
            join(layout, &marks, i, c, bits_end);
        }
    });
    merge(layout, chunks, &marks, want, last || n == 1)
}

/// Runs `f` on every item, one rayon task each.
fn parallel_each<T: Send>(items: &mut [T], f: impl Fn(usize, &mut T) + Sync) {
    use rayon::prelude::*;
    items.par_iter_mut().enumerate().for_each(|(i, c)| f(i, c));
}

/// One stretch of the result: blocks `from..to` of chunk `chunk`, their DC
/// values shifted by `shift` (by scan component).
struct Link {
    chunk: usize,
    from: usize,
    to: usize,
    shift: [i16; 3],
}

/// The scan's blocks in decode order ([`Sizes`]), as stretches of
/// the chunks' own buffers (joining them would copy half the coefficients
/// on one thread).
pub(super) struct Blocks {
    parts: Vec<Part>,
    sizes: Sizes,
}

/// Blocks `start..start + len` of the scan: `data`'s blocks from `offset`
/// (`data` laid out by [`Sizes`] from slot `slot0`).
struct Part {
    data: Vec<i16>,
    slot0: usize,
    start: usize,
    offset: usize,
    len: usize,
}

impl Blocks {
    /// One buffer holding every block in order, `len` blocks from an MCU's
    /// start.
    pub fn whole(data: Vec<i16>, len: usize, sizes: Sizes) -> Blocks {
        Blocks {
            parts: vec![Part {
                data,
                slot0: 0,
                start: 0,
                offset: 0,
                len,
            }],
            sizes,
        }
    }

    /// Blocks `first..first + count` as one slice, when one part holds them
    /// all (every MCU row but the one a join falls in).
    #[inline]
    pub fn run(&self, first: usize, count: usize) -> Option<&[i16]> {
        let p = self.part(first);
        let local = p.offset + first - p.start;
        (first + count <= p.start + p.len)
            .then(|| &p.data[self.sizes.span(p.slot0, local, local + count)])
    }

    /// Block `ordinal`.
    #[inline]
    pub fn block(&self, ordinal: usize) -> &[i16] {
        let p = self.part(ordinal);
        debug_assert!(ordinal - p.start < p.len, "block {ordinal} past its part");
        let local = p.offset + ordinal - p.start;
        &p.data[self.sizes.span(p.slot0, local, local + 1)]
    }

    fn part(&self, ordinal: usize) -> &Part {
        // The first part starts at 0, so the index is at least 1.
        &self.parts[self.parts.partition_point(|p| p.start <= ordinal) - 1]
    }
}

/// Follows the joins from the first chunk and hands over the stretches of
/// the chain, `want` blocks; when the chain holds fewer, either lets its
/// last chunk finish (`finish`: the last round; through zeros if the data
/// ran out, as jpeg-decoder does) or says where the chain stopped.
fn merge<'d>(
    layout: &Layout,
    mut chunks: Vec<Chunk<'d>>,
    marks: &[Vec<Mark>],
    want: usize,
    finish: bool,
) -> Result<(Vec<Part>, Option<Head<'d>>), Corrupt> {
    let sizes = &layout.sizes;
    let mut chain = Vec::new();
    let (mut cur, mut from, mut shift, mut have) = (0, 0, [0i16; 3], 0);
    while let Some((j, m, before, state)) = chunks[cur].joined {
        if have + before - from >= want {
            break; // this chunk's blocks reach the last one wanted
        }
        chain.push(Link {
            chunk: cur,
            from,
            to: before,
            shift,
        });
        have += before - from;
        // The true predictors where the two met, minus the later
        // decoder's own there.
        let theirs = marks[j][m].state.pred;
        for c in 0..3 {
            shift[c] = state.pred[c].wrapping_add(shift[c]).wrapping_sub(theirs[c]);
        }
        (cur, from) = (j, m);
    }
    let c = &mut chunks[cur];
    let mut next = None;
    if have + c.count - from < want {
        if c.failed {
            return Err(Corrupt);
        }
        if finish {
            run(layout, c, from + want - have, u64::MAX);
            if c.failed || have + c.count - from < want {
                return Err(Corrupt);
            }
        } else {
            // The next round starts where this decoder stopped, with the
            // true predictors.
            let mut state = c.state;
            for (p, s) in state.pred.iter_mut().zip(shift) {
                *p = p.wrapping_add(s);
            }
            next = Some(Head {
                bits: c.bits,
                state,
            });
        }
    }
    let to = (from + want - have).min(c.count);
    chain.push(Link {
        chunk: cur,
        from,
        to,
        shift,
    });
    let mut parts = Vec::with_capacity(chain.len());
    let mut start = 0;
    for link in chain {
        let len = link.to - link.from;
        if len > 0 {
            let slot0 = chunks[link.chunk].slot0;
            let mut data = std::mem::take(&mut chunks[link.chunk].out);
            shift_dc(
                layout,
                &mut data[sizes.span(slot0, link.from, link.to)],
                slot0 + link.from,
                link.shift,
            );
            parts.push(Part {
                data,
                slot0,
                start,
                offset: link.from,
                len,
            });
        }
        start += len;
    }
    Ok((parts, next))
}

/// Adds `shift` (by scan component) to the DC value of each block in
/// `blocks`, the first of which is in MCU slot `first % bpm` (blocks laid
/// out by [`Sizes`]), on every core: whole MCUs a task, after the blocks
/// up to the first MCU's end.
fn shift_dc(layout: &Layout, blocks: &mut [i16], first: usize, shift: [i16; 3]) {
    use rayon::prelude::*;
    if shift == [0; 3] {
        return;
    }
    let sizes = &layout.sizes;
    let bpm = sizes.bpm();
    let add = |block: &mut [i16], slot: usize| {
        block[0] = block[0].wrapping_add(shift[layout.slot_component[slot]]);
    };
    // The blocks before the first whole MCU.
    let mut at = 0;
    let mut slot = first % bpm;
    while slot != 0 && at < blocks.len() {
        add(&mut blocks[at..], slot);
        at += sizes.slot_len[slot];
        slot = (slot + 1) % bpm;
    }
    const MCUS_PER_TASK: usize = 1024;
    blocks[at..]
        .par_chunks_mut(sizes.mcu_len * MCUS_PER_TASK)
        .for_each(|run| {
            let mut at = 0;
            let mut slot = 0;
            while at < run.len() {
                add(&mut run[at..], slot);
                at += sizes.slot_len[slot];
                slot = (slot + 1) % bpm;
            }
        });
}
