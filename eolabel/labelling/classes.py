"""A project's class list: ``[{"value": 0..254, "name": str, "colour": "#rrggbb"}]``; 255 means unlabelled."""

import re
from typing import Any

from eolabel.labelling.errors import ClassListInvalid

IGNORE_VALUE = 255
MAX_CLASSES = 32
MAX_NAME_LENGTH = 64
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")

# The class lists of the demo archive's ground truth (its mask values and its vehicle boxes): the demo projects,
# the benchmarks and the training tests label with these.
DEMO_CLOUD_CLASSES = [
    {"value": 0, "name": "clear", "colour": "#2e7d32"},
    {"value": 1, "name": "thick cloud", "colour": "#ffffff"},
    {"value": 2, "name": "thin cloud", "colour": "#b0bec5"},
    {"value": 3, "name": "cloud shadow", "colour": "#37474f"},
    {"value": 4, "name": "snow", "colour": "#81d4fa"},
]
DEMO_VEHICLE_CLASSES = [{"value": 0, "name": "vehicle", "colour": "#ff6f00"}]


def classes_validate(raw: Any) -> list[dict[str, Any]]:
    """The class list, cleaned (names stripped, colours lowercased), or ClassListInvalid naming the entry."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_CLASSES:
        raise ClassListInvalid(f"a list of 1 to {MAX_CLASSES} classes is required", field="classes")
    clean: list[dict[str, Any]] = []
    seen: set[int] = set()
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict) or set(entry) != {"value", "name", "colour"}:
            raise ClassListInvalid(f"[{i}]: needs exactly the keys value, name, colour", field="classes")
        value, name, colour = entry["value"], entry["name"], entry["colour"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < IGNORE_VALUE:
            raise ClassListInvalid(
                f"[{i}]: value must be an integer 0..254 (255 is unlabelled)", field="classes"
            )
        if value in seen:
            raise ClassListInvalid(f"[{i}]: value {value} is used twice", field="classes")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME_LENGTH:
            raise ClassListInvalid(f"[{i}]: name must be 1 to {MAX_NAME_LENGTH} characters", field="classes")
        if not isinstance(colour, str) or not COLOUR.match(colour):
            raise ClassListInvalid(f"[{i}]: colour must look like #rrggbb", field="classes")
        seen.add(value)
        clean.append({"value": value, "name": name.strip(), "colour": colour.lower()})
    return clean
