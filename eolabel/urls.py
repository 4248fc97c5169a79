from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from eolabel.dashboard import urls as dashboard_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("eolabel.archive.urls")),
    path("api/", include("eolabel.labelling.urls")),
    path("api/", include("eolabel.training.urls")),
    path("api/", include("eolabel.exports.urls")),
    path("api/", include((dashboard_urls.api_patterns, "dashboard-api"))),
    path("dashboard/", include((dashboard_urls.page_patterns, "dashboard"))),
    path("tiles/", include("eolabel.tiles.urls")),
    path("", include("eolabel.web.urls")),
]

handler404 = "eolabel.api.not_found"  # JSON under /api/ and /tiles/, the HTML page elsewhere
