from django.urls import path

from eolabel.exports import views

app_name = "exports"
urlpatterns = [
    path("projects/<int:project_id>/export", views.ProjectExportApi.as_view(), name="project-export"),
]
