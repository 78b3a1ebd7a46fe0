// simple_chat's page: socket.io-client 0.9.16 (the global `io`).
// ?transport=xhr-polling (or websocket, htmlfile, jsonp-polling) forces one transport.
(function () {
  var forced = /[?&]transport=([a-z-]+)/.exec(location.search);
  if (forced) io.transports = [forced[1]];

  var socket = io.connect();

  // closing the tab tells the server at once, polling transports included:
  // a beacon to the forced-disconnect URL (socket.io-client's own 'sync
  // disconnect on unload' uses a synchronous XHR, which browsers now refuse
  // while a page closes)
  window.addEventListener("pagehide", function () {
    var s = socket.socket;
    if (!s.connected) return;
    var url = "/socket.io/1/" + s.transport.name + "/" + s.sessionid + "?disconnect";
    if (!(navigator.sendBeacon && navigator.sendBeacon(url))) socket.disconnect();
  });
  var chat = document.getElementById("chat");
  var lines = document.getElementById("lines");

  function line(from, text, cls) {
    var p = document.createElement("p");
    if (cls) p.className = cls;
    if (from) {
      var b = document.createElement("b");
      b.textContent = from;
      p.appendChild(b);
    }
    p.appendChild(document.createTextNode(text));
    lines.appendChild(p);
    lines.scrollTop = lines.scrollHeight;
  }

  socket.on("connect", function () {
    chat.className += " connected";
    document.getElementById("transport").textContent =
      "transport: " + socket.socket.transport.name;
  });
  socket.on("announcement", function (text) {
    line("", text, "announcement");
  });
  socket.on("nicknames", function (nicknames) {
    document.querySelector("#nicknames span").textContent = nicknames.join(", ");
  });
  socket.on("msg_to_room", function (from, text) {
    line(from, text);
  });
  socket.on("reconnect", function () {
    line("System", "Reconnected to the server", "system");
  });
  socket.on("reconnecting", function () {
    line("System", "Attempting to re-connect to the server", "system");
  });
  socket.on("error", function (e) {
    line("System", e ? String(e) : "An unknown error occurred", "system");
  });

  document.getElementById("set-nickname").onsubmit = function () {
    var nick = document.getElementById("nick").value;
    socket.emit("nickname", nick, function (taken) {
      if (taken) {
        document.getElementById("nickname-err").style.visibility = "visible";
        return;
      }
      chat.className += " nickname-set";
      document.getElementById("message").focus();
    });
    return false;
  };

  document.getElementById("send-message").onsubmit = function () {
    var input = document.getElementById("message");
    if (input.value) {
      line("me", input.value);
      socket.emit("user message", input.value);
    }
    input.value = "";
    input.focus();
    return false;
  };
})();
