"""Settings of the chat project (no database: rooms and people are kept in
memory)."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "hubbub-example-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "hubbub.django_socketio",
    "chat",
]
ROOT_URLCONF = "chatproject.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES: dict[str, dict[str, str]] = {}
STATIC_URL = "/static/"
USE_TZ = True

SOCKETIO_HOST = "127.0.0.1"
SOCKETIO_PORT = 9000
# hubbub.Server options for runserver_socketio: how long a 0.6 poll is held
SOCKETIO_SERVER_OPTIONS = {
    "v06": {"polling_duration": float(os.environ.get("CHAT_POLLING_DURATION", "20"))},
}
