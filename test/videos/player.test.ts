import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { httpClient, signUp } from '../support/auth.js';
import { makeClip, startVideoServer, tusUpload, waitForStatus, type VideoServer } from './support.js';

let server: VideoServer;
let page: http.Server;
let browser: Browser | undefined;
let clips: string;

const hlsJs = readFileSync(createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'), 'utf8');
const html = `<!doctype html><html><body><video id="v" muted playsinline></video><script src="/hls.js"></script><script>
  window.report = { time: 0, error: null, levels: 0 };
  const video = document.getElementById('v');
  // Generous load timeouts, as a player on a slow network would set: a CPU-starved CI machine took
  // more than hls.js's default 10 s to answer a rendition playlist (levelLoadTimeOut).
  const policy = (ms) => ({ default: { maxTimeToFirstByteMs: ms, maxLoadTimeMs: ms, timeoutRetry: { maxNumRetry: 4, retryDelayMs: 0, maxRetryDelayMs: 0 }, errorRetry: { maxNumRetry: 4, retryDelayMs: 1000, maxRetryDelayMs: 8000 } } });
  const hls = new Hls({ manifestLoadPolicy: policy(60000), playlistLoadPolicy: policy(60000), fragLoadPolicy: policy(120000) });
  hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) window.report.error = d.type + ':' + d.details; });
  hls.on(Hls.Events.MANIFEST_PARSED, (_e, d) => { window.report.levels = d.levels.length; video.play(); });
  video.addEventListener('timeupdate', () => { window.report.time = video.currentTime; });
  window.start = (url) => { hls.loadSource(url); hls.attachMedia(video); };
</script></body></html>`;

beforeAll(async () => {
  clips = mkdtempSync(path.join(os.tmpdir(), 'sf-player-'));
  server = await startVideoServer();
  // The test page comes from another loopback origin, as a real web client would: CORS included.
  page = http.createServer((req, res) => {
    if (req.url === '/hls.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(hlsJs);
    res.writeHead(200, { 'content-type': 'text/html' }).end(html);
  });
  await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'] });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => page?.close(r));
  await server?.close();
  rmSync(clips, { recursive: true, force: true });
});

it('hls.js in headless Chromium plays the signed master playlist and playback time advances', async () => {
  const call = httpClient(server.url);
  const owner = await signUp(call, server.dataDir);
  const { id, upload } = (await call('POST', '/api/v1/videos', { token: owner.accessToken, body: { title: 'play me', visibility: 'unlisted' } })).body as { id: string; upload: { url: string } };
  await tusUpload(upload.url, owner.accessToken, makeClip(clips, 'play.mp4', { seconds: 6, width: 426, height: 240 }));
  const v = await waitForStatus(call, id, owner.accessToken, ['ready', 'failed']);
  expect(v.status).toBe('ready');

  const tab = await browser!.newPage();
  await tab.goto(`http://127.0.0.1:${(page.address() as AddressInfo).port}/`);
  await tab.evaluate((url) => (globalThis as unknown as { start(u: string): void }).start(url), v.hlsUrl!);
  await tab.waitForFunction(() => {
    const r = (globalThis as unknown as { report: { time: number; error: string | null } }).report;
    return r.error !== null || r.time > 1.5;
  }, undefined, { timeout: 180_000 });
  const report = await tab.evaluate(() => (globalThis as unknown as { report: { time: number; error: string | null; levels: number } }).report);
  expect(report.error).toBeNull();
  expect(report.levels).toBe(2);
  expect(report.time).toBeGreaterThan(1.5);
}, 180_000);
