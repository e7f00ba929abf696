//! Tests of the Huffman tables, the bit reader and block decoding.

use super::*;

/// The standard luminance DC table (JPEG Annex K.3).
fn dc_table() -> HuffTable {
    let counts = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
    HuffTable::new(&counts, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], false).unwrap()
}

#[test]
fn the_reader_gives_the_same_bits_with_fast_and_byte_refills_and_zeros_past_the_end() {
    // Stuffed FFs among the bytes: the reader must skip their zeros.
    let plain: Vec<u8> = (0..30u32)
        .map(|i| {
            if i % 7 == 3 {
                0xFF
            } else {
                (i * 37 + 11) as u8
            }
        })
        .collect();
    let mut data = Vec::new();
    for &b in &plain {
        data.push(b);
        if b == 0xFF {
            data.push(0);
        }
    }
    let end = data.len();
    data.extend([0xFF, 0xD9, 1, 2, 3, 4, 5, 6, 7, 8]);
    let mut fast = Bits::new(&data, 0, end, 0);
    let mut expected = Vec::new();
    for byte in &plain {
        for b in (0..8).rev() {
            expected.push(u32::from(byte >> b & 1));
        }
    }
    expected.extend([0; 64]);
    let mut got = Vec::new();
    // Odd widths so refills happen at every alignment.
    for w in [3u32, 7, 1, 13, 5, 11, 2].iter().cycle().take(40) {
        fast.need();
        let v = fast.take(*w);
        got.extend((0..*w).rev().map(|b| v >> b & 1));
    }
    assert_eq!(got[..], expected[..got.len()]);
    assert_eq!(fast.position(), got.len() as u64);
}

/// An AC table with the standard luminance code lengths (K.5) over
/// every symbol a baseline scan can hold, the common ones first.
fn ac_table() -> HuffTable {
    let counts = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
    let mut values = vec![0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31];
    for run in 0..16u8 {
        for size in 1..=10u8 {
            let symbol = run << 4 | size;
            if !values.contains(&symbol) {
                values.push(symbol);
            }
        }
    }
    values.push(0xF0);
    assert_eq!(values.len(), 162);
    HuffTable::new(&counts, &values, true).unwrap()
}

#[test]
fn blocks_decode_the_same_with_whole_values_from_the_table_as_symbol_by_symbol() {
    // Random streams hold every kind of symbol: long codes, long
    // values, runs past the block, end-of-band runs, bad codes.
    let (dc, ac) = (dc_table(), ac_table());
    let mut next = crate::codec::xorshift32(0x2545_f491);
    for k in [1usize, 2, 4] {
        let window = window(k);
        for _ in 0..40 {
            let data: Vec<u8> = (0..4096)
                .map(|_| (next() >> 24) as u8 & 0xFE) // no FF: no stuffing here
                .collect();
            let mut fast = (Bits::new(&data, 0, data.len(), 0), 0i16, Carry::default());
            let mut slow = fast;
            for block in 0.. {
                let (mut a, mut b) = (vec![0i16; k * k + 1], vec![0i16; k * k + 1]);
                let r = decode_block(
                    &mut fast.0,
                    &dc,
                    &ac,
                    &mut fast.1,
                    &mut fast.2,
                    &window,
                    &mut a,
                );
                // The reference: the general path alone.
                let s = dc_symbol(&mut slow.0, &dc, &mut slow.1, &mut slow.2, &mut b).and_then(
                    |more| {
                        let mut index = 1;
                        if more {
                            while ac_symbol(
                                &mut slow.0,
                                &ac,
                                &mut index,
                                &mut slow.2,
                                &window,
                                &mut b,
                            )? {}
                        }
                        Ok(())
                    },
                );
                assert_eq!(r, s, "block {block}");
                if r.is_err() {
                    break;
                }
                // The slot after the kept corner takes the rest: unspecified.
                assert_eq!(a[..k * k], b[..k * k], "block {block}");
                assert_eq!(fast.0.position(), slow.0.position(), "block {block}");
                assert_eq!((fast.1, fast.2), (slow.1, slow.2), "block {block}");
                if fast.0.position() > data.len() as u64 * 8 {
                    break;
                }
            }
        }
    }
}

#[test]
fn tables_refuse_overfull_code_lengths_and_decode_canonical_codes() {
    // Three 1-bit codes cannot exist.
    assert!(HuffTable::new(
        &[3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &[1, 2, 3],
        false
    )
    .is_none());
    let t = dc_table();
    // K.3: category 0 is 00, 1 is 010, 5 is 110, 11 is 111111110.
    let data = [0b0001_0110, 0b1111_1111, 0b0000_0000];
    let mut bits = Bits::new(&data, 0, 3, 0);
    bits.need();
    assert_eq!(t.symbol(&mut bits), Ok(0));
    assert_eq!(t.symbol(&mut bits), Ok(1));
    assert_eq!(t.symbol(&mut bits), Ok(5));
    assert_eq!(t.symbol(&mut bits), Ok(11));
}

#[test]
fn extend_maps_raw_bits_to_signed_values_as_f_2_2_1_says() {
    assert_eq!(extend(0, 1), -1);
    assert_eq!(extend(1, 1), 1);
    assert_eq!(extend(0b010, 3), -5);
    assert_eq!(extend(0b110, 3), 6);
    assert_eq!(extend(0, 15), -32767);
}
