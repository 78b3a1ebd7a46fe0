// The chat page of examples/django_chat_channels (django-socketio's example): a
// Socket.IO 0.6 client (new io.Socket()) with hubbub's channel extension.
// The room is the channel "room-<id>"; ?transport=<name> forces a transport.
(function () {
  var room = window.ROOM;
  var forced = new URLSearchParams(location.search).get("transport");
  var name = null;
  var socket = null;

  function $(id) {
    return document.getElementById(id);
  }

  function line(text) {
    var li = document.createElement("li");
    li.textContent = text;
    $("log").appendChild(li);
  }

  function showUsers(users) {
    $("users").textContent = users.join(", ");
  }

  function addUser(user) {
    var users = $("users").textContent ? $("users").textContent.split(", ") : [];
    if (users.indexOf(user) < 0) users.push(user);
    showUsers(users);
  }

  function removeUser(user) {
    var users = $("users").textContent ? $("users").textContent.split(", ") : [];
    showUsers(users.filter(function (u) { return u !== user; }));
  }

  function onMessage(data) {
    switch (data.action) {
      case "in-use":
        name = null;
        line("That name is in use: pick another.");
        break;
      case "started":
        document.body.className = "started";
        showUsers(data.users.concat([name]));
        break;
      case "join":
        addUser(data.name);
        line("* " + data.name + " joins");
        break;
      case "leave":
        removeUser(data.name);
        line("* " + data.name + " leaves");
        break;
      case "message":
        line(data.name + ": " + data.message);
        break;
      case "system":
        line("SYSTEM: " + data.message);
        break;
    }
  }

  function start() {
    var options = { rememberTransport: false, reconnect: false };
    if (forced) options.transports = [forced];
    socket = new io.Socket(null, options);
    socket.on("connect", function () {
      $("status").textContent = "connected with " + socket.transport.type;
      socket.subscribe("room-" + room);
      if (name) socket.send({ room: room, action: "start", name: name });
    });
    socket.on("message", onMessage);
    socket.on("disconnect", function () {
      $("status").textContent = "disconnected";
      setTimeout(start, 1000); // a new session, as the original pages did
    });
    socket.connect();
  }

  $("join").addEventListener("submit", function (event) {
    event.preventDefault();
    name = $("name").value;
    socket.send({ room: room, action: "start", name: name });
  });
  $("send").addEventListener("submit", function (event) {
    event.preventDefault();
    socket.send({ room: room, action: "message", message: $("message").value });
    $("message").value = "";
  });
  start();
})();
