// Child process of bench/notify: opens one authenticated WebSocket per token (tokens as JSON on
// stdin), prints `ready` when all are in, then records, for every message carrying `sentAt`
// (ms since the epoch, sub-millisecond), how long it took to arrive. On `report` (stdin) prints
// one JSON line with the latencies and exits.
import { createInterface } from 'node:readline';
import WebSocket from 'ws';

const url = process.argv[2]!;
const now = () => performance.timeOrigin + performance.now();
const lines = createInterface({ input: process.stdin });
const latencies: number[] = [];
let sockets: WebSocket[] = [];

async function open(token: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'auth', token }));
  await new Promise<void>((resolve, reject) => {
    ws.once('message', (d) => ((JSON.parse(d.toString()) as { type: string }).type === 'ready' ? resolve() : reject(new Error(d.toString()))));
    ws.once('close', (code, reason) => reject(new Error(`closed ${code} ${reason.toString()}`)));
  });
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as { data?: { sentAt?: number } };
    if (m.data?.sentAt) latencies.push(now() - m.data.sentAt);
  });
  return ws;
}

for await (const line of lines) {
  const msg = JSON.parse(line) as { tokens?: string[]; report?: boolean };
  if (msg.tokens) {
    // A few at a time: a thousand simultaneous handshakes is a connection storm, not the case measured.
    const out: WebSocket[] = [];
    for (let i = 0; i < msg.tokens.length; i += 50) out.push(...(await Promise.all(msg.tokens.slice(i, i + 50).map(open))));
    sockets = out;
    process.stdout.write(`ready ${sockets.length}\n`);
  }
  if (msg.report) {
    process.stdout.write(JSON.stringify({ received: latencies.length, latencies }) + '\n');
    for (const s of sockets) s.close();
    process.exit(0);
  }
}
