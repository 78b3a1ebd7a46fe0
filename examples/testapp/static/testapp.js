// testapp's page: socket.io-client 0.9.16 (the global `io`), the global
// namespace and /chat on one connection. Every event the server sends is
// written to #log as "<namespace> <event>: <arguments as JSON>".
// ?transport=xhr-polling (or websocket, htmlfile, jsonp-polling) forces one transport.
(function () {
  var forced = /[?&]transport=([a-z-]+)/.exec(location.search);
  if (forced) io.transports = [forced[1]];

  var socket = io.connect();
  var chat = io.connect("/chat"); // the same connection, namespace /chat
  var nickname = null;

  function log(ns, what, args) {
    var li = document.createElement("li");
    var text = ns + " " + what;
    if (args && args.length) {
      text += ": " + Array.prototype.map.call(args, function (a) { return JSON.stringify(a); }).join(", ");
    }
    li.textContent = text;
    li.className = ns === "/" ? "global" : "chat";
    document.getElementById("log").appendChild(li);
  }

  function status() {
    var s = socket.socket;
    document.getElementById("status").textContent = s.connected
      ? "connected with " + s.transport.name + (nickname ? " as " + nickname : "")
      : "disconnected";
    document.body.setAttribute("data-transport", s.connected ? s.transport.name : "");
  }

  // events of the global namespace
  socket.on("connect", function () { log("/", "connect"); status(); });
  socket.on("disconnect", function () { log("/", "disconnect"); status(); });
  socket.on("error", function (e) { log("/", "error", [e]); });
  ["chat", "bob", "broadcasted", "got_some_json", "message"].forEach(function (name) {
    socket.on(name, function () { log("/", name, arguments); });
  });

  // events of /chat
  chat.on("connect", function () { log("/chat", "connect"); });
  chat.on("disconnect", function () { log("/chat", "disconnect"); });
  chat.on("error", function (e) { log("/chat", "error", [e]); });
  chat.on("you_just_connected", function (info) {
    nickname = info.nickname;
    log("/chat", "you_just_connected", arguments);
    status();
  });
  ["cpu_value", "bob", "pack", "message", "got_message", "got_json", "server_callback",
   "rtc_invite", "left"].forEach(function (name) {
    chat.on(name, function () { log("/chat", name, arguments); });
  });
  chat.on("callmeback", function (param1, param2, ack) {
    log("/chat", "callmeback", [param1, param2]);
    if (ack) ack("ackprm1", "ackprm2");
  });

  document.getElementById("chat_form").onsubmit = function (e) {
    e.preventDefault();
    var box = document.getElementById("chatbox");
    socket.emit("chat", box.value);
    log("me", "chat", [box.value]);
    box.value = "";
  };

  function click(id, fn) { document.getElementById(id).onclick = fn; }
  click("b1", function () {
    socket.emit("bob", { thank: "you" });
  });
  click("b2", function () {
    socket.json.send({ blah: "a simple message" });
  });
  click("b3", function () {
    socket.emit("bob", { thank: "you" });
    socket.send("a simple message");
  });
  click("b4", function () {
    chat.emit("mymessage", "bob");
    chat.send("hey");
    chat.json.send({ asdfblah: "asd " + String.fromCharCode(13) + "fé\n\\'blah" });
  });
  click("b5", function () {
    chat.emit("my_callback", { "this": "is sweet" }, function () {
      log("/chat", "my_callback answered", arguments);
    });
  });
  click("b6", function () {
    chat.emit("trigger_server_callback", "superbob as param");
    chat.send("a little message", function () {
      log("/chat", "send acknowledged", arguments);
    });
  });
  click("b7", function () {
    chat.disconnect();
  });
  click("invite", function () {
    chat.emit("rtc_invite", "an offer from " + nickname);
  });
})();
