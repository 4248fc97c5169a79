"""Dashboard routes: ``page_patterns`` under dashboard/, ``api_patterns`` under api/ (see eolabel/urls.py)."""

from django.urls import path

from eolabel.dashboard import views

P = "projects/<int:project_id>/dashboard/"

page_patterns = [
    path("", views.ProjectIndexPage.as_view(), name="index"),
    path("<int:project_id>/", views.ProjectDashboardPage.as_view(), name="project"),
]

api_patterns = [
    path(P + "progress", views.ProgressApi.as_view(), name="progress"),
    path(P + "loop", views.LoopApi.as_view(), name="loop"),
    path(P + "models", views.ModelsApi.as_view(), name="models"),
    path(P + "uncertainty", views.UncertaintyApi.as_view(), name="uncertainty"),
    path(P + "uncertainty/scenes", views.UncertaintyScenesApi.as_view(), name="uncertainty-scenes"),
    path(P + "comparison", views.ComparisonOptionsApi.as_view(), name="comparison"),
    path(
        P + "comparison/scenes/<int:scene_id>",
        views.ComparisonFiguresApi.as_view(),
        name="comparison-figures",
    ),
    path(P + "comparison/scenes/<int:scene_id>.png", views.ComparisonPngApi.as_view(), name="comparison-png"),
    path(P + "areas", views.AreasApi.as_view(), name="areas"),
    path(P + "areas/<int:area_id>", views.AreaDetailApi.as_view(), name="area-detail"),
    path(P + "vehicle-counts", views.VehicleCountsApi.as_view(), name="vehicle-counts"),
    path(P + "vehicle-counts.csv", views.VehicleCountsCsvApi.as_view(), name="vehicle-counts-csv"),
]
