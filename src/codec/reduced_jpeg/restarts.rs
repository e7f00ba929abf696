//! Scans with restart markers: every restart interval starts byte-aligned
//! with fresh DC predictors, so the intervals are decoded in parallel, each
//! straight into its place.

use rayon::prelude::*;

use super::entropy::{Bits, Corrupt};
use super::scan::{step, Layout, State};

/// The scan's blocks in decode order, laid out by [`super::scan::Sizes`]
/// from an MCU's start. A file whose
/// restart markers do not match its interval, or whose interval leaves
/// whole bytes unread, is `Corrupt` here (the caller's decoder judges it).
pub(super) fn decode(layout: &Layout) -> Result<Vec<i16>, Corrupt> {
    let h = layout.header;
    let (sizes, bpm) = (&layout.sizes, layout.bpm);
    let ri = h.restart_interval;
    let intervals = (layout.all / bpm).div_ceil(ri);
    if h.restarts.len() + 1 != intervals {
        return Err(Corrupt);
    }
    // `total` is whole MCUs (`Layout::limit_rows`).
    let mut out = vec![0i16; sizes.at(layout.total)];
    let interval_len = ri * sizes.mcu_len;
    out.par_chunks_mut(interval_len)
        .enumerate()
        .try_for_each(|(k, dst)| {
            let start = if k == 0 { 0 } else { h.restarts[k - 1].1 };
            let end = h.restarts.get(k).map_or(h.data.len(), |r| r.0);
            let mut bits = Bits::new(h.data, start, end, h.stuffed_before(start));
            // Fresh predictors and slot 0: the interval starts an MCU.
            let mut state = State::default();
            let mut at = 0;
            while at < dst.len() {
                let len = sizes.slot_len[state.slot];
                step(layout, &mut bits, &mut state, &mut dst[at..at + len])?;
                at += len;
            }
            // jpeg-decoder looks for the next marker within the bytes it
            // has buffered; leave files that leave bytes unread to it.
            // (An interval cut short by `Layout::limit_rows` stops early.)
            let logical_end = (end - h.stuffed_before(end)) as u64 * 8;
            let unread = logical_end.saturating_sub(bits.position());
            let whole = dst.len() == interval_len;
            if k + 1 < intervals && whole && unread >= 8 {
                return Err(Corrupt);
            }
            Ok(())
        })?;
    Ok(out)
}
