"""Pages of the web app. The pages are shells: the browser code in frontend/eolabel/ fills them from the API."""

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import LogoutView
from django.http import Http404
from django.urls import reverse_lazy
from django.views.generic import TemplateView

from eolabel.labelling.errors import NotFound
from eolabel.labelling.permissions import Action, project_access, role_allows
from eolabel.labelling.selectors import project_list_for

# The login page is Django's own (accounts/login/, template registration/login.html); named here so the
# redirect does not depend on settings.LOGIN_URL, which points at the admin's login.
LOGIN_PAGE = reverse_lazy("login")


class MapView(LoginRequiredMixin, TemplateView):
    """The archive on a map: footprints, filters, a scene list and a tile viewer."""

    login_url = LOGIN_PAGE
    template_name = "web/map.html"


class SignOutView(LogoutView):
    """Django's logout (POST only) rendering our page. The admin ships its own registration/logged_out.html,
    which wins the template lookup because the admin comes first in INSTALLED_APPS."""

    template_name = "web/logged_out.html"


class ProjectsView(LoginRequiredMixin, TemplateView):
    """The projects where the user has a role, each with a link to label it."""

    login_url = LOGIN_PAGE
    template_name = "web/projects.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["projects"] = project_list_for(user=self.request.user)
        return context


class LabelView(LoginRequiredMixin, TemplateView):
    """The labelling page of one project: the browser code leases tasks and submits labels through the API.
    In review mode (``mode="review"``) the same page shows others' annotations to accept or correct."""

    login_url = LOGIN_PAGE
    template_name = "web/label.html"
    mode = "label"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        try:
            project, role = project_access(
                user=self.request.user, project_id=self.kwargs["project_id"], action=Action.VIEW
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        context["project"] = project
        context["mode"] = self.mode
        context["can_annotate"] = role_allows(role=role, action=Action.ANNOTATE)
        context["can_review"] = role_allows(role=role, action=Action.REVIEW)
        context["classes"] = sorted(project.classes, key=lambda c: c["value"])[:9]
        return context


class ReviewView(LabelView):
    """Review mode of the labelling page (reviewers and managers; others are told on the page)."""

    mode = "review"
