"""Trained-model artifacts: ``models/<name>/<UTC timestamp>/{model.joblib,metadata.json}``.

An artifact is written into a hidden temporary directory and renamed into
place only when complete; ``latest`` (a symlink) is then switched atomically.
A failed or interrupted run therefore never damages an existing artifact or
the ``latest`` pointer.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
from pydantic import BaseModel, ValidationError

from . import __version__
from ._io import move_into_place
from .config import Config, config_from_saved
from .data import MarketData
from .errors import ModelError
from .pipeline import RegimeModel

__all__ = ["save_artifact", "load_artifact", "resolve_model_path", "build_metadata", "state_maps"]

log = logging.getLogger(__name__)

MODEL_FILE = "model.joblib"
META_FILE = "metadata.json"


def build_metadata(model: RegimeModel, data: MarketData) -> dict[str, Any]:
    """Everything needed to audit an artifact: version, config, data, features, names, fit."""
    return {
        "package_version": __version__,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": model.config.model_dump(mode="json"),
        "data": {
            "source": str(data.source),
            "start": str(data.dates[0].date()),
            "end": str(data.dates[-1].date()),
            "n_days": int(len(data.dates)),
            "sha256": data.data_hash(),
            "files": data.files,
        },
        "trained_from": str(model.trained_from.date()),
        "trained_through": str(model.trained_through.date()),
        "features": list(model.feature_names),
        "profile_features": list(model.profile_names),
        "state_map": state_maps(model),
        "regimes": model.regime_names,
        "diagnostics": model.diagnostics,
    }


def state_maps(model: RegimeModel) -> dict[str, dict[str, str]]:
    """Component label ('hmm', or 'hmm', 'jump', ... in an ensemble) -> {state: regime id}."""
    out: dict[str, dict[str, str]] = {}
    for comp in model.components:
        key, n = comp.config.kind, 2
        while key in out:
            key, n = f"{comp.config.kind}#{n}", n + 1
        out[key] = {str(k): v for k, v in comp.state_map.items()}
    return out


def save_artifact(model: RegimeModel, metadata: dict[str, Any], models_dir: str | Path, name: str) -> Path:
    """Write an artifact atomically and point ``latest`` at it.

    Returns
    -------
    Path
        The new artifact directory.
    """
    base = Path(models_dir) / name
    base.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    final = base / stamp
    i = 1
    while final.exists():
        final = base / f"{stamp}-{i}"
        i += 1
    tmp = base / f".tmp-{final.name}-{os.getpid()}"
    try:
        tmp.mkdir()
        joblib.dump(model, tmp / MODEL_FILE)
        (tmp / META_FILE).write_text(json.dumps(metadata, indent=2, default=str) + "\n")
        move_into_place(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    link_tmp = base / f".latest-{os.getpid()}"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    link_tmp.symlink_to(final.name)
    move_into_place(link_tmp, base / "latest")
    log.info("saved artifact %s", final)
    return final


def resolve_model_path(model: str | Path | None, models_dir: str | Path, name: str) -> Path:
    """The artifact directory to load: ``model`` if given, else ``<models_dir>/<name>/latest``.

    ``model`` may be an artifact directory or a ``model.joblib`` file.
    """
    if model is not None:
        p = Path(model)
        return p.parent if p.name == MODEL_FILE else p
    return Path(models_dir) / name / "latest"


def _current_config(saved: BaseModel) -> Config:
    """An artifact's config as this version's ``Config``.

    Every value the artifact was saved with is kept; fields added since (new
    feature windows, new sections) take their defaults, so an older model
    scores with exactly the features and settings it was trained with. Model
    settings its kind never read (older versions saved every kind's) are
    dropped (:func:`regime.config.config_from_saved`).
    """

    def plain(v: Any) -> Any:
        if isinstance(v, BaseModel):
            return {k: plain(x) for k, x in vars(v).items()}
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v

    return config_from_saved(plain(saved))


def load_artifact(path: str | Path) -> tuple[RegimeModel, dict[str, Any]]:
    """Load a model and its metadata.

    Raises
    ------
    ModelError
        Missing or corrupt ``model.joblib`` / ``metadata.json``.
    """
    path = Path(path)
    mfile = path / MODEL_FILE
    if not mfile.is_file():
        raise ModelError(f"model file {mfile} not found; train one with `regime train` or pass --model PATH")
    try:
        model = joblib.load(mfile)
    except Exception as exc:
        raise ModelError(
            f"model file {mfile} is corrupt or unreadable ({type(exc).__name__}); retrain with `regime train`"
        ) from None
    if not isinstance(model, RegimeModel):
        raise ModelError(f"model file {mfile} does not hold a regime model; retrain with `regime train`")
    try:
        model.config = _current_config(model.config)
    except ValidationError as exc:
        raise ModelError(
            f"model file {mfile} was saved with a config this version cannot read "
            f"({exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}); retrain with `regime train`"
        ) from None
    meta_file = path / META_FILE
    try:
        metadata = json.loads(meta_file.read_text())
    except FileNotFoundError:
        raise ModelError(f"{meta_file} not found beside the model; retrain with `regime train`") from None
    except json.JSONDecodeError:
        raise ModelError(f"{meta_file} is corrupt (not JSON); retrain with `regime train`") from None
    return model, metadata
