from django.urls import path

from eolabel.tiles import views

app_name = "tiles"
urlpatterns = [
    path("<int:scene_id>/tilejson.json", views.TileJsonView.as_view(), name="tilejson"),
    path("<int:scene_id>/<int:z>/<int:x>/<int:y>.<str:fmt>", views.TileView.as_view(), name="tile"),
]
