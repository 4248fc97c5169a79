from django.urls import path

from eolabel.archive import views

app_name = "archive"
urlpatterns = [
    path("sensors/", views.SensorListApi.as_view(), name="sensor-list"),
    path("scenes/", views.SceneListApi.as_view(), name="scene-list"),
    path("scenes/<int:scene_id>/", views.SceneDetailApi.as_view(), name="scene-detail"),
    path("scenes/<int:scene_id>/chips/", views.SceneChipListApi.as_view(), name="scene-chips"),
]
