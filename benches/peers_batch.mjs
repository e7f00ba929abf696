// One design, many rows: `impasto batch` against sharp and Takumi on the
// same social cards, measured in one run (issue 11, item 8).
//
//   cargo build --release --bin impasto
//   (cd /work/peers && npm install sharp @takumi-rs/core @takumi-rs/helpers)
//   node benches/peers_batch.mjs [--rows 1000] [--jobs N] [--work DIR] [--only impasto,sharp,takumi]
//
// Run it from the repository root (node_modules there, or NODE_PATH, must
// hold the peers). The cards: 1200x630, one of 20 photo-like 1600x1067
// JPEGs (cover), a gradient, a shared logo, a bold title (56 px, at most 2
// lines, ellipsis) and a subtitle (28 px, at most 2 lines) from the row,
// JPEG q85, one file per row.
//
// Each engine runs as its own process under /usr/bin/time (wall time, peak
// RSS), one after the other on the same inputs, with `--jobs` (default:
// the number of CPUs) renders in flight:
//   impasto  `impasto batch card.json --data rows.csv --backend cpu --jobs N`
//            (the release binary; bundled Inter only)
//   sharp    its users' pattern: photo resized with `fit: cover`, the logo
//            resized once, the text as an SVG overlay (wrapped to 2 lines by
//            an estimate of the text width, as SVG has no wrapping), N
//            renders in flight on sharp's own thread pools
//   takumi   `@takumi-rs/core`'s components-with-props pattern: a `Card(props)`
//            function returns the node tree for the row, rendered by one
//            shared `Renderer` (Inter registered, photo and logo bytes passed
//            as `images`), N renders in flight
// "images/s" is rows / wall time of the whole process (start-up, font
// loading and writing the files included); "in-process" leaves the node
// start-up and imports out for the peers. Prints a Markdown table for
// BENCHMARKS.md. Inputs are generated once and kept in the work folder.

import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(path.join(process.cwd(), 'x.js'));
const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '..');
const W = 1200;
const H = 630;
const PHOTOS = 20;

function args(argv) {
  const a = { rows: 1000, jobs: os.cpus().length, work: path.join(os.tmpdir(), 'impasto-peers-batch'), only: 'impasto,sharp,takumi' };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in a)) throw new Error(`unknown option ${argv[i]}`);
    a[k] = typeof a[k] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  return a;
}

// ---- inputs ---------------------------------------------------------------

/** A deterministic pseudo-random generator (mulberry32). */
function rng(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Smooth colour fields plus grain, as benches/peers_photo.py makes them:
 * JPEG decoding does the work a real photo asks for. */
function photoLike(w, h, seed) {
  const r = rng(seed + 1);
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    const fy = y / h;
    for (let x = 0; x < w; x++) {
      const fx = x / w;
      const grain = () => (r() + r() + r() - 1.5) * 18;
      const i = (y * w + x) * 3;
      px[i] = Math.max(0, Math.min(255, 128 + 90 * Math.sin(fx * 9 + seed) * Math.cos(fy * 4) + grain()));
      px[i + 1] = Math.max(0, Math.min(255, 100 + 80 * Math.sin(fy * 23 + fx * 5 + seed) + grain()));
      px[i + 2] = Math.max(0, Math.min(255, 130 + 90 * Math.cos((fx - 0.5) * (fy - 0.3) * 60) + grain()));
    }
  }
  return px;
}

const WORDS = ('espresso roastery morning harbour autumn market garden summer festival city night ' +
  'mountain coffee bakery weekend ticket launch studio design review winter river opening gallery ' +
  'concert workshop library season harvest sale journey').split(' ');

function sentence(r, min, max) {
  const n = min + Math.floor(r() * (max - min + 1));
  const words = Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]);
  const s = words.join(' ');
  return s[0].toUpperCase() + s.slice(1);
}

const TEMPLATE = {
  variables: {
    title: { type: 'string', required: true },
    subtitle: { type: 'string', default: '' },
    photo: { type: 'image', required: true },
  },
  width: W, height: H, background: '#222222',
  layers: [
    { type: 'image', src: '{{photo}}', width: W, height: H, fit: 'cover' },
    { type: 'linear-gradient', y: 250, height: 380, angle: 180,
      stops: [{ offset: 0, color: '#00000000' }, { offset: 1, color: '#000000b0' }] },
    { type: 'image', src: 'logo.png', x: 48, y: 40, width: 96, height: 96, fit: 'contain' },
    { type: 'text', text: '{{title}}', x: 60, y: 350, width: 1080, height: 140, size: 56, weight: 700,
      line_height: 1.2, color: '#ffffff', max_lines: 2, overflow: 'ellipsis' },
    { type: 'text', text: '{{subtitle}}', x: 60, y: 510, width: 1080, height: 80, size: 28,
      line_height: 1.3, color: '#dddddd', max_lines: 2, overflow: 'ellipsis' },
  ],
};

async function prepare(a) {
  const sharp = require('sharp');
  const work = a.work;
  fs.mkdirSync(path.join(work, 'photos'), { recursive: true });
  for (let i = 0; i < PHOTOS; i++) {
    const file = path.join(work, 'photos', `photo-${String(i).padStart(2, '0')}.jpg`);
    if (!fs.existsSync(file)) {
      await sharp(photoLike(1600, 1067, i), { raw: { width: 1600, height: 1067, channels: 3 } })
        .jpeg({ quality: 90 }).toFile(file);
    }
  }
  fs.copyFileSync(path.join(ROOT, 'examples/poster/logo.png'), path.join(work, 'logo.png'));
  for (const f of ['Inter-Bold.otf', 'Inter-Regular.otf']) {
    fs.copyFileSync(path.join(ROOT, 'fonts/inter', f), path.join(work, f));
  }
  fs.writeFileSync(path.join(work, 'card.json'), JSON.stringify(TEMPLATE, null, 1));
  const r = rng(42);
  const q = (s) => `"${s.replaceAll('"', '""')}"`;
  const lines = ['id,title,subtitle,photo'];
  for (let i = 0; i < a.rows; i++) {
    const photo = `photos/photo-${String(i % PHOTOS).padStart(2, '0')}.jpg`;
    lines.push([`card-${String(i).padStart(5, '0')}`, q(sentence(r, 2, 12)), q(sentence(r, 6, 24)), photo].join(','));
  }
  fs.writeFileSync(path.join(work, 'rows.csv'), lines.join('\n') + '\n');
  // librsvg (sharp's SVG text) finds fonts through fontconfig: Inter from
  // the work folder, as impasto and Takumi use it.
  fs.writeFileSync(path.join(work, 'fonts.conf'),
    `<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig><dir>${work}</dir>` +
    `<cachedir>${path.join(work, 'fontcache')}</cachedir></fontconfig>`);
}

function readRows(work) {
  const text = fs.readFileSync(path.join(work, 'rows.csv'), 'utf8').trim().split('\n').slice(1);
  // The generator's CSV: four fields, the two texts quoted, no commas inside.
  return text.map((l) => {
    const [id, title, subtitle, photo] = l.split(',');
    const un = (s) => s.slice(1, -1).replaceAll('""', '"');
    return { id, title: un(title), subtitle: un(subtitle), photo };
  });
}

/** Runs `jobs` renders at once over every row. */
async function pool(rows, jobs, render) {
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const row = rows[next++];
      await render(row);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
}

// ---- the peers (each in its own process) ----------------------------------

const esc = (s) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Greedy wrap by an estimate of Inter's advance (what an SVG overlay
 * needs: SVG text does not wrap), at most `max` lines, the last ellipsized. */
function wrap(textIn, size, width, perEm, max) {
  const chars = Math.floor(width / (size * perEm));
  const lines = [];
  let line = '';
  for (const word of textIn.split(' ')) {
    const cand = line ? `${line} ${word}` : word;
    if (cand.length <= chars || !line) { line = cand; continue; }
    lines.push(line);
    line = word;
  }
  if (line) lines.push(line);
  if (lines.length > max) {
    lines.length = max;
    lines[max - 1] = `${lines[max - 1].slice(0, chars - 1)}…`;
  }
  return lines;
}

async function runSharp(work, rows, jobs) {
  const sharp = require('sharp');
  const out = path.join(work, 'out', 'sharp');
  fs.mkdirSync(out, { recursive: true });
  const logo = await sharp(path.join(work, 'logo.png')).resize(96, 96, { fit: 'contain', background: '#0000' }).toBuffer();
  const gradient = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="380"><defs>
    <linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#000" stop-opacity="0"/>
    <stop offset="1" stop-color="#000" stop-opacity="0.69"/></linearGradient></defs>
    <rect width="${W}" height="380" fill="url(#g)"/></svg>`);
  const tspans = (lines, x, y, lh) => lines.map((l, i) => `<tspan x="${x}" y="${y + i * lh}">${esc(l)}</tspan>`).join('');
  const t0 = process.hrtime.bigint();
  await pool(rows, jobs, async (row) => {
    const title = wrap(row.title, 56, 1080, 0.58, 2);
    const sub = wrap(row.subtitle, 28, 1080, 0.52, 2);
    const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">
      <text font-family="Inter" font-weight="700" font-size="56" fill="#fff">${tspans(title, 60, 350 + 54, 67)}</text>
      <text font-family="Inter" font-size="28" fill="#ddd">${tspans(sub, 60, 510 + 28, 36)}</text></svg>`);
    await sharp(path.join(work, row.photo))
      .resize(W, H, { fit: 'cover' })
      .composite([
        { input: gradient, left: 0, top: 250 },
        { input: logo, left: 48, top: 40 },
        { input: svg, left: 0, top: 0 },
      ])
      .jpeg({ quality: 85 })
      .toFile(path.join(out, `${row.id}.jpg`));
  });
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, version: `sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}` };
}

async function runTakumi(work, rows, jobs) {
  const { Renderer } = require('@takumi-rs/core');
  const { container, text, image } = require('@takumi-rs/helpers');
  const out = path.join(work, 'out', 'takumi');
  fs.mkdirSync(out, { recursive: true });
  const renderer = new Renderer();
  await renderer.registerFont({ name: 'Inter', data: fs.readFileSync(path.join(work, 'Inter-Bold.otf')), weight: 700 });
  await renderer.registerFont({ name: 'Inter', data: fs.readFileSync(path.join(work, 'Inter-Regular.otf')), weight: 400 });
  const bytes = new Map();
  for (const row of rows) {
    if (!bytes.has(row.photo)) bytes.set(row.photo, fs.readFileSync(path.join(work, row.photo)));
  }
  const logo = { src: 'logo.png', data: fs.readFileSync(path.join(work, 'logo.png')) };
  const abs = { position: 'absolute' };
  const clamp = { lineClamp: 2, textOverflow: 'ellipsis', overflow: 'hidden' };
  // The component: props in, node tree out.
  const Card = ({ title, subtitle, photo }) => container({
    style: { width: W, height: H, position: 'relative', backgroundColor: '#222222', fontFamily: 'Inter' },
    children: [
      image({ src: photo, style: { ...abs, left: 0, top: 0, width: W, height: H, objectFit: 'cover' } }),
      container({ style: { ...abs, left: 0, top: 250, width: W, height: 380,
        backgroundImage: 'linear-gradient(180deg, rgba(0,0,0,0) 0%, rgba(0,0,0,0.69) 100%)' } }),
      image({ src: 'logo.png', style: { ...abs, left: 48, top: 40, width: 96, height: 96, objectFit: 'contain' } }),
      text(title, { ...abs, ...clamp, left: 60, top: 350, width: 1080, height: 140, fontSize: 56,
        fontWeight: 700, lineHeight: 1.2, color: '#ffffff' }),
      text(subtitle, { ...abs, ...clamp, left: 60, top: 510, width: 1080, height: 80, fontSize: 28,
        lineHeight: 1.3, color: '#dddddd' }),
    ],
  });
  const t0 = process.hrtime.bigint();
  await pool(rows, jobs, async (row) => {
    const jpeg = await renderer.render(Card(row), {
      width: W, height: H, format: 'jpeg', quality: 85,
      images: [{ src: row.photo, data: bytes.get(row.photo) }, logo],
    });
    await fs.promises.writeFile(path.join(out, `${row.id}.jpg`), jpeg);
  });
  let dir = path.dirname(require.resolve('@takumi-rs/core'));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  const version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, version: `@takumi-rs/core ${version}` };
}

// ---- the driver -------------------------------------------------------------

/** Runs `cmd` under /usr/bin/time: wall seconds, peak RSS in MB, stdout. */
function timed(cmd, env) {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', ...cmd], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  const m = /TIME ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${cmd.join(' ')} failed (${r.status}):\n${r.stderr.slice(-2000)}`);
  return { wall: Number(m[1]), rssMb: Number(m[2]) / 1024, stdout: r.stdout, stderr: r.stderr };
}

function outputs(work, name) {
  const dir = path.join(work, 'out', name);
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.jpg')) : [];
  const bytes = files.reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
  return { files: files.length, kb: files.length ? bytes / files.length / 1024 : 0 };
}

async function main() {
  const a = args(process.argv.slice(2));
  await prepare(a);
  const only = a.only.split(',');
  const results = [];
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  for (const name of only) {
    fs.rmSync(path.join(a.work, 'out', name), { recursive: true, force: true });
    let t;
    let inProcess = null;
    let version;
    if (name === 'impasto') {
      const bin = path.join(ROOT, 'target/release/impasto');
      if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: cargo build --release --bin impasto`);
      t = timed([bin, 'batch', path.join(a.work, 'card.json'), '--data', path.join(a.work, 'rows.csv'),
        '--output', path.join(a.work, 'out/impasto/{{id}}.jpg'), '--backend', 'cpu', '--jobs', String(a.jobs),
        '--no-system-fonts', '--quality', '85', '--manifest', path.join(a.work, 'manifest.jsonl')]);
      version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
    } else if (name === 'sharp' || name === 'takumi') {
      t = timed([process.execPath, SELF, '--peer', name, '--work', a.work, '--jobs', String(a.jobs)],
        { FONTCONFIG_FILE: path.join(a.work, 'fonts.conf') });
      const r = JSON.parse(t.stdout.trim().split('\n').pop());
      inProcess = a.rows / r.seconds;
      version = r.version;
    } else {
      throw new Error(`unknown engine ${name}`);
    }
    const o = outputs(a.work, name);
    if (o.files !== a.rows) throw new Error(`${name} wrote ${o.files} files of ${a.rows}`);
    results.push({ name, version, wall: t.wall, rate: a.rows / t.wall, inProcess, rss: t.rssMb, kb: o.kb });
    console.error(`${name}: ${a.rows} cards in ${t.wall.toFixed(2)} s`);
  }
  const base = results.find((r) => r.name === 'sharp');
  console.log(`\n${a.rows} social cards (1200x630 JPEG q85, 20 photos 1600x1067, a logo, title + subtitle), ` +
    `${os.cpus().length} CPUs (${os.cpus()[0].model}), --jobs ${a.jobs}, load average at the start ${load}\n`);
  console.log('| engine | wall (s) | images/s | in-process images/s | vs sharp | peak RSS (MB) | mean file (KB) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const vs = base ? `${(r.rate / base.rate).toFixed(2)}x` : '';
    const ip = r.inProcess ? r.inProcess.toFixed(1) : '(same)';
    console.log(`| ${r.version} | ${r.wall.toFixed(2)} | ${r.rate.toFixed(1)} | ${ip} | ${vs} | ${r.rss.toFixed(0)} | ${r.kb.toFixed(1)} |`);
  }
}

// A peer process: `--peer sharp|takumi --work DIR --jobs N`.
const argv = process.argv.slice(2);
if (argv[0] === '--peer') {
  const name = argv[1];
  const work = argv[argv.indexOf('--work') + 1];
  const jobs = Number(argv[argv.indexOf('--jobs') + 1]);
  const rows = readRows(work);
  const r = name === 'sharp' ? await runSharp(work, rows, jobs) : await runTakumi(work, rows, jobs);
  console.log(JSON.stringify(r));
} else {
  await main();
}
