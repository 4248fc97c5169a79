"""Project writes: create and update projects, add scenes (and so chips), members, and the switch to a new
model version's ranking."""

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from eolabel.archive.errors import ArchiveError
from eolabel.archive.models import Chip, Scene, Sensor
from eolabel.archive.selectors import scenes_visible_to
from eolabel.archive.services import chips_ensure
from eolabel.labelling.classes import classes_validate
from eolabel.labelling.errors import LastManager, NotFound, ProjectInvalid
from eolabel.labelling.models import Lease, Membership, Project, ProjectChip, Role, TaskType
from eolabel.labelling.permissions import Action, role_allows
from eolabel.labelling.services._db import write_lock
from eolabel.ranking.models import ChipScore, Strategy

UPDATABLE = frozenset(
    {"name", "description", "classes", "strategy", "retrain_every_n", "retrain_min_interval_minutes", "overlap",
     "sensors", "scenes", "show_reference_to_annotators"}
)  # fmt: skip


# --- deterministic per-chip draws ------------------------------------------------------------------------


def _hash64(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()[:8], "big")


def chip_cold_key(*, project_id: int, chip_id: int) -> int:
    """The chip's place in the cold-start order: a deterministic shuffle (the random baseline)."""
    return _hash64("cold", project_id, chip_id) >> 1  # fits a signed 64-bit column


def chip_is_validation(*, project_id: int, chip_id: int, fraction: float) -> bool:
    """Held out for evaluation? A uniform draw from (project, chip), salted apart from the cold-start order so the
    first chips served are not all of one split."""
    return _hash64("split", project_id, chip_id) / 2**64 < fraction


# --- projects --------------------------------------------------------------------------------------------


def project_create(
    *,
    name: str,
    task_type: str,
    classes: Any,
    sensor_names: Iterable[str],
    scene_ids: Iterable[int] = (),
    created_by: AbstractBaseUser,
    description: str = "",
    chip_size: int | None = None,
    strategy: str = Strategy.ENTROPY,
    retrain_every_n: int = 50,
    retrain_min_interval_minutes: int = 10,
    validation_fraction: float = 0.1,
    overlap: int = 1,
) -> Project:
    """A new project with its creator as manager; the scenes' chips (cut at ``chip_size`` if not yet) join
    its queue. Raises an InvalidInput subclass naming the field; then nothing is stored."""
    if task_type not in TaskType.values:
        raise ProjectInvalid(f"must be one of {', '.join(TaskType.values)}", field="task_type")
    if strategy not in Strategy.values:
        raise ProjectInvalid(f"must be one of {', '.join(Strategy.values)}", field="strategy")
    chip_size = chip_size or settings.EOLABEL_CHIP_SIZE
    _check_range("chip_size", chip_size, 16, 4096)
    _check_range("overlap", overlap, 1, 10)
    _check_range("validation_fraction", validation_fraction, 0.0, 0.5)
    _check_range("retrain_every_n", retrain_every_n, 1, 10**6)
    _check_range("retrain_min_interval_minutes", retrain_min_interval_minutes, 0, 10**6)
    clean_classes = classes_validate(classes)
    sensors = _sensors(sensor_names)
    scenes = _scenes(scene_ids, sensors)
    with transaction.atomic():
        write_lock()
        project = Project.objects.create(
            name=name,
            description=description,
            task_type=task_type,
            classes=clean_classes,
            chip_size=chip_size,
            strategy=strategy,
            retrain_every_n=retrain_every_n,
            retrain_min_interval_minutes=retrain_min_interval_minutes,
            validation_fraction=validation_fraction,
            overlap=overlap,
            created_by=created_by,
        )
        project.sensors.set(sensors)
        Membership.objects.create(project=project, user=created_by, role=Role.MANAGER)
        _scenes_add(project, scenes)
    return project


def project_update(*, project: Project, changes: Mapping[str, Any], changed_by: Any = None) -> Project:
    """Change the settings in ``changes`` (keys from UPDATABLE). Sensors and scenes can only be added; class
    values can be added, renamed and recoloured but not removed. Changing ``overlap`` re-opens or closes chips.
    With ``changed_by``, added scenes must be ones that user may see (``scenes_visible_to``): a manager cannot
    pull another project's scene into theirs to read it; an unseen id reads "no scene", like a missing one."""
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ProjectInvalid("cannot be changed", field=sorted(unknown)[0])
    if "classes" in changes:
        clean = classes_validate(changes["classes"])
        missing = project.class_values - {c["value"] for c in clean}
        if missing:
            raise ProjectInvalid(
                f"class value(s) {', '.join(map(str, sorted(missing)))} cannot be removed", field="classes"
            )
        changes = {**changes, "classes": clean}
    if "strategy" in changes and changes["strategy"] not in Strategy.values:
        raise ProjectInvalid(f"must be one of {', '.join(Strategy.values)}", field="strategy")
    if "overlap" in changes:
        _check_range("overlap", changes["overlap"], 1, 10)
    sensors = list(project.sensors.all())
    if "sensors" in changes:
        added = _sensors(changes["sensors"])
        dropped = {s.name for s in sensors} - {s.name for s in added}
        if dropped:
            raise ProjectInvalid(f"sensor(s) {', '.join(sorted(dropped))} cannot be removed", field="sensors")
        sensors = added
    scenes: list[Scene] = []
    if "scenes" in changes:
        among = scenes_visible_to(user=changed_by) if changed_by is not None else None
        scenes = _scenes(changes["scenes"], sensors, among=among)
        dropped_ids = set(project.scenes.values_list("pk", flat=True)) - {s.pk for s in scenes}
        if dropped_ids:
            shown = ", ".join(map(str, sorted(dropped_ids)))
            raise ProjectInvalid(f"scene(s) {shown} cannot be removed from a project", field="scenes")
    with transaction.atomic():
        write_lock()
        fields = [k for k in changes if k not in ("sensors", "scenes")]
        for key in fields:
            setattr(project, key, changes[key])
        if fields:
            project.save(update_fields=fields)
        if "sensors" in changes:
            project.sensors.set(sensors)
        if scenes:
            _scenes_add(project, scenes)
        if "overlap" in changes:
            project_chip_states_refresh(project=project)
    return project


def project_scenes_add(*, project: Project, scene_ids: Iterable[int]) -> int:
    """Add scenes (of the project's sensors) and their chips; returns how many chips joined the queue."""
    scenes = _scenes(scene_ids, list(project.sensors.all()))
    with transaction.atomic():
        write_lock()
        return _scenes_add(project, scenes)


def project_chips_sync(*, project: Project) -> int:
    """Make sure every scene of the project has its chips in the queue (the admin saves scenes itself)."""
    with transaction.atomic():
        write_lock()
        return _scenes_add(project, list(project.scenes.all()))


def project_chip_states_refresh(*, project: Project) -> None:
    """After ``overlap`` changed: chips annotated fewer times re-open, chips annotated enough close."""
    chips = ProjectChip.objects.filter(project=project)
    chips.filter(state=ProjectChip.State.DONE, done_count__lt=project.overlap).update(
        state=ProjectChip.State.AVAILABLE
    )
    chips.filter(state=ProjectChip.State.AVAILABLE, done_count__gte=project.overlap).update(
        state=ProjectChip.State.DONE
    )


def project_ranking_activate(*, project: Project, model_version: str) -> int:
    """Rank the queue by ``model_version``'s ChipScores from now on (the second half calls this when a scoring
    pass has finished). Scores are copied into the project's chips in one transaction, so annotators never
    see half a pass; chips without a score for the version go after the scored ones, in cold-start order.
    Returns how many chips got a score."""
    scores = ChipScore.objects.filter(project=project, model_version=model_version, chip=OuterRef("chip"))
    with transaction.atomic():
        write_lock()
        if not ChipScore.objects.filter(project=project, model_version=model_version).exists():
            raise ProjectInvalid(f"no chip scores for model version {model_version!r}", field="model_version")
        ProjectChip.objects.filter(project=project).update(
            score=Subquery(scores.values("score")[:1]), rank=Subquery(scores.values("rank")[:1])
        )
        Project.objects.filter(pk=project.pk).update(current_model_version=model_version)
        project.current_model_version = model_version
        return ProjectChip.objects.filter(project=project, score__isnull=False).count()


def _check_range(field: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ProjectInvalid(f"must be between {low} and {high}", field=field)


def _sensors(names: Iterable[str]) -> list[Sensor]:
    wanted = list(dict.fromkeys(names))
    if not wanted:
        raise ProjectInvalid("at least one sensor is required", field="sensors")
    found = {s.name: s for s in Sensor.objects.filter(name__in=wanted)}
    unknown = [n for n in wanted if n not in found]
    if unknown:
        raise ProjectInvalid(f"no sensor named {unknown[0]!r}", field="sensors")
    return [found[n] for n in wanted]


def _scenes(
    ids: Iterable[int], sensors: list[Sensor], *, among: QuerySet[Scene] | None = None
) -> list[Scene]:
    wanted = list(dict.fromkeys(ids))
    scenes = Scene.objects.all() if among is None else among
    found = {s.pk: s for s in scenes.filter(pk__in=wanted).select_related("sensor")}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise ProjectInvalid(f"no scene with id {missing[0]}", field="scenes")
    allowed = {s.pk for s in sensors}
    for scene_id in wanted:
        scene = found[scene_id]
        if scene.sensor_id not in allowed:
            raise ProjectInvalid(
                f"scene {scene_id} is from sensor {scene.sensor.name!r}, not one of the project's sensors",
                field="scenes",
            )
    return [found[i] for i in wanted]


def _scenes_add(project: Project, scenes: list[Scene]) -> int:
    for scene in scenes:
        try:
            chips_ensure(scene=scene, size=project.chip_size)
        except ArchiveError as exc:
            raise ProjectInvalid(f"scene {scene.pk}: {exc}", field="scenes") from exc
    project.scenes.add(*scenes)
    chip_ids = Chip.objects.filter(scene__in=scenes, size=project.chip_size).values_list("pk", flat=True)
    before = ProjectChip.objects.filter(project=project).count()
    ProjectChip.objects.bulk_create(
        [
            ProjectChip(
                project=project,
                chip_id=chip_id,
                cold_key=chip_cold_key(project_id=project.pk, chip_id=chip_id),
                is_validation=chip_is_validation(
                    project_id=project.pk, chip_id=chip_id, fraction=project.validation_fraction
                ),
                state=ProjectChip.State.AVAILABLE,
            )
            for chip_id in chip_ids
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    return ProjectChip.objects.filter(project=project).count() - before


# --- members ---------------------------------------------------------------------------------------------


def membership_set(*, project: Project, user: AbstractBaseUser, role: str) -> tuple[Membership, bool]:
    """Give ``user`` the role (replacing any other role in the project); returns (membership, created).
    A user who can no longer annotate loses their active lease; the last manager cannot step down."""
    if role not in Role.values:
        raise ProjectInvalid(f"must be one of {', '.join(Role.values)}", field="role")
    with transaction.atomic():
        write_lock()
        Project.objects.select_for_update().filter(
            pk=project.pk
        ).first()  # serialises role changes per project
        current = Membership.objects.filter(project=project, user=user).first()
        if current is not None and current.role == Role.MANAGER and role != Role.MANAGER:
            _keep_a_manager(project, leaving=current)
        if current is None:
            return Membership.objects.create(project=project, user=user, role=role), True
        current.role = role
        current.save(update_fields=["role"])
        if not role_allows(role=role, action=Action.ANNOTATE):
            _leases_release(project, user)
        return current, False


def membership_remove(*, project: Project, user: AbstractBaseUser) -> None:
    """Take away the user's role; their active lease (if any) goes back to the pool."""
    with transaction.atomic():
        write_lock()
        Project.objects.select_for_update().filter(pk=project.pk).first()
        current = Membership.objects.filter(project=project, user=user).first()
        if current is None:
            raise NotFound(f"{user.get_username()} has no role in this project", field="user")
        if current.role == Role.MANAGER:
            _keep_a_manager(project, leaving=current)
        _leases_release(project, user)
        current.delete()


def _keep_a_manager(project: Project, *, leaving: Membership) -> None:
    others = Membership.objects.filter(project=project, role=Role.MANAGER).exclude(pk=leaving.pk)
    if not others.exists():
        raise LastManager("a project keeps at least one manager: name another manager first")


def _leases_release(project: Project, user: AbstractBaseUser) -> None:
    active = Lease.objects.filter(project=project, user=user, state=Lease.State.ACTIVE)
    chip_ids = list(active.values_list("project_chip_id", flat=True))
    active.update(state=Lease.State.EXPIRED, ended_at=timezone.now())
    ProjectChip.objects.filter(pk__in=chip_ids, state=ProjectChip.State.LEASED).update(
        state=ProjectChip.State.AVAILABLE
    )
