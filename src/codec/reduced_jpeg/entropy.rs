//! Huffman decoding of baseline blocks: the tables, a bit reader over the
//! unstuffed scan data, and one block's DC and AC coefficients.
//!
//! The arithmetic mirrors `jpeg-decoder` 0.3 (`huffman.rs`, `decode_block`)
//! symbol for symbol, including what it does with streams no encoder
//! writes (a run past the 64th coefficient, an end-of-band run in a
//! sequential scan, zeros read past the end of the data), so a file decodes
//! to the same coefficients with either. What differs is speed: the reader
//! takes eight bytes at a time from a slice with the stuffing already
//! removed, and the tables resolve codes of up to 10 bits, with the AC
//! value, in one lookup; where the 10 bits hold them, two whole AC
//! coefficients, or one and the block's end of band, come from one lookup
//! (the kept coefficients are the same; only the slot that takes the
//! discarded ones may differ, see [`window`]).

/// Zigzag index -> natural (row-major) index.
pub(super) const UNZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// Bits resolved by one table lookup.
const FAST: u32 = 10;
/// The lookup width of jpeg-decoder's AC table, which decides whether a
/// value's bits are consumed when its run overshoots the block.
const JD_LUT_BITS: u32 = 8;

/// The stream is not valid Huffman data for these tables (jpeg-decoder:
/// "failed to decode huffman code" or "invalid DC difference magnitude
/// category").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Corrupt;

/// One Huffman table, ready for decoding.
pub(super) struct HuffTable {
    /// By the next `FAST` bits: `len << 8 | symbol`, 0 when the code is
    /// longer.
    lut: Box<[u16]>,
    /// AC tables only, by the next `FAST` bits: see [`fast_entry`]; 0 when
    /// the code is longer.
    fast_ac: Box<[i32]>,
    /// AC tables only, by the next `FAST` bits, when they hold a whole
    /// coefficient (code and value), and the next one too where it fits
    /// (see [`whole_entry`]), or an end of band, alone or after the
    /// coefficient ([`WHOLE_END`]); 0 for longer codes or values and for
    /// runs of sixteen zeros.
    whole: Box<[u64]>,
    /// Largest code of each length (index = length), -1 when none.
    maxcode: [i32; 17],
    /// Index of a length's first value minus its first code.
    delta: [i32; 17],
    values: Vec<u8>,
}

impl HuffTable {
    /// The table of `counts` codes of each length 1..=16 for `values`;
    /// `None` when the counts describe no valid code (the caller's decoder
    /// then reports it).
    pub fn new(counts: &[u8; 16], values: &[u8], ac: bool) -> Option<HuffTable> {
        if values.is_empty() || values.len() > 256 {
            return None;
        }
        let mut lut = vec![0u16; 1 << FAST].into_boxed_slice();
        let mut fast_ac = vec![0i32; if ac { 1 << FAST } else { 0 }].into_boxed_slice();
        // One coefficient per entry first (`value << 16 | run << 8 | bits`).
        let mut single = vec![0i32; if ac { 1 << FAST } else { 0 }];
        let mut maxcode = [-1i32; 17];
        let mut delta = [0i32; 17];
        let (mut code, mut k) = (0u32, 0usize);
        for len in 1..=16u32 {
            let n = usize::from(counts[len as usize - 1]);
            if n > 0 {
                delta[len as usize] = k as i32 - code as i32;
            }
            for _ in 0..n {
                if code >= 1 << len {
                    return None; // jpeg-decoder: "bad huffman code length"
                }
                let symbol = values[k];
                if len <= FAST {
                    let spare = FAST - len;
                    let start = (code << spare) as usize;
                    let range = start..start + (1 << spare);
                    lut[range.clone()].fill((len as u16) << 8 | u16::from(symbol));
                    if ac {
                        fast_ac[range.clone()].fill(fast_entry(symbol, len));
                        let (run, size) = (u32::from(symbol >> 4), u32::from(symbol & 15));
                        if size > 0 && len + size <= FAST {
                            for (i, slot) in single[range].iter_mut().enumerate() {
                                // The value's bits follow the code's.
                                let raw = (i as u32) >> (spare - size) & ((1 << size) - 1);
                                let value = i32::from(extend(raw as u16, size));
                                *slot = value << 16 | (run << 8 | (len + size)) as i32;
                            }
                        }
                    }
                }
                code += 1;
                k += 1;
            }
            if n > 0 {
                maxcode[len as usize] = code as i32 - 1;
            }
            code <<= 1;
        }
        // Then a second coefficient wherever it is whole in the bits the
        // first leaves, or else an end of band there: prefix codes make it
        // the same for every value of the bits past the lookahead.
        let end_of_band = |j: usize| {
            let e = lut[j & ((1 << FAST) - 1)];
            (e != 0 && e & 0xFF == 0).then_some(u32::from(e >> 8))
        };
        let whole = (0..single.len())
            .map(|i| {
                let first = single[i];
                if first == 0 {
                    return end_of_band(i).map_or(0, |len| WHOLE_END | u64::from(len));
                }
                let used = (first & 31) as u32;
                let next = (i << used) & ((1 << FAST) - 1);
                let second = single[next];
                if second != 0 && (second & 31) as u32 <= FAST - used {
                    whole_entry(first, Some(second))
                } else if let Some(len) = end_of_band(next).filter(|&l| l <= FAST - used) {
                    WHOLE_END | (whole_entry(first, None) + u64::from(len))
                } else {
                    whole_entry(first, None)
                }
            })
            .collect();
        (k == values.len()).then_some(HuffTable {
            lut,
            fast_ac,
            whole,
            maxcode,
            delta,
            values: values.to_vec(),
        })
    }

    /// The next symbol (the reader holds at least 16 bits).
    #[inline(always)]
    fn symbol(&self, bits: &mut Bits) -> Result<u8, Corrupt> {
        let e = self.lut[bits.peek(FAST) as usize];
        if e != 0 {
            bits.consume(u32::from(e >> 8));
            return Ok(e as u8);
        }
        for len in FAST + 1..=16 {
            let code = bits.peek(len) as i32;
            if code <= self.maxcode[len as usize] {
                bits.consume(len);
                let i = (code + self.delta[len as usize]) as usize;
                return self.values.get(i).copied().ok_or(Corrupt);
            }
        }
        Err(Corrupt)
    }
}

/// The fast AC entry of a code of `len` bits for `symbol` (run << 4 |
/// size): `run << 13 | size << 9 | len << 5 | (len + size)`. The value's
/// bits are read from the buffer beside the shift that consumes both, so
/// the shift, the one step each symbol waits for, takes one entry field.
fn fast_entry(symbol: u8, len: u32) -> i32 {
    let (run, size) = (i32::from(symbol >> 4), i32::from(symbol & 15));
    run << 13 | size << 9 | (len as i32) << 5 | (len as i32 + size)
}

/// In a [`HuffTable::whole`] entry: the block ends after its coefficient
/// with an end of band, whose bits the entry's count includes. An entry of
/// an end of band alone stores a zero in the slot of the next index, which
/// holds nothing yet or is the slot whose value means nothing.
const WHOLE_END: u64 = 1 << 24 | 64 << 12;

/// A [`HuffTable::whole`] entry from one or two single-coefficient entries
/// (`value << 16 | run << 8 | bits`, the first not 0): `second_value << 48 |
/// first_value << 32 (both as u16) | (second_run + 1) << 12 | first_run
/// << 8 | bits of both`. With one coefficient the second is the first
/// again (a run of -1 after it: the same slot, the same value), so a
/// decoder stores both without asking which.
fn whole_entry(first: i32, second: Option<i32>) -> u64 {
    let (v1, run1, bits1) = (first >> 16, first >> 8 & 15, first & 31);
    let (v2, step2, bits2) = match second {
        Some(s) => (s >> 16, (s >> 8 & 15) + 1, s & 31),
        None => (v1, 0, 0),
    };
    u64::from(v2 as u16) << 48
        | u64::from(v1 as u16) << 32
        | (step2 as u64) << 12
        | (run1 as u64) << 8
        | (bits1 + bits2) as u64
}

/// [`extend`] without a branch (`size` >= 1).
#[inline(always)]
fn extend_flat(raw: u32, size: u32) -> i16 {
    let v = raw as i32;
    let low = (v >> (size - 1)) - 1; // -1 when the top bit is clear, else 0
    (v + (low & (1 - (1 << size)))) as i16
}

/// F.2.2.1: `raw`, `size` bits long, as a signed coefficient.
#[inline(always)]
fn extend(raw: u16, size: u32) -> i16 {
    if u32::from(raw) < 1 << (size - 1) {
        (i32::from(raw) - (1 << size) + 1) as i16
    } else {
        raw as i16
    }
}

/// A reader of the scan data between `pos` and `end` as the file has it:
/// the `00` after each `FF` is skipped (the caller starts it on a data
/// byte), and past `end` it reads zeros, as jpeg-decoder does past a
/// marker.
#[derive(Clone, Copy)]
pub(super) struct Bits<'a> {
    data: &'a [u8],
    end: usize,
    /// Next byte not yet in `acc`.
    pos: usize,
    /// Stuffed bytes before `pos` (from the start of `data`).
    skipped: usize,
    /// Unconsumed bits, most significant first.
    acc: u64,
    /// How many bits of `acc` are valid.
    n: u32,
}

impl<'a> Bits<'a> {
    /// Reads `data[start..end]`; `skipped`: the stuffed bytes before
    /// `start`.
    pub fn new(data: &'a [u8], start: usize, end: usize, skipped: usize) -> Bits<'a> {
        Bits {
            data,
            end: end.min(data.len()),
            pos: start,
            skipped,
            acc: 0,
            n: 0,
        }
    }

    /// The bit position of the next unconsumed bit in the data without its
    /// stuffing, from the start of `data` (bits past `end` count as zeros).
    #[inline(always)]
    pub fn position(&self) -> u64 {
        (self.pos - self.skipped) as u64 * 8 - u64::from(self.n)
    }

    /// The first byte of the data not yet in the buffer (at most the
    /// data's end): where a decoder that starts afresh may start without
    /// reading bits this one holds.
    pub fn byte(&self) -> usize {
        self.pos.min(self.end)
    }

    /// Tops the buffer up to at least 56 bits.
    #[inline(always)]
    fn refill(&mut self) {
        if self.pos + 8 <= self.end {
            let word = u64::from_be_bytes(
                self.data[self.pos..self.pos + 8]
                    .try_into()
                    .unwrap_or([0; 8]),
            );
            // No `FF` among the eight (a zero byte in the complement), so
            // no stuffing: take them at once. Bits beyond the new count are
            // the stream's next bits too, so the next OR sets them again.
            let inverse = !word;
            let has_ff =
                inverse.wrapping_sub(0x0101_0101_0101_0101) & !inverse & 0x8080_8080_8080_8080;
            if has_ff == 0 {
                self.acc |= word >> self.n;
                self.pos += ((63 - self.n) >> 3) as usize;
                self.n |= 56;
                return;
            }
        }
        // By value: a reader whose address is taken lives on the stack, and
        // every symbol would then wait on a store and a load of it.
        *self = self.refill_slow();
    }

    #[cold]
    #[inline(never)]
    fn refill_slow(mut self) -> Self {
        // Clear what a fast refill left beyond `n`.
        self.acc &= !(u64::MAX.checked_shr(self.n).unwrap_or(0));
        while self.n <= 56 {
            let byte = if self.pos < self.end {
                let b = self.data[self.pos];
                if b == 0xFF && self.data.get(self.pos + 1) == Some(&0) {
                    self.pos += 1;
                    self.skipped += 1;
                }
                b
            } else {
                0
            };
            self.acc |= u64::from(byte) << (56 - self.n);
            self.pos += 1;
            self.n += 8;
        }
        self
    }

    /// Makes sure a whole symbol and its value (at most 31 bits) are
    /// buffered.
    #[inline(always)]
    fn need(&mut self) {
        if self.n < 32 {
            self.refill();
        }
    }

    #[inline(always)]
    fn peek(&self, count: u32) -> u32 {
        (self.acc >> (64 - count)) as u32
    }

    /// The `count` bits (1 to 16) after the next `skip` (0 to 16).
    #[inline(always)]
    fn peek_after(&self, skip: u32, count: u32) -> u32 {
        ((self.acc << skip) >> (64 - count)) as u32
    }

    #[inline(always)]
    fn consume(&mut self, count: u32) {
        self.acc <<= count;
        self.n -= count;
    }

    /// The next `count` bits (0 to 31; 0 gives 0).
    #[inline(always)]
    fn peek_up_to_31(&self, count: u32) -> u32 {
        ((self.acc >> 1) >> (63 - count)) as u32
    }

    /// [`Bits::consume`] of `word`'s low six bits (the rest ignored).
    #[inline(always)]
    fn consume_low_bits(&mut self, word: u32) {
        self.acc = self.acc.wrapping_shl(word);
        self.n -= word & 63;
    }

    #[inline(always)]
    fn take(&mut self, count: u32) -> u32 {
        if count == 0 {
            return 0;
        }
        let v = self.peek(count);
        self.consume(count);
        v
    }
}

/// What a block's decoding carries to the next block of its component and
/// of the scan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Carry {
    /// Blocks whose AC coefficients an end-of-band run still skips.
    pub eob_run: u16,
}

/// Where each zigzag coefficient goes in a stored block: its place in the
/// kept `k` x `k` corner (row-major), or slot `k * k`, which takes the rest
/// (a store without a branch; what it holds afterwards means nothing).
pub(super) fn window(k: usize) -> [u8; 64] {
    let mut w = [(k * k) as u8; 64];
    for (z, &natural) in UNZIGZAG.iter().enumerate() {
        let (row, col) = (usize::from(natural) / 8, usize::from(natural) % 8);
        if row < k && col < k {
            w[z] = (row * k + col) as u8;
        }
    }
    w
}

/// Decodes one block: its DC difference (added to `pred`, the stored DC
/// being the new predictor) and its AC coefficients, each stored where
/// `window` maps it in `out` (zeroed beforehand, one slot longer than the
/// kept corner).
#[inline(always)]
pub(super) fn decode_block(
    bits: &mut Bits,
    dc: &HuffTable,
    ac: &HuffTable,
    pred: &mut i16,
    carry: &mut Carry,
    window: &[u8; 64],
    out: &mut [i16],
) -> Result<(), Corrupt> {
    if !dc_symbol(bits, dc, pred, carry, out)? {
        return Ok(());
    }
    let mut index = 1usize;
    loop {
        index = whole_values(bits, &ac.whole, window, out, index);
        if index >= 64 || !ac_symbol(bits, ac, &mut index, carry, window, out)? {
            return Ok(());
        }
    }
}

/// Decodes AC coefficients from zigzag `index` on while the lookahead
/// holds each whole (code and value, about 93% of the social card photo's
/// symbols) and it lands in the block, and returns the index after them
/// (64 when an end of band ended the block): one lookup, one shift and two
/// stores for one or two coefficients, or one and the end of band, the
/// values read from the table (each symbol's lookup waits on the previous
/// one's length, so more than one a lookup shortens that chain).
/// [`ac_symbol`] decodes the symbol it stops at (a long code or value, a
/// run of sixteen zeros, a run past the block, an end of band the table
/// does not hold), with the same result as if it had decoded them all.
#[inline(always)]
fn whole_values(
    bits: &mut Bits,
    whole: &[u64],
    window: &[u8; 64],
    out: &mut [i16],
    mut index: usize,
) -> usize {
    let Ok(table) = <&[u64; 1 << FAST]>::try_from(whole) else {
        return index; // a DC table: none are whole
    };
    let mut b = *bits;
    while index < 64 {
        b.need();
        let v = table[b.peek(FAST) as usize];
        let first = index + (v >> 8 & 15) as usize;
        let second = first + (v >> 12 & 127) as usize;
        if v == 0 || second >= 64 {
            // An end of band (its second index is past the block), after
            // the entry's coefficient when that lands in the block before
            // its last place (a coefficient there ends the block without
            // one, and the bits go to the next block).
            if v & WHOLE_END == WHOLE_END && first < 63 {
                b.consume_low_bits(v as u32);
                out[usize::from(window[first])] = (v >> 32) as i16;
                index = 64;
            }
            break;
        }
        // `v`'s low six bits are the length (a shift takes its count
        // modulo 64, so no mask waits between the lookup and the shift).
        b.consume_low_bits(v as u32);
        out[usize::from(window[first])] = (v >> 32) as i16;
        out[usize::from(window[second])] = (v >> 48) as i16;
        index = second + 1;
    }
    *bits = b;
    index
}

/// A block's DC difference, added to `pred` and stored (the new predictor)
/// in `out[0]`. Returns whether the block has AC symbols (not when an
/// end-of-band run skips them).
#[inline(always)]
pub(super) fn dc_symbol(
    bits: &mut Bits,
    dc: &HuffTable,
    pred: &mut i16,
    carry: &mut Carry,
    out: &mut [i16],
) -> Result<bool, Corrupt> {
    bits.need();
    let s = u32::from(dc.symbol(bits)?);
    if s > 11 {
        return Err(Corrupt);
    }
    // F.2.2.1 without a branch on the sign (a coin toss per block): the
    // `s` bits (none when `s` is 0, which gives 0) as a signed difference.
    let raw = bits.peek_up_to_31(s) as i32;
    bits.consume(s);
    let diff = if raw < (1 << s) >> 1 {
        raw - (1 << s) + 1
    } else {
        raw
    } as i16;
    *pred = pred.wrapping_add(diff);
    out[0] = *pred;
    if carry.eob_run > 0 {
        carry.eob_run -= 1;
        return Ok(false);
    }
    Ok(true)
}

/// One AC symbol of a block, at zigzag `index` (1 to 63, advanced past
/// it), its value stored where `window` maps it in `out`. Returns whether
/// the block goes on.
#[inline(always)]
pub(super) fn ac_symbol(
    bits: &mut Bits,
    ac: &HuffTable,
    index: &mut usize,
    carry: &mut Carry,
    window: &[u8; 64],
    out: &mut [i16],
) -> Result<bool, Corrupt> {
    bits.need();
    let e = ac.fast_ac[bits.peek(FAST) as usize];
    let (run, size, len, total) = if e != 0 {
        let f = |shift: i32, mask: i32| ((e >> shift) & mask) as u32;
        (f(13, 15) as usize, f(9, 15), f(5, 15), f(0, 31))
    } else {
        let rs = ac.symbol(bits)?; // consumes the code
        (
            usize::from(rs >> 4),
            u32::from(rs & 15),
            0,
            u32::from(rs & 15),
        )
    };
    if size == 0 {
        bits.consume(len);
        if run == 15 {
            *index += 16;
            return Ok(*index < 64);
        }
        carry.eob_run = ((1u32 << run) - 1 + bits.take(run as u32)) as u16;
        return Ok(false);
    }
    *index += run;
    if *index >= 64 {
        // jpeg-decoder consumed the value only if its 8-bit table held
        // code and value (its slow path reads the code alone).
        let value_too = len > 0 && total <= JD_LUT_BITS;
        bits.consume(if value_too { total } else { len });
        return Ok(false);
    }
    let raw = bits.peek_after(len, size);
    bits.consume(total);
    out[usize::from(window[*index])] = extend_flat(raw, size);
    *index += 1;
    Ok(*index < 64)
}

#[cfg(test)]
#[path = "entropy_tests.rs"]
mod tests;
