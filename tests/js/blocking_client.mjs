// One client starts a blocking handler on examples/gevent_blocking.py while
// another keeps echoing; prints {"ok": true, "blockedMs", "answer", "rtts": [ms...]}.
//
//   node blocking_client.mjs <url> nap|redis_wait|ask [redis-url]

import { io } from "socket.io-client";

const [url, mode, redisUrl] = process.argv.slice(2);
const hard = setTimeout(() => done({ ok: false, error: "timeout" }), 12000);
const sockets = [];

function done(result) {
  clearTimeout(hard);
  for (const s of sockets) s.disconnect();
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(result.ok ? 0 : 1);
}

function connect() {
  const socket = io(url, { transports: ["websocket"], reconnection: false });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.on("connect", () => resolve(socket));
    socket.on("connect_error", reject);
  });
}

try {
  const [blocker, other] = await Promise.all([connect(), connect()]);
  // the blocker's client answers the server's question after 1.5 s
  blocker.on("question", (value, answer) => setTimeout(() => answer({ echoed: value }), 1500));
  await other.timeout(5000).emitWithAck("echo", "warm-up");
  const start = performance.now();
  const blocked = {
    nap: () => blocker.timeout(8000).emitWithAck("nap", 2),
    redis_wait: () => blocker.timeout(8000).emitWithAck("redis_wait", redisUrl, 2),
    ask: () => blocker.timeout(8000).emitWithAck("ask", "why"),
  }[mode]();
  let finished = false;
  const rtts = [];
  const blockedDone = blocked.then((answer) => {
    finished = true;
    return { answer, blockedMs: performance.now() - start };
  });
  // echo for as long as the handler blocks
  while (!finished) {
    const t0 = performance.now();
    await other.timeout(5000).emitWithAck("echo", rtts.length);
    rtts.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 20));
  }
  const { answer, blockedMs } = await blockedDone;
  done({ ok: true, answer, blockedMs, rtts });
} catch (err) {
  done({ ok: false, error: String(err) });
}
