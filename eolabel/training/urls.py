from django.urls import path

from eolabel.training import views

app_name = "training"
urlpatterns = [
    path("projects/<int:project_id>/training/jobs", views.TrainingJobListApi.as_view(), name="job-list"),
    path(
        "projects/<int:project_id>/training/jobs/<int:job_id>",
        views.TrainingJobDetailApi.as_view(),
        name="job-detail",
    ),
    path("projects/<int:project_id>/training/retrain", views.RetrainNowApi.as_view(), name="retrain-now"),
    path("projects/<int:project_id>/training/score", views.ScoreNowApi.as_view(), name="score-now"),
    path("projects/<int:project_id>/models", views.ModelVersionListApi.as_view(), name="model-list"),
    path(
        "projects/<int:project_id>/models/v<int:number>",
        views.ModelVersionDetailApi.as_view(),
        name="model-detail",
    ),
]
