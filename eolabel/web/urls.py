from django.urls import path
from django.views.generic import RedirectView

from eolabel.web import views

app_name = "web"
urlpatterns = [
    path("", views.MapView.as_view(), name="map"),
    path("map/", RedirectView.as_view(pattern_name="web:map", permanent=False)),
    path("projects/", views.ProjectsView.as_view(), name="projects"),
    path("projects/<int:project_id>/label/", views.LabelView.as_view(), name="label"),
    path("projects/<int:project_id>/review/", views.ReviewView.as_view(), name="review"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
]
