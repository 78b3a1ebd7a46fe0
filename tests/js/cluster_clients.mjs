// Hosts real socket.io-client 4 sockets for the cluster tests, driven by
// JSON commands on stdin (one per line); answers one JSON line each:
//   {"id": n, "ok": value} or {"id": n, "error": "..."}.
//
// Commands ({"id", "op", ...}):
//   connect {name, url, transports?, ackDelay?, reconnection?}
//                                           -> the 'welcome' payload {sid, server, recovered}
//   emit    {name, event, args, timeout?}   -> the ack's arguments (emitWithAck)
//   send    {name, event, args}             -> true once emitted (no ack asked)
//   call    {name, event, args, timeout?}   -> value of the 'result'(token, value) the server emits
//   events  {name, clear?}                  -> [[event, ...args], ...] received so far
//   wait    {name, event, count, timeout?}  -> the first `count` such events' args
//   cut     {name, url?}                    -> closes the transport (recoverable), points the
//                                              manager at `url` and waits for the new 'welcome'
//   state   {name}                          -> {connected, id}
//   close   {name}
// Every socket answers 'poll'(room) acks with {client: name}, after ackDelay ms if given.

import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { randomBytes } from "node:crypto";

const require = createRequire(import.meta.url);
const { io } = require("socket.io-client");

const clients = new Map(); // name -> {socket, events, waiters, welcomes}

function plain(value) {
  if (value instanceof ArrayBuffer) return { $bin: Buffer.from(value).toString("hex") };
  if (ArrayBuffer.isView(value)) {
    return { $bin: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex") };
  }
  if (Array.isArray(value)) return value.map(plain);
  if (value === undefined) return null;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

function reply(id, body) {
  process.stdout.write(JSON.stringify({ id, ...body }) + "\n");
}

function withTimeout(promise, ms, what) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms)),
  ]);
}

function nextWelcome(client) {
  return new Promise((resolve) => client.welcomes.push(resolve));
}

function notify(client) {
  for (const w of [...client.waiters]) w();
}

async function run(cmd) {
  const timeout = cmd.timeout || 8000;
  const client = clients.get(cmd.name);
  switch (cmd.op) {
    case "connect": {
      const socket = io(cmd.url, {
        transports: cmd.transports || ["websocket"],
        reconnectionDelay: 100,
        reconnectionDelayMax: 300,
        forceNew: true,
        reconnection: cmd.reconnection !== false,
      });
      const c = { socket, events: [], waiters: new Set(), welcomes: [], results: new Map() };
      clients.set(cmd.name, c);
      socket.on("welcome", (w) => {
        const resolve = c.welcomes.shift();
        if (resolve) resolve(w);
      });
      socket.on("result", (token, value) => {
        const resolve = c.results.get(token);
        if (resolve) resolve(value);
      });
      socket.on("poll", (room, ack) => {
        if (cmd.ackDelay) setTimeout(() => ack({ client: cmd.name }), cmd.ackDelay);
        else ack({ client: cmd.name });
      });
      socket.onAny((event, ...args) => {
        if (event === "welcome" || event === "result") return;
        c.events.push([event, ...plain(args)]);
        notify(c);
      });
      socket.on("disconnect", (reason) => {
        c.events.push(["$disconnect", reason]);
        notify(c);
      });
      return withTimeout(nextWelcome(c), timeout, `welcome from ${cmd.url}`);
    }
    case "emit":
      return plain(
        await client.socket.timeout(timeout).emitWithAck(cmd.event, ...(cmd.args || [])),
      );
    case "send":
      client.socket.emit(cmd.event, ...(cmd.args || []));
      return true;
    case "call": {
      const token = randomBytes(6).toString("hex");
      const result = new Promise((resolve) => client.results.set(token, resolve));
      client.socket.emit(cmd.event, token, ...(cmd.args || []));
      try {
        return plain(await withTimeout(result, timeout, `result of ${cmd.event}`));
      } finally {
        client.results.delete(token);
      }
    }
    case "events": {
      const out = client.events.slice();
      if (cmd.clear) client.events.length = 0;
      return out;
    }
    case "wait": {
      const matching = () => client.events.filter((e) => e[0] === cmd.event);
      if (matching().length < cmd.count) {
        await withTimeout(
          new Promise((resolve) => {
            const check = () => {
              if (matching().length >= cmd.count) {
                client.waiters.delete(check);
                resolve();
              }
            };
            client.waiters.add(check);
          }),
          timeout,
          `${cmd.count} x ${cmd.event} for ${cmd.name} (have ${matching().length})`,
        );
      }
      return matching().slice(0, cmd.count).map((e) => e.slice(1));
    }
    case "cut": {
      const welcome = nextWelcome(client);
      if (cmd.url) client.socket.io.uri = cmd.url;
      client.socket.io.engine.close();
      const w = await withTimeout(welcome, timeout, "welcome after the cut");
      return { ...w, socketRecovered: client.socket.recovered, id: client.socket.id };
    }
    case "state":
      return { connected: client.socket.connected, id: client.socket.id || null };
    case "close":
      client.socket.close();
      clients.delete(cmd.name);
      return true;
    default:
      throw new Error(`unknown op ${cmd.op}`);
  }
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  run(cmd).then(
    (ok) => reply(cmd.id, { ok: ok === undefined ? null : ok }),
    (err) => reply(cmd.id, { error: String(err && err.message ? err.message : err) }),
  );
});
lines.on("close", () => process.exit(0));
