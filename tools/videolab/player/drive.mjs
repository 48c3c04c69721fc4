// Drives one playback session: headless Debian chromium opens the lab's player page, waits
// until the page reports it is done, and writes the page's record as JSON.
//
//   node drive.mjs --url URL --host-rule "MAP video.lab 10.77.0.1" --spki PIN
//                  --protocol h1|h2|h3 --timeout SECONDS --out FILE
//
// Runs inside the client namespace (the orchestrator starts it with `ip netns exec`).
import { chromium } from 'playwright-core';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const LOCAL = {
  'index.html': join(here, 'www', 'index.html'),
  'player.js': join(here, 'www', 'player.js'),
  'dash.mediaplayer.min.js': join(here, '..', 'node_modules', 'dashjs', 'dist', 'modern', 'umd',
    'dash.mediaplayer.min.js'),
};

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const timeoutS = Number(args.timeout || 180);
const host = new URL(args.url).host;

const flags = [
  '--no-sandbox',  // root in a container
  `--host-resolver-rules=${args['host-rule']}`,  // no DNS in the namespace
  // Trusts the lab's leaf key for TCP TLS and QUIC alike (QUIC ignores user-added roots).
  `--ignore-certificate-errors-spki-list=${args.spki}`,
  '--autoplay-policy=no-user-gesture-required',
  '--disable-background-networking', '--disable-component-update', '--no-pings',
  '--disable-features=MediaRouter,OptimizationHints,Translate,AutofillServerCommunication',
];
// The server offers only the protocols of the session (lab/server.py); the browser is told the
// same, and for h3 to use QUIC from the first request instead of after an Alt-Svc round.
if (args.protocol === 'h3') flags.push('--enable-quic', `--origin-to-force-quic-on=${host}:443`);
else flags.push('--disable-quic');

// --keylog FILE: TLS secrets (NSS key log format) so tshark can decrypt the capture.
const env = { ...process.env };
if (args.keylog) env.SSLKEYLOGFILE = args.keylog;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: flags, env });
let result;
try {
  const page = await browser.newPage();
  const consoleLines = [];
  page.on('console', (m) => { if (consoleLines.length < 200) consoleLines.push(m.text()); });
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  // The page and dash.js come from local files, as from a warm browser cache: the capture
  // then holds the video session only, and a 0.5 Mbit/s link does not spend 13 s on dash.js.
  // Same origin as the media all the same, so Resource Timing sees every media byte.
  await page.route((url) => url.pathname.startsWith('/player/'), (route) => {
    const name = new URL(route.request().url()).pathname.split('/').pop();
    const file = LOCAL[name];
    if (!file) return route.fulfill({ status: 404, body: '' });
    return route.fulfill({ path: file, contentType: name.endsWith('.html') ? 'text/html'
      : 'text/javascript' });
  });
  await page.goto(args.url, { timeout: 30000 });
  await page.unrouteAll();
  await page.evaluate(() => window.videolabStart());
  // Poll with a deadline: the page itself decides when playback is over.
  const deadline = Date.now() + timeoutS * 1000;
  let done = false;
  while (!done && Date.now() < deadline) {
    await page.waitForTimeout(500);
    done = await page.evaluate(() => window.videolab && window.videolab.done);
  }
  result = await page.evaluate(() => window.videolab);
  result.timed_out = !done;
  result.console = consoleLines;
  result.browser_version = browser.version();
} finally {
  await browser.close();
}
writeFileSync(args.out, JSON.stringify(result));
process.exit(result.timed_out ? 3 : 0);
