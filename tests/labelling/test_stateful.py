"""A stateful property test of the queue through the REST API: several annotators lease, submit (and retry with
the same submission id), skip, let leases expire, edit their annotations, while a manager promotes new model
versions (``project_ranking_activate`` with fresh ChipScore rows). A model of what the clients were told is
checked against the database after every step:

- no chip is leased twice at once, and a chip is ``leased`` exactly while it has one active lease;
- no annotation is lost or duplicated: every 201 is one row, a retry with the same submission id returns it;
- annotation versions only grow, one revision row per replaced version;
- every lease records the model version that ranked its chip (empty before the first promotion);
- skipped and expired chips go back to the pool; done counts match the annotations.

Runs per CI: EOLABEL_STATEFUL_RUNS (default 25); e.g. ``EOLABEL_STATEFUL_RUNS=500`` for a long hunt."""

import os
import uuid
from collections import Counter
from datetime import timedelta

import numpy as np
import pytest
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from eolabel.labelling import services
from eolabel.labelling.models import Annotation, AnnotationRevision, Lease, ProjectChip
from eolabel.ranking.models import ChipScore, Strategy
from tests.labelling.factories import add_member, client_for, make_project, make_scene, make_user, png_b64

RUNS = int(os.environ.get("EOLABEL_STATEFUL_RUNS", "25"))
STEPS = int(os.environ.get("EOLABEL_STATEFUL_STEPS", "25"))
ANNOTATORS = 3
CHIP = 32


def _mask(seed: int) -> str:
    return png_b64(np.random.default_rng(seed).integers(0, 3, size=(CHIP, CHIP), dtype=np.uint8))


class QueueMachine(RuleBasedStateMachine):
    """One run: a fresh project inside a savepoint that is rolled back at teardown."""

    manager = None
    users: list = []
    clients: list = []

    def __init__(self) -> None:
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self.project = None
        self.version = ""  # the model version ranking the queue, "" before the first promotion
        self.scored: set[int] = set()  # archive chip ids with a score for self.version
        self.promotions = 0
        self.active: dict[int, dict] = {}  # annotator -> {"task", "chip", "submission"}
        self.chip_of_task: dict[int, int] = {}
        self.lease_version: dict[int, str] = {}  # task id -> model version it must record
        self.annotations: dict[str, dict] = {}  # submission id -> {"id", "who", "chip", "version"}
        self.ended: set[int] = set()  # archive chip ids of skipped or expired leases
        self.stale: set[int] = set()  # chips of leases past their time that nothing has expired yet
        self.excluded: dict[int, set[int]] = {i: set() for i in range(ANNOTATORS)}  # chips each may not take

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    # --- setup -------------------------------------------------------------------------------------------

    @initialize(overlap=st.integers(1, 2), rows=st.integers(1, 3))
    def create_project(self, overlap: int, rows: int) -> None:
        scene = make_scene(width=2 * CHIP, height=rows * CHIP)
        self.project = make_project(manager=self.manager, scenes=[scene], chip_size=CHIP, overlap=overlap)
        self.project.retrain_every_n = 1_000_000
        self.project.save(update_fields=["retrain_every_n"])
        for user in self.users:
            add_member(self.project, user, "annotator")
        self.overlap = overlap
        self.chips = list(ProjectChip.objects.filter(project=self.project).values_list("chip_id", flat=True))

    # --- rules -------------------------------------------------------------------------------------------

    @rule(who=st.integers(0, ANNOTATORS - 1))
    def next_task(self, who: int) -> None:
        answer = self._post(who, f"/api/projects/{self.project.pk}/tasks/next")
        assert answer.status_code == 200, answer.content
        self._stale_returned()  # "next" expires the project's stale leases first
        body = answer.json()
        task = body["task"]
        held = self.active.get(who)
        if held is not None:
            assert task is not None and task["id"] == held["task"] and body["resumed"], body
            return
        if task is None:
            open_for_me = self._open_chips() - self.excluded[who]
            assert not open_for_me, (body, open_for_me)
            return
        chip = task["chip"]["id"]
        assert not body["resumed"]
        assert chip not in {a["chip"] for a in self.active.values()}, "a chip leased twice at once"
        assert chip not in self.excluded[who], "a chip served again to someone who annotated or skipped it"
        expected = self.version if chip in self.scored else ""
        assert (task["ranking"]["model_version"] or "") == expected, (task["ranking"], expected)
        self.active[who] = {"task": task["id"], "chip": chip, "submission": str(uuid.uuid4())}
        self.chip_of_task[task["id"]] = chip
        self.lease_version[task["id"]] = expected
        self.ended.discard(chip)

    @precondition(lambda self: self.active)
    @rule(data=st.data(), retries=st.integers(0, 2))
    def submit(self, data: st.DataObject, retries: int) -> None:
        who = data.draw(st.sampled_from(sorted(self.active)))
        held = self.active.pop(who)
        body = {"submission_id": held["submission"], "seconds_spent": 2.0, "mask_png": _mask(held["task"])}
        url = f"/api/tasks/{held['task']}/annotations"
        first = self._post(who, url, body)
        assert first.status_code == 201, first.content
        stored = first.json()
        assert stored["version"] == 1
        assert (stored["provenance"]["model_version"] or "") == self.lease_version[held["task"]]
        self.annotations[held["submission"]] = {
            "id": stored["id"], "task": held["task"], "who": who, "chip": held["chip"], "version": 1
        }  # fmt: skip
        self.excluded[who].add(held["chip"])
        for _ in range(retries):  # a client that never saw the 201 sends the same body again
            again = self._post(who, url, body)
            assert again.status_code == 200 and again.json()["id"] == stored["id"], again.content

    @precondition(lambda self: self.annotations)
    @rule(data=st.data())
    def retry_late(self, data: st.DataObject) -> None:
        """A retry long after the lease ended still answers the first annotation."""
        submission = data.draw(st.sampled_from(sorted(self.annotations)))
        known = self.annotations[submission]
        body = {"submission_id": submission, "seconds_spent": 2.0, "mask_png": _mask(known["task"])}
        again = self._post(known["who"], f"/api/tasks/{known['task']}/annotations", body)
        assert again.status_code == 200 and again.json()["id"] == known["id"], again.content

    @precondition(lambda self: self.active)
    @rule(data=st.data())
    def skip(self, data: st.DataObject) -> None:
        who = data.draw(st.sampled_from(sorted(self.active)))
        held = self.active.pop(who)
        answer = self._post(who, f"/api/tasks/{held['task']}/skip", {"reason": "too cloudy to tell"})
        assert answer.status_code == 200 and answer.json()["state"] == "skipped", answer.content
        self.excluded[who].add(held["chip"])
        self.ended.add(held["chip"])

    @precondition(lambda self: self.active)
    @rule(data=st.data(), reap=st.booleans())
    def expire(self, data: st.DataObject, reap: bool) -> None:
        """Time passes for one lease; the reaper runs, or the next "next" returns the chip lazily."""
        who = data.draw(st.sampled_from(sorted(self.active)))
        held = self.active.pop(who)
        Lease.objects.filter(pk=held["task"]).update(expires_at=timezone.now() - timedelta(seconds=1))
        self.stale.add(held["chip"])
        if reap:
            assert services.leases_expire(project=self.project) == len(self.stale)
            self._stale_returned()
        late = self._post(
            who,
            f"/api/tasks/{held['task']}/annotations",
            {"submission_id": str(uuid.uuid4()), "seconds_spent": 1.0, "mask_png": _mask(0)},
        )
        assert late.status_code == 409, late.content

    @precondition(lambda self: self.annotations)
    @rule(data=st.data(), stale=st.booleans())
    def edit(self, data: st.DataObject, stale: bool) -> None:
        submission = data.draw(st.sampled_from(sorted(self.annotations)))
        known = self.annotations[submission]
        version = known["version"] - 1 if stale and known["version"] > 1 else known["version"]
        answer = self._client(known["who"]).patch(
            f"/api/annotations/{known['id']}",
            {"version": version, "mask_png": _mask(known["version"] + 7)},
            content_type="application/json",
        )
        if version != known["version"]:
            assert answer.status_code == 409, answer.content
            return
        assert answer.status_code == 200 and answer.json()["version"] == version + 1, answer.content
        known["version"] = version + 1

    @rule(share=st.floats(0.0, 1.0), seed=st.integers(0, 2**16))
    def promote(self, share: float, seed: int) -> None:
        """A scoring pass of a new model version finished: rank the queue by it from now on."""
        self.promotions += 1
        version = f"m{self.promotions}"
        rng = np.random.default_rng(seed)
        scored = [c for c in self.chips if rng.random() < share] or self.chips[:1]
        ChipScore.objects.bulk_create(
            ChipScore(
                project=self.project,
                chip_id=c,
                model_version=version,
                strategy=Strategy.ENTROPY,
                score=float(rng.random()),
            )
            for c in scored
        )
        services.project_ranking_activate(project=self.project, model_version=version)
        self.version, self.scored = version, set(scored)

    # --- invariants --------------------------------------------------------------------------------------

    @invariant()
    def no_chip_leased_twice(self) -> None:
        if self.project is None:
            return
        leases = Lease.objects.filter(project=self.project)
        assert (
            not leases.filter(state="active").values("project_chip").annotate(n=Count("pk")).filter(n__gt=1)
        )
        leased = set(
            ProjectChip.objects.filter(project=self.project, state="leased").values_list("chip_id", flat=True)
        )
        assert leased == {a["chip"] for a in self.active.values()} | self.stale

    @invariant()
    def no_annotation_lost_or_duplicated(self) -> None:
        if self.project is None:
            return
        stored = dict(Annotation.objects.filter(project=self.project).values_list("submission_id", "pk"))
        assert {str(k): v for k, v in stored.items()} == {s: a["id"] for s, a in self.annotations.items()}

    @invariant()
    def versions_are_monotonic_with_a_revision_each(self) -> None:
        if not self.annotations:
            return
        rows = dict(Annotation.objects.filter(project=self.project).values_list("pk", "version"))
        revisions = Counter(
            AnnotationRevision.objects.filter(annotation__project=self.project).values_list(
                "annotation_id", flat=True
            )
        )
        for known in self.annotations.values():
            assert rows[known["id"]] == known["version"]
            assert revisions[known["id"]] == known["version"] - 1

    @invariant()
    def every_lease_records_the_version_that_ranked_it(self) -> None:
        if self.project is None:
            return
        recorded = dict(Lease.objects.filter(project=self.project).values_list("pk", "model_version"))
        assert recorded == self.lease_version
        copied = Annotation.objects.filter(project=self.project).exclude(
            model_version=F("lease__model_version")
        )
        assert not copied.exists(), "an annotation whose provenance differs from its lease"

    @invariant()
    def ended_chips_are_back_in_the_pool_and_done_counts_match(self) -> None:
        if self.project is None:
            return
        chips = {
            c.chip_id: c
            for c in ProjectChip.objects.filter(project=self.project).annotate(
                n=Count("annotations", distinct=True),
                active=Count("leases", filter=Q(leases__state="active"), distinct=True),
            )
        }
        for chip in chips.values():
            assert chip.done_count == chip.n
            expected = "leased" if chip.active else ("done" if chip.n >= self.overlap else "available")
            assert chip.state == expected, (chip.chip_id, chip.state, expected)
        for chip_id in self.ended:
            assert chips[chip_id].state in ("available", "done") and not chips[chip_id].active

    # --- helpers -----------------------------------------------------------------------------------------

    def _client(self, who: int):
        return self.clients[who]

    def _post(self, who: int, url: str, body: dict | None = None):
        return self._client(who).post(url, body or {}, content_type="application/json")

    def _stale_returned(self) -> None:
        self.ended |= self.stale
        self.stale.clear()

    def _open_chips(self) -> set[int]:
        done = Counter(a["chip"] for a in self.annotations.values())
        leased = {a["chip"] for a in self.active.values()}
        return {c for c in self.chips if done[c] < self.overlap and c not in leased}


@pytest.mark.django_db
def test_queue_invariants_hold_over_many_runs():
    QueueMachine.manager = make_user("boss", staff=True)
    QueueMachine.users = [make_user(f"annotator-{i}") for i in range(ANNOTATORS)]
    QueueMachine.clients = [client_for(u) for u in QueueMachine.users]

    run_state_machine_as_test(
        QueueMachine,
        settings=settings(
            max_examples=RUNS,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=RUNS <= 25,
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no slow "explain" tracing
        ),
    )
