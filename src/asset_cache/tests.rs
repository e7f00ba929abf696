//! The decoded-image cache's unit tests: hits, misses, budgets, rows and
//! flights.

use super::*;
use crate::asset_files::Input;

fn file(dir: &Path, name: &str, side: u32) -> PathBuf {
    let path = dir.join(name);
    RgbaImage::from_pixel(side, side, image::Rgba([side as u8, 0, 0, 255]))
        .save(&path)
        .unwrap();
    path
}

fn decode(path: &Path) -> Result<Decoded, String> {
    crate::shrink::decode_input(
        &Input::File(path.to_path_buf()),
        (1 << 24, u64::MAX),
        |_| Pick::whole(8),
    )
    .map_err(|e| e.0)
}

fn full(_: (u32, u32)) -> Pick {
    Pick::whole(8)
}

#[test]
fn a_file_is_decoded_once_until_it_changes_and_the_budget_evicts_the_oldest() {
    let dir = tempfile::tempdir().unwrap();
    let a = file(dir.path(), "a.png", 16); // 1 KiB decoded
    let b = file(dir.path(), "b.png", 16);
    let cache = AssetCache::new(2048 + 1024);
    let first = cache.get_or_decode(&a, full, |_| decode(&a)).unwrap();
    let again = cache.get_or_decode(&a, full, |_| decode(&a)).unwrap();
    assert!(Arc::ptr_eq(&first.image, &again.image));
    cache.get_or_decode(&b, full, |_| decode(&b)).unwrap();
    let s = cache.stats();
    assert_eq!((s.hits, s.misses, s.images, s.bytes), (1, 2, 2, 2048));
    // A changed file (another size) is decoded again.
    file(dir.path(), "a.png", 20);
    let changed = cache.get_or_decode(&a, full, |_| decode(&a)).unwrap();
    assert_eq!(changed.image.width(), 20);
    assert_eq!(cache.stats().misses, 3);
    // Over the budget: the least recently used (b) goes.
    let c = file(dir.path(), "c.png", 16);
    cache.get_or_decode(&c, full, |_| decode(&c)).unwrap();
    let s = cache.stats();
    assert!(s.bytes <= s.budget, "{s:?}");
    assert_eq!(s.evictions, 1);
    cache.get_or_decode(&b, full, |_| decode(&b)).unwrap();
    assert_eq!(cache.stats().misses, 5, "b was evicted");
    // An image larger than the budget is decoded but not kept.
    let big = file(dir.path(), "big.png", 64);
    cache.get_or_decode(&big, full, |_| decode(&big)).unwrap();
    assert!(cache.stats().bytes <= s.budget);
}

#[test]
fn an_entry_of_some_rows_serves_only_lookups_within_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.jpg");
    let rgb: Vec<u8> = (0..128u32 * 256)
        .flat_map(|i| [(i % 128) as u8, (i / 128) as u8, 90])
        .collect();
    jpeg_encoder::Encoder::new_file(&path, 90)
        .unwrap()
        .encode(&rgb, 128, 256, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    let cache = AssetCache::new(1 << 20);
    let rows = |a, b| Pick {
        eighths: 4,
        rows: Some((a, b)),
    };
    let get = |pick: Pick| {
        cache
            .get_or_decode(
                &path,
                |_| pick,
                |choose| {
                    crate::shrink::decode_input(
                        &Input::File(path.clone()),
                        (1 << 24, u64::MAX),
                        choose,
                    )
                    .map_err(|e| e.0)
                },
            )
            .unwrap()
    };
    let some = get(rows(10, 20));
    assert_eq!(
        (some.first_row, some.image.height(), some.raster),
        (10, 10, (64, 128))
    );
    let within = get(rows(12, 18));
    assert!(
        Arc::ptr_eq(&some.image, &within.image),
        "rows 12..18 are held"
    );
    let more = get(rows(0, 40));
    assert_eq!((more.first_row, more.image.height()), (0, 40));
    // Another crop: decoded widened to the rows held too, so the two
    // crops share the entry from then on.
    let other = get(rows(60, 70));
    assert_eq!((other.first_row, other.image.height()), (0, 70));
    let back = get(rows(0, 40));
    assert!(
        Arc::ptr_eq(&other.image, &back.image),
        "both crops are held"
    );
    let all = get(Pick::whole(4));
    assert_eq!((all.first_row, all.image.height()), (0, 128));
    let again = get(rows(10, 20));
    assert!(
        Arc::ptr_eq(&all.image, &again.image),
        "the whole image covers any rows"
    );
    assert_ne!(some.key, all.key, "pixels from another row are another key");
    let s = cache.stats();
    assert_eq!((s.hits, s.misses, s.images), (3, 4, 1));
    // The rows are those of the whole image.
    let w = 64 * 4;
    assert_eq!(some.image.as_raw()[..], all.image.as_raw()[10 * w..20 * w]);
}

/// Waits until `cache` has counted `n` waits (a lookup blocked on a
/// flight), so that what follows happens while it waits.
fn until_waits(cache: &AssetCache, n: u64) {
    // Bounded, so that a lookup that never waits fails the test
    // rather than hanging it.
    let give_up = std::time::Instant::now() + Duration::from_secs(60);
    while cache.stats().waits < n {
        assert!(std::time::Instant::now() < give_up, "no lookup waited");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A 16x16 PNG in a new folder (kept while the first value lives), and
/// its identity.
fn one_file() -> (tempfile::TempDir, PathBuf, Option<Identity>) {
    let dir = tempfile::tempdir().unwrap();
    let a = file(dir.path(), "a.png", 16);
    let id = Some(Identity::of(&std::fs::metadata(&a).unwrap()));
    (dir, a, id)
}

#[test]
fn a_lookup_that_may_wait_takes_the_leading_decode_and_one_that_may_not_decodes_alongside() {
    let (_dir, a, id) = one_file();
    let cache = AssetCache::new(1 << 20);
    let Looked::Miss(lead) = cache.lookup(&a, id, full, None) else {
        panic!("an empty cache hit");
    };
    assert!(lead.leads());
    // A rayon worker (no `wait`) does not wait: its miss leads nothing.
    let Looked::Miss(alongside) = cache.lookup(&a, id, full, None) else {
        panic!("hit while the file is in flight");
    };
    assert!(!alongside.leads());
    drop(alongside);
    std::thread::scope(|s| {
        let waiter = s.spawn(|| match cache.lookup(&a, id, full, Some(&|| false)) {
            Looked::Hit(img) => img.image.width(),
            Looked::Miss(_) => panic!("the waiter missed"),
        });
        until_waits(&cache, 1);
        cache.fill(&a, lead, full, |_| decode(&a)).unwrap();
        assert_eq!(waiter.join().unwrap(), 16);
    });
    let s = cache.stats();
    assert_eq!((s.misses, s.hits, s.waits), (2, 1, 1), "{s:?}");
}

#[test]
fn a_waiting_lookup_leads_when_the_decode_fails_and_stops_when_its_render_must() {
    let (_dir, a, id) = one_file();
    let cache = AssetCache::new(1 << 20);
    let Looked::Miss(lead) = cache.lookup(&a, id, full, None) else {
        panic!("an empty cache hit");
    };
    std::thread::scope(|s| {
        let waiter = s.spawn(|| match cache.lookup(&a, id, full, Some(&|| false)) {
            Looked::Hit(_) => panic!("nothing was kept"),
            Looked::Miss(m) => m.leads(),
        });
        until_waits(&cache, 1);
        let failed = cache.fill(&a, lead, full, |_| Err::<Decoded, _>("broken"));
        assert_eq!(failed.err(), Some("broken"));
        assert!(waiter.join().unwrap(), "the waiter decodes in turn");
    });
    // A render that must stop (its deadline past) stops waiting: its
    // miss leads nothing, and its decode fails saying why.
    let Looked::Miss(lead) = cache.lookup(&a, id, full, None) else {
        panic!("an empty cache hit");
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            let stopped = || stop.load(std::sync::atomic::Ordering::Relaxed);
            match cache.lookup(&a, id, full, Some(&stopped)) {
                Looked::Hit(_) => panic!("nothing was kept"),
                Looked::Miss(m) => m.leads(),
            }
        });
        until_waits(&cache, 2);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(!waiter.join().unwrap());
    });
    drop(lead);
}
