"""Locust users for the soak (``bench_soak``), run by the ``locust`` command in its own process (gevent patches
that process only). Not Django code: it reads a plan written by ``eolabel.benchmarks.soak`` (project id, one
session cookie per annotator) and writes one JSON line per submission it was answered for, which the soak
checks against the database afterwards.

Each user loops: ``tasks/next`` -> two map tiles around the chip -> think -> submit a mask; sometimes it sends
the same submission again (a client that never saw the answer), sometimes it skips the task instead."""

import base64
import io
import itertools
import json
import random
import threading
import time
import uuid
from pathlib import Path

import morecantile
import numpy as np
from locust import FastHttpUser, between, events, task
from PIL import Image

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
TILE_ZOOM = 14
_plan: dict = {}
_slots = itertools.count()
_log_lock = threading.Lock()


@events.init_command_line_parser.add_listener
def _arguments(parser) -> None:
    parser.add_argument("--soak-plan", type=str, default="", help="JSON plan written by bench_soak")


@events.test_start.add_listener
def _load_plan(environment, **_: object) -> None:
    _plan.update(json.loads(Path(environment.parsed_options.soak_plan).read_text()))


def _mask_png(width: int, height: int, rng: random.Random) -> str:
    values = np.array(_plan["class_values"], dtype=np.uint8)
    seeded = np.random.default_rng(rng.randrange(2**32))
    image = Image.fromarray(values[seeded.integers(0, len(values), size=(height, width))])
    out = io.BytesIO()
    image.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


class Annotator(FastHttpUser):
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        slot = next(_slots) % len(_plan["cookies"])
        self.rng = random.Random(slot)
        self.cookie, self.csrf = _plan["cookies"][slot], uuid.uuid4().hex
        self.headers = {
            "Cookie": f"{_plan['session_cookie']}={self.cookie}; {_plan['csrf_cookie']}={self.csrf}",
            "X-CSRFToken": self.csrf,
            "Content-Type": "application/json",
        }
        self.log = Path(_plan["log_dir"]) / f"user-{slot}-{uuid.uuid4().hex[:6]}.jsonl"

    @task
    def label_one_chip(self) -> None:
        with self.client.post(
            f"/api/projects/{_plan['project']}/tasks/next", headers=self.headers, name="next",
            catch_response=True,
        ) as answer:  # fmt: skip
            if answer.status_code != 200:
                answer.failure(f"HTTP {answer.status_code}")
                return
            task_ = answer.json()["task"]
        if task_ is None:
            return
        held_from = time.time()  # the client holds the chip from here until it sends its submit or skip
        self._tiles(task_)
        if self.rng.random() < _plan["skip_share"]:
            self._held(task_, held_from)
            self.client.post(
                f"/api/tasks/{task_['id']}/skip", json={"reason": "soak: skipped"}, headers=self.headers,
                name="skip",
            )  # fmt: skip
            return
        chip = task_["chip"]
        body = {
            "submission_id": str(uuid.uuid4()),
            "seconds_spent": round(self.rng.uniform(5, 60), 1),
            "mask_png": _mask_png(chip["width"], chip["height"], self.rng),
        }
        self._held(task_, held_from)
        self._submit(task_, body, name="submit")
        while self.rng.random() < _plan["retry_share"]:
            self._submit(task_, body, name="submit-retry")

    def _tiles(self, task_: dict) -> None:
        west, south, east, north = task_["chip"]["bounds"] or (0, 0, 0, 0)
        centre = WEB_MERCATOR.tile((west + east) / 2, (south + north) / 2, TILE_ZOOM)
        for x in (centre.x, centre.x + 1):
            url = task_["tile_url"].format(z=centre.z, x=x, y=centre.y)
            with self.client.get(url, headers=self.headers, name="tile", catch_response=True) as answer:
                if answer.status_code == 404 and x != centre.x:
                    answer.success()  # the neighbour of an edge chip's tile can lie outside the scene

    def _held(self, task_: dict, held_from: float) -> None:
        self._write({"held": task_["id"], "chip": task_["chip"]["id"], "from": held_from, "to": time.time()})

    def _write(self, record: dict) -> None:
        with _log_lock, self.log.open("a") as out:
            out.write(json.dumps(record) + "\n")

    def _submit(self, task_: dict, body: dict, *, name: str) -> None:
        with self.client.post(
            f"/api/tasks/{task_['id']}/annotations", data=json.dumps(body), headers=self.headers, name=name,
            catch_response=True,
        ) as answer:  # fmt: skip
            record = {"submission": body["submission_id"], "task": task_["id"], "status": answer.status_code}
            if answer.status_code in (200, 201):
                record["annotation"] = answer.json()["id"]
            elif answer.status_code == 409 and name == "submit":
                answer.success()  # the lease expired while the user was away: a valid, checked answer
            self._write(record)
