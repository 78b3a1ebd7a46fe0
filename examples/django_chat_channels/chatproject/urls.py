from chat import views
from django.urls import include, path, re_path

urlpatterns = [
    path("", include("hubbub.django_socketio.urls")),
    path("", views.rooms, name="rooms"),
    path("sysmsg", views.system_message, name="system_message"),
    re_path(r"^room/(?P<room_id>[0-9]+)$", views.room, name="room"),
]
