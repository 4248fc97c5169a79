"""Admin for projects and members; queue, leases, annotations and retrain requests are read-only here
(they change only through the services, which keep the queue's invariants)."""

from django import forms
from django.contrib import admin

from eolabel.labelling.classes import classes_validate
from eolabel.labelling.errors import ClassListInvalid
from eolabel.labelling.models import Annotation, Lease, Membership, Project, ProjectChip, RetrainRequest, Role
from eolabel.labelling.services import project_chip_states_refresh, project_chips_sync

FIXED_AFTER_CREATION = ("task_type", "chip_size", "validation_fraction")


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = [
            "name", "description", "task_type", "classes", "sensors", "scenes", "chip_size", "strategy",
            "retrain_every_n", "retrain_min_interval_minutes", "validation_fraction", "overlap",
            "show_reference_to_annotators",
        ]  # fmt: skip

    def clean_classes(self):
        try:
            return classes_validate(self.cleaned_data["classes"])
        except ClassListInvalid as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean(self):
        cleaned = super().clean()
        sensors, scenes = cleaned.get("sensors"), cleaned.get("scenes")
        if sensors is not None and scenes is not None:
            allowed = {s.pk for s in sensors}
            wrong = [str(s.pk) for s in scenes if s.sensor_id not in allowed]
            if wrong:
                self.add_error("scenes", f"scene(s) {', '.join(wrong)} are not of the project's sensors")
            if self.instance.pk:
                kept = {s.pk for s in scenes}
                dropped = [
                    str(pk) for pk in self.instance.scenes.values_list("pk", flat=True) if pk not in kept
                ]
                if dropped:
                    self.add_error(
                        "scenes", f"scene(s) {', '.join(dropped)} cannot be removed from a project"
                    )
        return cleaned


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    raw_id_fields = ("user",)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    form = ProjectForm
    list_display = ("id", "name", "task_type", "strategy", "chip_size", "overlap", "current_model_version")
    list_filter = ("task_type", "strategy")
    search_fields = ("name",)
    filter_horizontal = ("sensors", "scenes")
    inlines = [MembershipInline]

    def get_readonly_fields(self, request, obj=None):
        fixed = FIXED_AFTER_CREATION if obj is not None else ()
        return (*fixed, "current_model_version", "created_by")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        if change and "overlap" in form.changed_data:
            project_chip_states_refresh(project=obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        project = form.instance
        if not change and not project.memberships.filter(role=Role.MANAGER).exists():
            Membership.objects.create(project=project, user=request.user, role=Role.MANAGER)
        project_chips_sync(project=project)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ProjectChip)
class ProjectChipAdmin(ReadOnlyAdmin):
    list_display = ("id", "project", "chip", "state", "done_count", "is_validation", "score")
    list_filter = ("state", "is_validation", "project")


@admin.register(Lease)
class LeaseAdmin(ReadOnlyAdmin):
    list_display = ("id", "project", "project_chip", "user", "state", "leased_at", "expires_at", "strategy")
    list_filter = ("state", "project")


@admin.register(Annotation)
class AnnotationAdmin(ReadOnlyAdmin):
    list_display = ("id", "project", "project_chip", "author", "kind", "version", "model_version", "created")
    list_filter = ("kind", "project")
    exclude = ("mask_png",)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # nothing is lost: annotations are never deleted from the admin


@admin.register(RetrainRequest)
class RetrainRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "project", "requested_at", "state", "annotations_total", "reason")
    list_filter = ("state", "project")
