"""Model families by name. Listed explicitly: importing builds nothing."""

from __future__ import annotations

import difflib
import importlib

from automl.errors import ConfigError
from automl.families.base import Family, FamilyInfo

_FAMILIES = {
    "small_cnn": "automl.families.small_cnn:SmallCNN",
    "mobilenet_v3": "automl.families.mobilenet_v3:MobileNetV3",
    "efficientnet": "automl.families.efficientnet:EfficientNet",
    "bilstm": "automl.families.bilstm:BiLSTM",
    "bert": "automl.families.bert:Bert",
    "bag_of_ngrams": "automl.families.bag_of_ngrams:BagOfNgrams",
    "transformer": "automl.families.transformer:TransformerForecaster",
    "lstm": "automl.families.lstm:LSTMForecaster",
    "tcn": "automl.families.tcn:TCN",
    "unet": "automl.families.unet:UNet",
    "dcgan": "automl.families.dcgan:DCGAN",
    "pretrained_unet": "automl.families.pretrained_unet:PretrainedUNet",
    "retinanet": "automl.families.detection_backbones:RetinaNetResNet",
    "mobilenet_fpn": "automl.families.detection_backbones:MobileNetFPN",
}


def register_family(name: str, family) -> None:
    """Adds a family from outside automl: a `Family` subclass or a "module:Class" reference; the
    tasks it serves are its `info.tasks`."""
    if not name or not isinstance(name, str):
        raise ConfigError(f"register_family: expected a family name. Received: name={name!r}")
    _FAMILIES[name] = family


def family_names(task: str | None = None) -> list[str]:
    names = sorted(_FAMILIES)
    return [n for n in names if task is None or task in get_family(n).info.tasks]


def get_family(name: str) -> Family:
    if name not in _FAMILIES:
        close = difflib.get_close_matches(name, list(_FAMILIES), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"Unknown family.{hint} Received: family={name!r}; known: {', '.join(sorted(_FAMILIES))}")
    family = _FAMILIES[name]
    if isinstance(family, str):
        module, cls = family.split(":")
        family = getattr(importlib.import_module(module), cls)
    return family()


__all__ = ["Family", "FamilyInfo", "family_names", "get_family", "register_family"]
