// The Node socket.io 2.x server (Engine.IO 3) the Python client's interop
// tests talk to: node client_peer2.js PORT. The events of client_peer4.js;
// clients 2.x carry auth in the query, so {token: "bad"} arrives as
// ?token=bad and is refused with the error object {message, code}.
"use strict";
const http = require("http");

const port = Number(process.argv[2] || 3000);
const server = http.createServer();
const io = require("socket.io-v2")(server, { pingInterval: 1000, pingTimeout: 1000 });

function setup(nsp) {
  nsp.use((socket, next) => {
    if (socket.handshake.query.token === "bad") {
      const err = new Error("unauthorized");
      err.data = { message: "unauthorized", code: 4001 };
      return next(err);
    }
    next();
  });
  nsp.on("connection", (socket) => {
    const { EIO, transport, t, b64, ...auth } = socket.handshake.query;
    socket.emit("welcome", { auth, nsp: nsp.name, header: socket.handshake.headers["x-client-test"] });
    socket.on("echo", (...args) => {
      const ack = args.pop();
      ack(...args);
    });
    socket.on("ask", (value, ack) => {
      let done = false;
      const timer = setTimeout(() => { done = true; ack({ timeout: true }); }, 5000);
      socket.emit("question", value, (...answer) => {
        if (done) return;
        clearTimeout(timer);
        ack({ answer });
      });
    });
    socket.on("push_binary", () => {
      socket.emit("binary", Buffer.from([1, 2, 3]), { nested: Buffer.from([255, 0]) });
    });
    socket.on("start_ticker", (count, seconds) => {
      let i = 0;
      const timer = setInterval(() => {
        socket.emit("tick", i++);
        if (i >= count) clearInterval(timer);
      }, seconds * 1000);
    });
    socket.on("drop", () => socket.conn.close());
    socket.on("kick", () => socket.disconnect());
  });
}
setup(io.of("/"));
setup(io.of("/chat"));
server.listen(port, "127.0.0.1");
