//! The timeline of a scene's animated sources: the union of their frames'
//! start times, each output frame showing every source's frame active then
//! (see the parent module), refused as soon as it passes a cap.

use super::Source;
use crate::codec::{self, Delay, Loop};

/// The output frames: for each, the frame of every source it shows; and
/// their delays and the loop count.
pub(super) struct Timeline {
    pub frames: Vec<Vec<usize>>,
    pub delays: Vec<Delay>,
    pub loop_count: Loop,
}

/// The shortest frame a merged timeline makes, in milliseconds: two
/// hundredths, the least a GIF frame can last and still be shown for as
/// long as it says (browsers show 10 ms or less for 100 ms), so that one
/// source's frame starting a few milliseconds after another's does not
/// make a frame that flashes for 100 ms and puts the sources out of step.
const MIN_MILLIS: u64 = 20;

/// The start times `times` (sorted, from 0) moved so that no frame is
/// shorter than `min` ticks: a start closer than that to the one before
/// is moved later, to `min` after it (the frame then shows every source's
/// frame active at that time: a change is shown at most `min` late), and
/// one closer than `min` to the end, `total`, is dropped.
fn spaced(times: &[u64], total: u64, min: u64) -> Vec<u64> {
    let mut kept: Vec<u64> = Vec::with_capacity(times.len());
    for &t in times {
        let t = match kept.last() {
            // Already shown by a start moved past it.
            Some(&last) if t <= last => continue,
            Some(&last) => t.max(last + min),
            None => t,
        };
        if t < total {
            kept.push(t);
        }
    }
    while kept.len() > 1 && kept.last().is_some_and(|&last| total - last < min) {
        kept.pop();
    }
    kept
}

impl Timeline {
    /// The output's frames; `None` when they would be more than `cap` (a
    /// single source's frames are checked by the caller: their number is
    /// the source's, already held to the limits when it was decoded).
    pub fn of(sources: &[Source], cap: usize) -> Option<Timeline> {
        Some(match sources {
            [] => Timeline {
                frames: vec![vec![]],
                delays: vec![Delay::from_centis(0)],
                loop_count: Loop::Times(1),
            },
            [one] => Timeline {
                frames: (0..one.anim.frames.len()).map(|f| vec![f]).collect(),
                delays: one.anim.frames.iter().map(|f| f.delay).collect(),
                loop_count: one.anim.loop_count,
            },
            many => Timeline::union(many, cap)?,
        })
    }

    /// Several sources: times in ticks of `1 / unit` seconds, `unit` the
    /// least common multiple of their delays' denominators (microseconds,
    /// rounded, past 10^9).
    fn union(sources: &[Source], cap: usize) -> Option<Timeline> {
        let delays: Vec<Vec<Delay>> = sources
            .iter()
            .map(|s| {
                s.anim
                    .frames
                    .iter()
                    .map(|f| {
                        // 10 ms or less (0 too) is shown for 100 ms by
                        // browsers (Chrome's and Firefox's rule).
                        if u64::from(f.delay.num) * 100 <= u64::from(f.delay.den) {
                            Delay::from_centis(10)
                        } else {
                            f.delay
                        }
                    })
                    .collect()
            })
            .collect();
        let mut unit: u64 = 1;
        for d in delays.iter().flatten() {
            let den = d.den as u64;
            unit = unit / codec::anim::gcd(unit, den) * den;
            if unit > 1_000_000_000 {
                unit = 1_000_000;
                break;
            }
        }
        let ticks = |d: &Delay| ((d.num as u64 * unit + d.den as u64 / 2) / d.den as u64).max(1);
        // Each source's frame start times and its length.
        let starts: Vec<(Vec<u64>, u64)> = delays
            .iter()
            .map(|ds| {
                let mut t = 0;
                let starts = ds
                    .iter()
                    .map(|d| {
                        let s = t;
                        t += ticks(d);
                        s
                    })
                    .collect();
                (starts, t)
            })
            .collect();
        let total = starts.iter().map(|(_, len)| *len).max().unwrap_or(1);
        let mut times: Vec<u64> = Vec::new();
        for (s, len) in &starts {
            // Each pass of a source starts a frame at a time of its own
            // (`base`): more than `cap` passes are more than `cap` frames.
            let mut base = 0;
            let mut passes = 0usize;
            while base < total {
                passes += 1;
                if passes > cap {
                    return None;
                }
                times.extend(s.iter().map(|t| base + t).filter(|&t| t < total));
                base += len;
            }
        }
        times.sort_unstable();
        times.dedup();
        if times.len() > cap {
            return None;
        }
        let times = spaced(&times, total, (unit * MIN_MILLIS).div_ceil(1000).max(1));
        let frames = times
            .iter()
            .map(|&t| {
                starts
                    .iter()
                    .map(|(s, len)| s.partition_point(|&st| st <= t % len) - 1)
                    .collect()
            })
            .collect();
        let delays = times
            .iter()
            .zip(times.iter().skip(1).chain([&total]))
            .map(|(a, b)| Delay::new(b - a, unit))
            .collect();
        let loop_count = sources
            .iter()
            .map(|s| s.anim.loop_count)
            .fold(Loop::Times(1), |a, b| match (a, b) {
                (Loop::Forever, _) | (_, Loop::Forever) => Loop::Forever,
                (Loop::Times(x), Loop::Times(y)) => Loop::Times(x.max(y)),
            });
        Some(Timeline {
            frames,
            delays,
            loop_count,
        })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::Arc;

    use image::RgbaImage;

    use super::*;

    pub(crate) fn source(centis: &[u32], loop_count: Loop) -> Source {
        let image = Arc::new(RgbaImage::new(1, 1));
        Source {
            anim: codec::Animation {
                width: 1,
                height: 1,
                frames: centis
                    .iter()
                    .map(|&c| codec::Frame {
                        image: Arc::clone(&image),
                        delay: Delay::from_centis(c),
                    })
                    .collect(),
                loop_count,
                notes: codec::Notes::default(),
            },
            layers: vec![0],
        }
    }

    #[test]
    fn one_source_keeps_its_frames_and_delays_even_zero_ones() {
        let t = Timeline::of(&[source(&[10, 0, 70], Loop::Times(2))], 3).unwrap();
        assert_eq!(t.frames, vec![vec![0], vec![1], vec![2]]);
        assert_eq!(t.delays, [10, 0, 70].map(Delay::from_centis));
        assert_eq!(t.loop_count, Loop::Times(2));
    }

    #[test]
    fn two_sources_merge_their_frame_times_and_the_shorter_one_loops() {
        // A: 0-10, 10-30 (30 cs). B: 0-15 (15 cs), looping once more.
        let t = Timeline::of(
            &[
                source(&[10, 20], Loop::Times(1)),
                source(&[15], Loop::Forever),
            ],
            3,
        )
        .unwrap();
        assert_eq!(t.frames, vec![vec![0, 0], vec![1, 0], vec![1, 0]]);
        assert_eq!(t.delays, [10, 5, 15].map(Delay::from_centis));
        assert_eq!(t.loop_count, Loop::Forever);
        let t = Timeline::of(
            &[
                source(&[10, 10], Loop::Times(1)),
                source(&[5, 5, 5, 5], Loop::Times(3)),
            ],
            4,
        )
        .unwrap();
        assert_eq!(
            t.frames,
            vec![vec![0, 0], vec![0, 1], vec![1, 2], vec![1, 3]]
        );
        assert_eq!(t.delays, [5, 5, 5, 5].map(Delay::from_centis));
        assert_eq!(t.loop_count, Loop::Times(3));
    }

    #[test]
    fn merged_frames_are_never_shorter_than_20_ms_and_keep_the_length() {
        let ms = |v: &[u32]| {
            let mut s = source(&[], Loop::Forever);
            let image = Arc::new(RgbaImage::new(1, 1));
            s.anim.frames = v
                .iter()
                .map(|&m| codec::Frame {
                    image: Arc::clone(&image),
                    delay: Delay::from_millis(m),
                })
                .collect();
            s
        };
        // 100 ms and 105 ms frames: B's starts at 105, 210, 315 were
        // slices of 5, 10, 15 ms (shown for 100 ms by browsers); now moved
        // to 20 ms after A's.
        let t = Timeline::of(&[ms(&[100; 10]), ms(&[105; 10])], 100).unwrap();
        let d: Vec<u64> = t.delays.iter().map(|d| d.millis()).collect();
        assert_eq!(&d[..7], [100, 20, 80, 20, 80, 20, 80]);
        assert_eq!(d.iter().sum::<u64>(), 1050);
        assert!(d.iter().all(|&m| m >= 20), "{d:?}");
        // The frame at 120 ms shows A's second frame and B's second.
        assert_eq!(t.frames[2], vec![1, 1]);
        // A source's frames of 10 ms or less count as 100 ms, as browsers
        // show them: [1 cs, 10 cs] against [20 cs] is two 100 ms frames.
        let t = Timeline::of(
            &[
                source(&[1, 10], Loop::Forever),
                source(&[20], Loop::Forever),
            ],
            10,
        )
        .unwrap();
        assert_eq!(t.delays, [10, 10].map(Delay::from_centis));
        assert_eq!(t.frames, vec![vec![0, 0], vec![1, 0]]);
        // A start closer than 20 ms to the end is dropped.
        assert_eq!(spaced(&[0, 50, 95], 100, 20), [0, 50]);
        assert_eq!(spaced(&[0, 5, 8, 30], 100, 20), [0, 20, 40]);
        assert_eq!(spaced(&[0], 10, 20), [0]);
    }

    #[test]
    fn merged_frames_past_the_cap_are_refused_without_listing_them_all() {
        let two = |a: u32, b: u32| [source(&[a, a], Loop::Forever), source(&[b], Loop::Forever)];
        // 4 frames: within a cap of 4, not of 3.
        assert!(Timeline::of(&two(10, 10), 2).is_some());
        assert!(Timeline::of(&two(10, 5), 4).is_some());
        assert!(Timeline::of(&two(10, 5), 3).is_none());
        // 655 s against 1 cs: 65,500 passes of the short source, stopped
        // after the cap's worth (a 237-byte pair of APNGs with 65535 s and
        // 1/65535 s delays made billions and ran out of memory).
        assert!(Timeline::of(&two(65_500, 1), 1000).is_none());
    }
}
