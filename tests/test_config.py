"""Unit tests for book_utils.config: modes, offline flag, data directory, seeding, checks, setup."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from book_utils import config
from book_utils.config import CheckFailed, ConfigError


@pytest.fixture
def clean_env(monkeypatch):
    for var in ("BOOK_MODE", "BOOK_OFFLINE", "BOOK_DATA_DIR", "BOOK_RESULTS"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_mode_from_env_and_argument(clean_env):
    clean_env.setenv("BOOK_MODE", " Smoke ")
    assert config.get_mode() == "smoke"
    assert config.get_mode("full") == "full"


def test_default_mode_depends_on_cuda(clean_env):
    clean_env.setattr(config, "_cuda_available", lambda: False)
    assert config.get_mode() == "lite"
    clean_env.setattr(config, "_cuda_available", lambda: True)
    assert config.get_mode() == "full"


def test_unknown_mode_is_a_clear_error(clean_env):
    clean_env.setenv("BOOK_MODE", "fast")
    with pytest.raises(ConfigError, match="Unknown book mode 'fast'.*smoke, lite, full"):
        config.get_mode()


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("yes", True), ("0", False), ("", False)])
def test_offline_flag(clean_env, value, expected):
    clean_env.setenv("BOOK_OFFLINE", value)
    assert config.is_offline() is expected


def test_bad_offline_value(clean_env):
    clean_env.setenv("BOOK_OFFLINE", "maybe")
    with pytest.raises(ConfigError, match="BOOK_OFFLINE"):
        config.is_offline()


def test_data_dir_env_and_repo_default(clean_env, tmp_path, monkeypatch):
    clean_env.setenv("BOOK_DATA_DIR", str(tmp_path / "d"))
    assert config.data_dir() == (tmp_path / "d").resolve()
    assert (tmp_path / "d").is_dir()
    clean_env.delenv("BOOK_DATA_DIR")
    monkeypatch.chdir(tmp_path)  # the answer must not depend on the working directory
    assert config.data_dir(create=False) == config.repo_root() / "data"


def test_data_dir_falls_back_to_user_cache(clean_env, tmp_path):
    clean_env.setattr(config, "repo_root", lambda: None)
    clean_env.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert config.data_dir() == tmp_path / "book_utils" / "data"


def test_seed_everything_repeats():
    config.seed_everything(3)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    config.seed_everything(3)
    assert a == (random.random(), np.random.rand(), torch.rand(1).item())
    with pytest.raises(ConfigError):
        config.seed_everything(-1)


def test_select_device():
    assert config.select_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA"):
            config.select_device("cuda")


def _cfg(mode: str) -> config.Config:
    return config.Config(mode=mode, device=torch.device("cpu"), seed=0, offline=True, data_dir=config.data_dir())


def test_pick_by_mode():
    assert [_cfg(m).pick(full=60, lite=8, smoke=1) for m in config.MODES] == [1, 8, 60]


def test_check_thresholds_and_recording(clean_env, tmp_path, capsys):
    results = tmp_path / "r.jsonl"
    clean_env.setenv("BOOK_RESULTS", str(results))
    cfg = _cfg("lite")
    assert cfg.check("acc", 0.8, full=0.9, lite=0.75) == 0.8
    cfg.check("gap", 0.05, lite=0.1, higher_is_better=False)
    cfg.check("note", 3.0)  # record only
    assert "acc: 0.8 (>= 0.75 ok)" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=r"acc = 0.5, expected >= 0.75 in lite mode"):
        cfg.check("acc", 0.5, lite=0.75)
    with pytest.raises(CheckFailed, match="<= 0.1"):
        cfg.check("gap", 0.2, lite=0.1, higher_is_better=False)
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert [r["name"] for r in rows] == ["acc", "gap", "note", "acc", "gap"]
    assert [r["passed"] for r in rows] == [True, True, True, False, False]
    assert len(cfg.checks) == 5


def test_check_rejects_nan_and_non_numbers():
    cfg = _cfg("smoke")
    with pytest.raises(CheckFailed, match="diverged"):
        cfg.check("loss", float("nan"))
    with pytest.raises(ConfigError, match="needs a number"):
        cfg.check("acc", "high")


def test_setup_prints_one_banner_line(clean_env, capsys):
    clean_env.setenv("BOOK_MODE", "smoke")
    clean_env.setenv("BOOK_OFFLINE", "1")
    cfg = config.setup(seed=5, device="cpu")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("mode=smoke | device=cpu | seed=5 | offline")
    assert cfg.smoke and cfg.offline and cfg.seed == 5


def test_require_int():
    assert config.require_int("n", np.int64(3), 1) == 3
    for bad in (True, 2.0, "3", 0):
        with pytest.raises(ValueError, match="n must be an integer >= 1"):
            config.require_int("n", bad, 1)
