// The benchmark app on a Node cluster, Node's way to use several cores:
//   node benchmarks/node/cluster.js PORT [WORKERS]   (or BENCH_WORKERS; default 2)
// The primary holds the port and hands each connection to a worker with
// @socket.io/sticky (least-connection); the workers share broadcasts through
// the primary with @socket.io/cluster-adapter. Each worker runs the events of
// benchmarks/node/server.js: 'echo' answered by ack, 'join' a room, 'fanout'
// broadcasting a 100-byte event `count` times, 'chat' broadcasting the text
// it gets to the room.
"use strict";
const cluster = require("node:cluster");
const http = require("node:http");
const { Server } = require("socket.io");
const { setupMaster, setupWorker } = require("@socket.io/sticky");
const { createAdapter, setupPrimary } = require("@socket.io/cluster-adapter");
const { options, serve } = require("./server.js");

const port = Number(process.argv[2] || 3000);
const workers = Number(process.argv[3] || process.env.BENCH_WORKERS || 2);

if (cluster.isPrimary) {
  const httpServer = http.createServer();
  setupMaster(httpServer, { loadBalancingMethod: "least-connection" });
  // Once sticky hands a connection to a worker, the primary must read no
  // more of it. Node detaches the handle it sends (what it reads goes
  // nowhere) but closes it only once the worker has acknowledged it, later
  // still when other handles are queued before it: a client quick to send
  // after the worker's first answer lost those bytes to the primary, and
  // never finished connecting. So the primary stops reading a connection
  // that sticky hands over whole (a request without a body, as sticky tells).
  httpServer.on("connection", (socket) => {
    const handle = socket._handle;
    socket.once("data", (chunk) => {
      const end = chunk.indexOf("\r\n\r\n");
      const head = chunk.subarray(0, end < 0 ? chunk.length : end).toString().toLowerCase();
      if (!head.includes("content-length:") && !head.includes("transfer-encoding:")) {
        handle.readStop();
      }
    });
  });
  setupPrimary();
  // sticky passes the first bytes of each connection as a Buffer: the
  // advanced serialization keeps it one
  cluster.setupPrimary({ serialization: "advanced" });
  for (let i = 0; i < workers; i++) cluster.fork();
  // listen once every worker has its handlers, so the first client finds them all
  let ready = 0;
  cluster.on("message", (worker, message) => {
    if (message && message.type === "bench:ready" && ++ready === workers) {
      httpServer.listen(port, "127.0.0.1");
    }
  });
  cluster.on("exit", (worker, code, signal) => {
    console.error(`worker ${worker.process.pid} exited (${signal || code})`);
  });
  // the harness stops the server with SIGTERM: take the workers along
  process.on("SIGTERM", () => {
    for (const id in cluster.workers) cluster.workers[id].kill("SIGKILL");
    process.exit(0);
  });
} else {
  const httpServer = http.createServer();
  const io = new Server(httpServer, options());
  io.adapter(createAdapter());
  setupWorker(io);
  serve(io);
  process.send({ type: "bench:ready" });
}
