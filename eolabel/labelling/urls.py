from django.urls import path

from eolabel.labelling import views, views_overlays, views_progress, views_review, views_superpixels

app_name = "labelling"
urlpatterns = [
    path("projects/", views.ProjectListApi.as_view(), name="project-list"),
    path("projects/<int:project_id>/", views.ProjectDetailApi.as_view(), name="project-detail"),
    path("projects/<int:project_id>/members/", views.ProjectMembersApi.as_view(), name="project-members"),
    path(
        "projects/<int:project_id>/progress",
        views_progress.ProjectProgressApi.as_view(),
        name="project-progress",
    ),
    path("projects/<int:project_id>/tasks/next", views.TaskNextApi.as_view(), name="task-next"),
    path("projects/<int:project_id>/reviews/next", views_review.ReviewNextApi.as_view(), name="review-next"),
    path("tasks/<int:task_id>", views.TaskDetailApi.as_view(), name="task-detail"),
    path("tasks/<int:task_id>/prelabel.png", views.TaskPrelabelApi.as_view(), name="task-prelabel"),
    path(
        "tasks/<int:task_id>/superpixels.png",
        views_superpixels.TaskSuperpixelsApi.as_view(),
        name="task-superpixels",
    ),
    path(
        "tasks/<int:task_id>/reference.png",
        views_overlays.TaskReferenceApi.as_view(),
        name="task-reference",
    ),
    path(
        "tasks/<int:task_id>/uncertainty.png",
        views_overlays.TaskUncertaintyApi.as_view(),
        name="task-uncertainty",
    ),
    path("tasks/<int:task_id>/skip", views.TaskSkipApi.as_view(), name="task-skip"),
    path("tasks/<int:task_id>/annotations", views.TaskAnnotationApi.as_view(), name="task-annotations"),
    path("annotations/<int:annotation_id>", views.AnnotationDetailApi.as_view(), name="annotation-detail"),
    path(
        "annotations/<int:annotation_id>/mask.png", views.AnnotationMaskApi.as_view(), name="annotation-mask"
    ),
    path(
        "annotations/<int:annotation_id>/accept",
        views_review.AnnotationAcceptApi.as_view(),
        name="annotation-accept",
    ),
    path(
        "annotations/<int:annotation_id>/correct",
        views_review.AnnotationCorrectApi.as_view(),
        name="annotation-correct",
    ),
    path(
        "annotations/<int:annotation_id>/revisions",
        views.AnnotationRevisionListApi.as_view(),
        name="annotation-revisions",
    ),
]
