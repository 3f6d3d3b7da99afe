// N MQTT.js publishers -> 1 MQTT.js subscriber through one broker, at one QoS, bounded in messages and time.
// Each payload carries its send time (process.hrtime, CLOCK_MONOTONIC: one clock for both threads),
// the publisher's index and a sequence number. The subscriber runs in its own worker thread (its own event
// loop), so a flood of publishes does not keep it from reading. Prints one JSON line on stdout.
//
//   node flood.mjs --url mqtt://127.0.0.1:1883 --qos 1 --publishers 8 --messages 40000 [--payload 256]
//                  [--timeout 60] [--window 100] [--idle-ms 2000]
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';

const TOPIC = 'bench/flood';

function parseArgs(argv) {
  const o = { url: '', qos: 1, publishers: 1, messages: 40000, payload: 256, timeout: 60, window: 0, idleMs: 2000 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in o) || i + 1 >= argv.length) throw new Error(`unknown or incomplete option ${argv[i]}`);
    o[key] = key === 'url' ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (!o.url) throw new Error('--url is required');
  if (![0, 1].includes(o.qos)) throw new Error('--qos must be 0 or 1');
  if (!(o.publishers >= 1 && o.publishers <= 64)) throw new Error('--publishers must be in [1, 64]');
  if (!(o.messages >= 1 && o.messages <= 10_000_000)) throw new Error('--messages must be in [1, 10000000]');
  if (!(o.payload >= 16 && o.payload <= 65536)) throw new Error('--payload must be in [16, 65536]');
  if (!(o.timeout > 0 && o.timeout <= 600)) throw new Error('--timeout must be in (0, 600] seconds');
  // Publishes a publisher has outstanding (QoS 1: awaiting PUBACK; QoS 0: not yet written to the socket).
  if (!o.window) o.window = o.qos === 0 ? 1000 : 100;
  return o;
}

function connect(url, clientId) {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { protocolVersion: 5, clientId, clean: true, reconnectPeriod: 0, connectTimeout: 10_000, keepalive: 60 });
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

const nowNs = () => process.hrtime.bigint();

// ---------------------------------------------------------------- subscriber (worker thread)
async function subscriber({ url, qos, publishers, messages, idleMs, runId }) {
  const perPublisher = Math.ceil(messages / publishers);
  const seen = Array.from({ length: publishers }, () => new Uint8Array(perPublisher));
  const latencies = new Float64Array(messages); // microseconds
  let received = 0, duplicates = 0, foreign = 0, firstReceive = 0n, lastReceive = 0n;
  const client = await connect(url, `flood-sub-${runId}`);
  client.on('message', (_topic, payload) => {
    const now = nowNs();
    if (payload.length < 16) { foreign++; return; }
    const sentAt = payload.readBigInt64LE(0);
    const p = payload.readUInt32LE(8), seq = payload.readUInt32LE(12);
    if (p >= publishers || seq >= perPublisher) { foreign++; return; }
    if (seen[p][seq]) { duplicates++; return; }
    seen[p][seq] = 1;
    if (received < latencies.length) latencies[received] = Number(now - sentAt) / 1000;
    received++;
    if (firstReceive === 0n) firstReceive = now;
    lastReceive = now;
  });
  await client.subscribeAsync(`${TOPIC}/${runId}/+`, { qos });
  parentPort.postMessage({ type: 'ready' });

  let sendDone = null;
  const finish = async reason => {
    clearInterval(poll);
    const n = Math.min(received, latencies.length);
    const sorted = latencies.subarray(0, n).sort();
    const at = pc => (n === 0 ? null : sorted[Math.min(n - 1, Math.max(0, Math.ceil((pc / 100) * n) - 1))]);
    // An HdrHistogram-style percentile curve (denser towards the tail) for the plots.
    const curve = [];
    for (let k = 0; k <= 40; k++) {
      const pc = 100 * (1 - Math.pow(10, -k / 10));
      curve.push([Number(pc.toFixed(4)), at(Math.max(pc, 0.0001))]);
    }
    curve.push([100, at(100)]);
    const seconds = received > 0 && sendDone ? Number(lastReceive - BigInt(sendDone.startNs)) / 1e9 : 0;
    parentPort.postMessage({
      type: 'result', reason, received, duplicates, foreign, receiveSeconds: seconds,
      latencyUs: { p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: at(100) }, curve,
    });
    await client.endAsync(true).catch(() => {});
  };
  const poll = setInterval(() => {
    if (!sendDone) return;
    if (received >= sendDone.sent) return finish('all received');
    const idleSince = lastReceive > BigInt(sendDone.endNs) ? lastReceive : BigInt(sendDone.endNs);
    if (Number(nowNs() - idleSince) / 1e6 > idleMs) finish('idle');
  }, 5);
  parentPort.on('message', m => {
    if (m.type === 'send-done') sendDone = m;
    else if (m.type === 'stop') finish('time limit');
  });
}

// ---------------------------------------------------------------- publishers (main thread)
function publishAll(client, index, count, qos, window, payloadBytes, runId, state) {
  const topic = `${TOPIC}/${runId}/${index}`;
  return new Promise(resolve => {
    let next = 0, inflight = 0, pumping = false;
    const done = () => { if (next >= count && inflight === 0) resolve(); };
    const onSent = err => {
      inflight--;
      if (err) { state.failed++; state.firstError ??= String(err.message ?? err); } else state.sent++;
      pump();
      done();
    };
    const pump = () => {
      if (pumping) return; // a synchronous callback re-entering: the loop below goes on
      pumping = true;
      while (inflight < window && next < count && !state.stopped) {
        const payload = Buffer.allocUnsafe(payloadBytes);
        payload.fill(0x61, 16);
        payload.writeBigInt64LE(nowNs(), 0);
        payload.writeUInt32LE(index, 8);
        payload.writeUInt32LE(next, 12);
        next++;
        inflight++;
        client.publish(topic, payload, { qos }, onSent);
      }
      pumping = false;
      if (state.stopped && inflight === 0) resolve();
    };
    pump();
    done();
  });
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const runId = randomBytes(4).toString('hex');
  const worker = new Worker(new URL(import.meta.url), { workerData: { url: o.url, qos: o.qos, publishers: o.publishers, messages: o.messages, idleMs: o.idleMs, runId } });
  const result = new Promise((resolve, reject) => {
    worker.on('message', m => { if (m.type === 'result') resolve(m); });
    worker.once('error', reject);
  });
  await new Promise((resolve, reject) => { worker.on('message', m => { if (m.type === 'ready') resolve(); }); worker.once('error', reject); });

  const clients = await Promise.all(Array.from({ length: o.publishers }, (_, i) => connect(o.url, `flood-pub-${runId}-${i}`)));
  const state = { sent: 0, failed: 0, stopped: false, firstError: undefined };
  const limit = setTimeout(() => { state.stopped = true; worker.postMessage({ type: 'stop' }); }, o.timeout * 1000);
  const cpu0 = process.cpuUsage();
  const startNs = nowNs();
  const base = Math.floor(o.messages / o.publishers);
  await Promise.all(clients.map((c, i) => publishAll(c, i, base + (i < o.messages % o.publishers ? 1 : 0), o.qos, o.window, o.payload, runId, state)));
  const endNs = nowNs();
  worker.postMessage({ type: 'send-done', sent: state.sent, startNs: startNs.toString(), endNs: endNs.toString() });
  const r = await result;
  clearTimeout(limit);
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(clients.map(c => c.endAsync(true).catch(() => {})));
  await worker.terminate();

  const sendSeconds = Number(endNs - startNs) / 1e9;
  console.log(JSON.stringify({
    client: 'mqtt.js', clientVersion: mqttVersion(), node: process.version,
    qos: o.qos, publishers: o.publishers, messages: o.messages, payloadBytes: o.payload, window: o.window,
    sent: state.sent, failed: state.failed, received: r.received, lost: Math.max(0, state.sent - r.received),
    duplicates: r.duplicates, foreign: r.foreign, end: r.reason, firstError: state.firstError ?? null,
    sendSeconds, receiveSeconds: r.receiveSeconds,
    sentPerSecond: sendSeconds > 0 ? state.sent / sendSeconds : 0,
    msgPerSecond: r.receiveSeconds > 0 ? r.received / r.receiveSeconds : 0,
    clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
    latencyUs: r.latencyUs, curve: r.curve,
  }));
}

function mqttVersion() {
  try { return JSON.parse(readFileSync(new URL('./node_modules/mqtt/package.json', import.meta.url), 'utf8')).version; } catch { return null; }
}

if (isMainThread) {
  main().then(() => process.exit(0), e => { console.error(`flood: ${e.stack ?? e}`); process.exit(1); });
} else {
  subscriber(workerData).catch(e => { console.error(`flood subscriber: ${e.stack ?? e}`); process.exit(1); });
}
