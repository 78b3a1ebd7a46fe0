// Hosts real Socket.IO clients of three generations for the workers tests
// (tests/cluster/test_workers.py), driven by JSON commands on stdin, one per
// line, answered by one JSON line each: {"id": n, "ok": value} or
// {"id": n, "error": "..."}. The same commands as cluster_clients.mjs:
//   connect {name, url, kind, transports?} -> the first 'welcome' payload; kind is
//            "v4" (socket.io-client 4), "v2" (2.x) or "v09" (0.9.16)
//   emit    {name, event, args, timeout?}  -> the ack's first argument
//   call    {name, event, args, timeout?}  -> value of the 'result'(token, value) the server emits
//   events  {name, clear?}                 -> [[event, ...args], ...] received so far
//   wait    {name, event, count, timeout?} -> the first `count` such events' args
//   state   {name}                         -> {connected, welcomes}
//   cut     {name}                         -> (socket.io-client 4) closes the transport, as a
//                                             network cut does, and returns the next welcome
//                                             with {socketRecovered}
//   close   {name}
// Every client answers 'poll'(room) acks with {client: name}, reconnects on
// its own, and records the events in EVENTS (and '$welcome' on each welcome).
"use strict";

process.EventEmitter = require("events").EventEmitter; // for socket.io-client 0.9
const { createInterface } = require("node:readline");
const { randomBytes } = require("node:crypto");

const EVENTS = ["hey", "tick", "announced", "mark"];
const clients = new Map();

function reply(id, body) {
  process.stdout.write(JSON.stringify({ id, ...body }) + "\n");
}

function withTimeout(promise, ms, what) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms)),
  ]);
}

function notify(c) {
  for (const w of [...c.waiters]) w();
}

function open(cmd) {
  const transports = cmd.transports || ["websocket"];
  if (cmd.kind === "v09") {
    const io = require("socket.io-client-v09");
    return io.connect(cmd.url, {
      transports,
      "force new connection": true,
      "try multiple transports": false,
      "reconnection delay": 100,
      "reconnection limit": 400,
      "max reconnection attempts": 100,
      "connect timeout": 3000,
    });
  }
  const io = cmd.kind === "v2" ? require("socket.io-client-v2") : require("socket.io-client");
  return io(cmd.url, {
    transports,
    forceNew: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 400,
  });
}

async function run(cmd) {
  const timeout = cmd.timeout || 8000;
  const c = clients.get(cmd.name);
  if (cmd.op !== "connect" && !c) throw new Error(`no client ${cmd.name}`);
  switch (cmd.op) {
    case "connect": {
      const socket = open(cmd);
      const client = { socket, events: [], waiters: new Set(), results: new Map(), welcomes: 0 };
      clients.set(cmd.name, client);
      const first = new Promise((resolve) => {
        socket.on("welcome", (w) => {
          client.welcomes += 1;
          client.events.push(["$welcome", w]);
          notify(client);
          resolve(w);
        });
      });
      socket.on("result", (token, value) => {
        const resolve = client.results.get(token);
        if (resolve) resolve(value);
      });
      socket.on("poll", (room, ack) => ack({ client: cmd.name }));
      for (const event of EVENTS) {
        socket.on(event, function () {
          client.events.push([event, ...Array.prototype.slice.call(arguments)]);
          notify(client);
        });
      }
      socket.on("disconnect", (reason) => {
        client.events.push(["$disconnect", reason === undefined ? null : String(reason)]);
        notify(client);
      });
      return withTimeout(first, timeout, `welcome from ${cmd.url} (${cmd.kind})`);
    }
    case "emit":
      return withTimeout(
        new Promise((resolve) => {
          // a callback that declares a parameter: 0.9 asks for the answer's data
          c.socket.emit(cmd.event, ...(cmd.args || []), function (value) {
            resolve(value === undefined ? null : value);
          });
        }),
        timeout,
        `ack of ${cmd.event} for ${cmd.name}`,
      );
    case "call": {
      const token = randomBytes(6).toString("hex");
      const result = new Promise((resolve) => c.results.set(token, resolve));
      c.socket.emit(cmd.event, token, ...(cmd.args || []));
      try {
        return await withTimeout(result, timeout, `result of ${cmd.event} for ${cmd.name}`);
      } finally {
        c.results.delete(token);
      }
    }
    case "events": {
      const out = c.events.slice();
      if (cmd.clear) c.events.length = 0;
      return out;
    }
    case "wait": {
      const matching = () => c.events.filter((e) => e[0] === cmd.event);
      if (matching().length < cmd.count) {
        await withTimeout(
          new Promise((resolve) => {
            const check = () => {
              if (matching().length >= cmd.count) {
                c.waiters.delete(check);
                resolve();
              }
            };
            c.waiters.add(check);
          }),
          timeout,
          `${cmd.count} x ${cmd.event} for ${cmd.name} (have ${matching().length})`,
        );
      }
      return matching().slice(0, cmd.count).map((e) => e.slice(1));
    }
    case "state": {
      const s = c.socket;
      const connected = s.socket ? Boolean(s.socket.connected) : Boolean(s.connected);
      return { connected, welcomes: c.welcomes };
    }
    case "cut": {
      const before = c.welcomes;
      c.socket.io.engine.close();
      await withTimeout(
        new Promise((resolve) => {
          const check = () => {
            if (c.welcomes > before) {
              c.waiters.delete(check);
              resolve();
            }
          };
          c.waiters.add(check);
        }),
        timeout,
        `welcome after the cut of ${cmd.name}`,
      );
      const last = c.events.filter((e) => e[0] === "$welcome").pop();
      return { ...last[1], socketRecovered: c.socket.recovered };
    }
    case "close":
      if (c.socket.disconnect) c.socket.disconnect();
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
