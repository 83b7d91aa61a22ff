"""Label maps of a task: which mask values are which output channel, and which the loss ignores.

A multi-class model is trained from 8-bit masks whose pixels hold the task's label values
(0 = background). The label-map file (`train --label-map FILE`) names them:

    {"labels": [{"value": 1, "name": "Thyroid lobe", ...}, ...], "ignoreValues": [5],
     "task": {...}}

Channel 0 is background and channel k+1 is labels[k]. A pixel whose value is in `ignoreValues`
(a retired label), is not listed, or is 255 (IGNORE_VALUE: "not labelled", for a reader who
labels only part of an image or of a volume's slices) is left out of the loss and the metrics:
it is never taught as background. Values need not be contiguous; a retired label keeps its
value reserved."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

# Mask value meaning "not labelled" in a multi-class mask; also the class index the loss ignores.
IGNORE_VALUE = 255
IGNORE_INDEX = 255


class LabelMapError(ValueError):
    pass


@dataclass(frozen=True)
class Label:
    value: int
    name: str
    extra: dict = field(default_factory=dict)  # colour, codes, ...: passed through to model.json's task


@dataclass(frozen=True)
class LabelMap:
    """Ordered foreground labels of a task; classes = len(labels) + 1 (background first)."""

    labels: tuple[Label, ...]
    ignore_values: tuple[int, ...] = ()
    task: Optional[dict] = None

    @property
    def classes(self) -> int:
        return len(self.labels) + 1

    @property
    def names(self) -> list[str]:
        return [lab.name for lab in self.labels]

    @property
    def values(self) -> list[int]:
        return [lab.value for lab in self.labels]

    def lookup(self) -> np.ndarray:
        """uint8[256]: mask value → class index (0 background, k+1 for labels[k]) or IGNORE_INDEX
        for ignored, unlisted and 'not labelled' (255) values."""
        lut = np.full(256, IGNORE_INDEX, dtype=np.uint8)
        lut[0] = 0
        for k, lab in enumerate(self.labels):
            lut[lab.value] = k + 1
        return lut


def parse_label_map(obj: Any) -> LabelMap:
    """Validates the label-map JSON object; raises LabelMapError with a reader's wording."""
    if not isinstance(obj, dict) or not isinstance(obj.get("labels"), list) or not obj["labels"]:
        raise LabelMapError('the label map must be an object with a non-empty "labels" list')
    labels, seen_values, seen_names = [], set(), set()
    for item in obj["labels"]:
        if not isinstance(item, dict):
            raise LabelMapError("each label must be an object with a value and a name")
        value, name = item.get("value"), item.get("name")
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 254:
            raise LabelMapError(f"label value {value!r} must be an integer from 1 to 254 (0 is background, 255 not labelled)")
        if not isinstance(name, str) or not name.strip():
            raise LabelMapError(f"label {value} has no name")
        if value in seen_values:
            raise LabelMapError(f"label value {value} is used twice")
        if name in seen_names:
            raise LabelMapError(f"label name {name!r} is used twice")
        seen_values.add(value)
        seen_names.add(name)
        labels.append(Label(value=value, name=name, extra={k: v for k, v in item.items() if k not in ("value", "name")}))
    ignore = obj.get("ignoreValues", [])
    if not isinstance(ignore, list) or not all(isinstance(v, int) and 0 < v < 256 for v in ignore):
        raise LabelMapError('"ignoreValues" must be a list of mask values from 1 to 255')
    clash = sorted(set(ignore) & seen_values)
    if clash:
        raise LabelMapError(f"values {clash} are both labels and ignored")
    task = obj.get("task")
    if task is not None and not isinstance(task, dict):
        raise LabelMapError('"task" must be an object')
    return LabelMap(labels=tuple(labels), ignore_values=tuple(ignore), task=task)


def read_label_map(path: str) -> LabelMap:
    """Reads and validates a label-map JSON file (format in the module docstring)."""
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise LabelMapError(f"cannot read the label map {path}: {e}") from e
    return parse_label_map(obj)


def label_map_from_manifest(manifest: Optional[dict]) -> Optional[LabelMap]:
    """The label map a multi-class model.json describes (output.values + labels), else None."""
    if not manifest or manifest.get("output", {}).get("activation") != "softmax":
        return None
    out = manifest["output"]
    labels = tuple(Label(value=int(v), name=n) for v, n in zip(out["values"], out["labels"]))
    return LabelMap(labels=labels, task=manifest.get("task"))
