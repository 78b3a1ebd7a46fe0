"""``manage.py runserver_socketio``: the site and Socket.IO on hubbub's gevent server."""
