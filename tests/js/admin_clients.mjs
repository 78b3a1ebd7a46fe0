// Hosts real socket.io-client 4 sockets for the admin UI tests
// (tests/unit/test_admin_instrument.py, tests/cluster/test_admin_cluster.py),
// driven by JSON commands on stdin, one per line; answers one JSON line each:
//   {"id": n, "ok": value} or {"id": n, "error": "..."}.
//
// Commands ({"id", "op", ...}):
//   connect {name, url, auth?, transports?}  -> {connected: true, id} or {connected: false, error}
//   emit    {name, event, args}              -> null (sent, no ack)
//   wait    {name, event, count?, wait_ms?}  -> the args of the first `count` such events
//   events  {name}                           -> [[event, ...args], ...] received so far
//   state   {name}                           -> {connected, id, transport}
//   close   {name}
// A socket's "disconnect" is recorded as the event "disconnect"(reason).

import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(import.meta.url);
const { io } = require("socket.io-client");

const sockets = new Map(); // name -> {socket, events, waiters}

function reply(id, body) {
  process.stdout.write(JSON.stringify({ id, ...body }) + "\n");
}

function record(entry, event, args) {
  entry.events.push([event, ...args]);
  for (const w of [...entry.waiters]) w();
}

function matching(entry, event) {
  return entry.events.filter((e) => e[0] === event).map((e) => e.slice(1));
}

async function run(cmd) {
  const entry = sockets.get(cmd.name);
  switch (cmd.op) {
    case "connect": {
      const socket = io(cmd.url, {
        transports: cmd.transports || ["polling", "websocket"],
        auth: cmd.auth || {},
        reconnection: false,
        forceNew: true,
      });
      const e = { socket, events: [], waiters: new Set() };
      sockets.set(cmd.name, e);
      socket.onAny((event, ...args) => record(e, event, args));
      socket.on("disconnect", (reason) => record(e, "disconnect", [reason]));
      return await new Promise((resolve) => {
        socket.once("connect", () => resolve({ connected: true, id: socket.id }));
        socket.once("connect_error", (err) => resolve({ connected: false, error: err.message }));
      });
    }
    case "emit":
      entry.socket.emit(cmd.event, ...(cmd.args || []));
      return null;
    case "wait": {
      const count = cmd.count || 1;
      const timeout = cmd.wait_ms || 8000;
      return await new Promise((resolve, reject) => {
        const check = () => {
          const found = matching(entry, cmd.event);
          if (found.length >= count) {
            entry.waiters.delete(check);
            clearTimeout(timer);
            resolve(found.slice(0, count));
          }
        };
        const timer = setTimeout(() => {
          entry.waiters.delete(check);
          reject(new Error(`timeout: ${count} '${cmd.event}' on ${cmd.name}`));
        }, timeout);
        entry.waiters.add(check);
        check();
      });
    }
    case "events":
      return entry.events;
    case "state":
      return {
        connected: entry.socket.connected,
        id: entry.socket.id || null,
        transport: entry.socket.io.engine ? entry.socket.io.engine.transport.name : null,
      };
    case "close":
      entry.socket.close();
      sockets.delete(cmd.name);
      return null;
    default:
      throw new Error(`unknown op ${cmd.op}`);
  }
}

const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  run(cmd).then(
    (ok) => reply(cmd.id, { ok: ok === undefined ? null : ok }),
    (err) => reply(cmd.id, { error: String(err && err.message ? err.message : err) }),
  );
});
rl.on("close", () => process.exit(0));
