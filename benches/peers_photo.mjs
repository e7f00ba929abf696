// sharp's side of benches/peers_photo.py: the poster and social-card jobs
// on the same inputs, one at a time (median of RUNS, in-process, after
// warm-up) and as throughput (RENDERS renders in flight at once; sharp
// schedules them on libuv's pool with libvips' own threads).
//
//   node benches/peers_photo.mjs WORK_DIR RUNS RENDERS
//
// Prints one JSON object. Needs `npm install sharp` (run from a folder
// where it is installed, or with NODE_PATH set).
import { createRequire } from 'node:module';
import path from 'node:path';
import os from 'node:os';

const require = createRequire(path.join(process.cwd(), 'x.js'));
const sharp = require('sharp');
const [work, runsArg, rendersArg] = process.argv.slice(2);
const RUNS = Number(runsArg || 15);
const RENDERS = Number(rendersArg || 200);
const photo = path.join(work, 'photo.jpg');
const logo = path.join(work, 'logo.png');
const boldFont = path.join(work, 'Inter-Bold.otf');
const regularFont = path.join(work, 'Inter-Regular.otf');

function svg(w, h, body) {
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${body}</svg>`);
}

const gradient = (w, h) => svg(w, h,
  `<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1">
     <stop offset="0" stop-color="#000" stop-opacity="0"/>
     <stop offset="1" stop-color="#000" stop-opacity="0.69"/></linearGradient></defs>
   <rect width="${w}" height="${h}" fill="url(#g)"/>`);

async function poster() {
  const [img, lg] = await Promise.all([
    sharp(photo).resize(1080, 900, { fit: 'cover', position: 'centre' }).toBuffer(),
    sharp(logo).resize(160, 160, { fit: 'contain', background: '#0000' }).toBuffer(),
  ]);
  return sharp({ create: { width: 1080, height: 1350, channels: 4, background: '#f4efe6' } })
    .composite([
      { input: img, left: 0, top: 0 },
      { input: gradient(1080, 400), left: 0, top: 500 },
      { input: svg(960, 300, '<rect width="960" height="300" rx="32" fill="#fff" fill-opacity="0.9"/>'), left: 60, top: 960 },
      { input: lg, left: 60, top: 40 },
    ])
    .jpeg({ quality: 85 })
    .toBuffer();
}

async function card() {
  const [img, lg, title, subtitle] = await Promise.all([
    sharp(photo).resize(1200, 630, { fit: 'cover', position: 'centre' }).toBuffer(),
    sharp(logo).resize(96, 96, { fit: 'contain', background: '#0000' }).toBuffer(),
    sharp({ text: { text: '<span foreground="white">Espresso Week at the Roastery</span>', fontfile: boldFont, font: 'Inter Bold 56', width: 1000, rgba: true, dpi: 72 } }).png().toBuffer(),
    sharp({ text: { text: '<span foreground="#dddddd">Every double shot half price, Monday to Friday, 7 to 11 am.</span>', fontfile: regularFont, font: 'Inter 30', width: 1000, rgba: true, dpi: 72 } }).png().toBuffer(),
  ]);
  return sharp(img)
    .composite([
      { input: gradient(1200, 330), left: 0, top: 300 },
      { input: lg, left: 48, top: 40 },
      { input: title, left: 60, top: 420 },
      { input: subtitle, left: 60, top: 520 },
    ])
    .jpeg({ quality: 85 })
    .toBuffer();
}

async function median(job) {
  for (let i = 0; i < 3; i++) await job();
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    await job();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function throughput(job) {
  await job();
  const t = process.hrtime.bigint();
  await Promise.all(Array.from({ length: RENDERS }, () => job()));
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  return RENDERS / s;
}

sharp.cache(false); // every render decodes its inputs, as impasto's CLI does
const out = {
  sharp: sharp.versions.sharp,
  libvips: sharp.versions.vips,
  cores: os.cpus().length,
  concurrency: sharp.concurrency(),
  poster_ms: await median(poster),
  card_ms: await median(card),
  poster_per_s: await throughput(poster),
  card_per_s: await throughput(card),
};
// sharp as it comes (its libvips operation cache on: 50 MB, 20 files, 100
// operations), beside impasto with its caches on (its default too).
sharp.cache(true);
out.poster_per_s_cached = await throughput(poster);
out.card_per_s_cached = await throughput(card);
sharp.cache(false);
// One output of each, to look at beside impasto's.
const fs = await import('node:fs');
fs.writeFileSync(path.join(work, 'out', 'sharp_poster.jpg'), await poster());
fs.writeFileSync(path.join(work, 'out', 'sharp_card.jpg'), await card());
console.log(JSON.stringify(out));
