// The Node socket.io 4.8 server the Python client's interop tests talk to:
//   node client_peer4.js PORT [msgpack]
// Events (tests/interop/client_scenarios.py drives them):
//   connect with auth {token: "bad"} is refused ("unauthorized", {code: 4001});
//   every socket gets 'welcome' {auth, nsp, header: its X-Client-Test header}; 'echo'(...args) acks its args;
//   'ask'(value): asks the client 'question'(value) with an ack, acks {answer};
//   'push_binary'(): 'binary'(bytes, {nested: bytes}); 'start_ticker'(n, s):
//   'tick'(i) every s seconds; 'drop'(): the transport is closed (no
//   DISCONNECT: recovery applies); 'kick'(): the socket is disconnected.
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 3000);
const options = {
  pingInterval: 1000,
  pingTimeout: 1000,
  connectionStateRecovery: { maxDisconnectionDuration: 30000, skipMiddlewares: true },
};
if (process.argv[3] === "msgpack") options.parser = require("socket.io-msgpack-parser");
const server = http.createServer();
const io = new Server(server, options);

function setup(nsp) {
  nsp.use((socket, next) => {
    const auth = socket.handshake.auth || {};
    if (auth.token === "bad") {
      const err = new Error("unauthorized");
      err.data = { code: 4001 };
      return next(err);
    }
    next();
  });
  nsp.on("connection", (socket) => {
    if (!socket.recovered) {
      const header = socket.handshake.headers["x-client-test"];
      socket.emit("welcome", { auth: socket.handshake.auth, nsp: nsp.name, header });
    }
    socket.on("echo", (...args) => {
      const ack = args.pop();
      ack(...args);
    });
    socket.on("ask", (value, ack) => {
      socket.timeout(5000).emit("question", value, (err, ...answer) => {
        ack(err ? { timeout: true } : { answer });
      });
    });
    socket.on("push_binary", () => {
      socket.emit("binary", Buffer.from([1, 2, 3]), { nested: Buffer.from([255, 0]) });
    });
    socket.on("start_ticker", (count, seconds) => {
      let i = 0;
      const timer = setInterval(() => {
        nsp.emit("tick", i++);  // a broadcast: it reaches a disconnected, recoverable socket too
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
