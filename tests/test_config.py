"""Unit tests for book_utils.config: modes, offline flag, data directory, seeding, checks, setup."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from book_utils import config
from book_utils.config import CheckFailed, ConfigError


@pytest.fixture
def clean_env(monkeypatch):
    for var in ("BOOK_MODE", "BOOK_OFFLINE", "BOOK_DATA_DIR", "BOOK_RESULTS", "BOOK_SEED"):
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
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
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
    assert cfg.check("acc", 0.8, full=0.9, lite=0.75) is None
    cfg.check("gap", 0.05, lite=0.1, higher_is_better=False)
    cfg.record("note", 3.0)
    out = capsys.readouterr().out
    assert "check acc: 0.8 (>= 0.75 ok)" in out and "record note: 3 (recorded, not checked" in out
    with pytest.raises(ConfigError, match="no threshold in any mode"):
        cfg.check("note", 3.0)
    with pytest.raises(ConfigError, match="looser than lite"):
        cfg.check("acc", 0.9, full=0.7, lite=0.8)
    with pytest.raises(ConfigError, match="looser than lite"):
        cfg.check("gap", 0.1, full=0.3, lite=0.2, higher_is_better=False)
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
        cfg.check("loss", float("nan"), smoke=1.0)
    with pytest.raises(ConfigError, match="needs a number"):
        cfg.check("acc", "high", smoke=0.5)
    with pytest.raises(CheckFailed, match="diverged"):
        cfg.record("loss", float("inf"))


def test_seed_from_argument_env_or_zero(clean_env):
    assert config.get_seed() == 0
    clean_env.setenv("BOOK_SEED", " 3 ")
    assert config.get_seed() == 3 and config.get_seed(7) == 7
    assert config.setup(mode="smoke", device="cpu", quiet=True).seed == 3
    clean_env.setenv("BOOK_SEED", "three")
    with pytest.raises(config.ConfigError, match="BOOK_SEED"):
        config.get_seed()
    clean_env.setenv("BOOK_SEED", "-1")
    with pytest.raises(ValueError, match="BOOK_SEED"):
        config.get_seed()


def test_setup_prints_one_banner_line(clean_env, capsys):
    clean_env.setenv("BOOK_MODE", "smoke")
    clean_env.setenv("BOOK_OFFLINE", "1")
    cfg = config.setup(seed=5, device="cpu")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("mode=smoke | device=cpu | seed=5 | offline")
    assert cfg.smoke and cfg.offline and cfg.seed == 5


def test_setup_banner_names_versions_without_importing_them():
    """The banner reads versions from package metadata: importing torchvision or sklearn costs seconds."""
    code = (
        "import sys, book_utils; book_utils.setup(device='cpu'); "
        "print('IMPORTED', 'torchvision' in sys.modules, 'sklearn' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "BOOK_RESULTS"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**env, "BOOK_MODE": "smoke", "BOOK_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    banner, imported = done.stdout.strip().splitlines()
    assert imported == "IMPORTED False False"
    for label in ("torch", "torchvision", "sklearn", "numpy"):
        assert f"| {label} " in banner or f", {label} " in banner, banner
    assert "missing" not in banner


def test_banner_versions_come_from_metadata(monkeypatch):
    from importlib import metadata

    def fake_version(dist):
        if dist == "scikit-learn":
            raise metadata.PackageNotFoundError(dist)
        return "9.9"

    monkeypatch.setattr(metadata, "version", fake_version)
    versions = config._versions()
    assert "torchvision 9.9" in versions and "sklearn missing" in versions and versions.startswith("python ")


# ------------------------------------------------------------------------------------------ optional extras
def _pyproject_extra(extra: str) -> list[str]:
    import tomllib

    with open(config.repo_root() / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)["project"]["optional-dependencies"][extra]


def test_extra_requirements_lists_the_deploy_packages():
    declared = _pyproject_extra("deploy")
    reqs = config.extra_requirements("deploy")
    if not reqs and declared:
        pytest.skip("the installed book_utils metadata predates pyproject.toml's extras: run `make setup`")
    assert reqs == declared
    assert {r.split(">")[0].split("=")[0] for r in reqs} == {
        "onnx", "onnxruntime", "onnxscript", "fastapi", "uvicorn", "python-multipart", "flask", "httpx"}  # fmt: skip


def test_extra_requirements_reads_only_the_named_extra(monkeypatch):
    from importlib import metadata

    def fake_requires(dist):
        assert dist == "book_utils"
        return ["numpy>=1.24", 'onnx>=1.16; extra == "deploy"', "onnxruntime>=1.18 ; extra=='deploy'",
                'jupyterlab>=4.0; extra == "lab"', 'pytest>=8.0; extra == "dev"',
                'book_utils[lab,deploy]; extra == "dev"', 'tomli; python_version < "3.11" and extra == "deployx"']

    monkeypatch.setattr(metadata, "requires", fake_requires)
    assert config.extra_requirements("deploy") == ["onnx>=1.16", "onnxruntime>=1.18"]
    assert config.extra_requirements("lab") == ["jupyterlab>=4.0"]
    assert config.extra_requirements("nope") == []


def test_require_extra_is_silent_when_the_modules_import(monkeypatch, capsys):
    monkeypatch.setattr(config, "in_colab", lambda: pytest.fail("no need to ask about Colab"))
    config.require_extra("deploy", "json", "numpy")
    assert capsys.readouterr().out == ""


def test_require_extra_off_colab_names_the_command(monkeypatch):
    monkeypatch.setattr(config, "in_colab", lambda: False)
    monkeypatch.setattr(config, "extra_requirements", lambda extra: ["onnx>=1.16", "onnxruntime>=1.18"])
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("nothing is installed off Colab"))
    with pytest.raises(ImportError) as err:
        config.require_extra("deploy", "json", "no_such_module_xyz")
    message = str(err.value)
    assert "no_such_module_xyz" in message and "json" not in message.split("(")[0]
    assert "make lab" in message and "pip install 'book_utils[deploy]'" in message
    assert "pip install onnx>=1.16 onnxruntime>=1.18" in message


def test_require_extra_on_colab_installs_exactly_the_extra(monkeypatch, capsys):
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, returncode=0, stdout="", stderr="")

    reqs = ["onnx>=1.16", "onnxruntime>=1.18", "onnxscript>=0.1"]
    monkeypatch.setattr(config, "in_colab", lambda: True)
    monkeypatch.setattr(config, "extra_requirements", lambda extra: reqs if extra == "deploy" else [])
    monkeypatch.setattr(subprocess, "run", fake_run)
    config.require_extra("deploy", "no_such_module_xyz")
    assert len(calls) == 1
    cmd = calls[0]
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"] and cmd[-3:] == reqs
    assert not any("jupyter" in part for part in cmd), "Colab has Jupyter already"
    assert "installing the 'deploy' packages" in capsys.readouterr().out


def test_require_extra_on_colab_reports_a_failed_install(monkeypatch):
    def fake_run(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, returncode=1, stdout="", stderr="ERROR: no matching distribution")

    monkeypatch.setattr(config, "in_colab", lambda: True)
    monkeypatch.setattr(config, "extra_requirements", lambda extra: ["onnx>=1.16"])
    monkeypatch.setattr(subprocess, "run", fake_run)
    with pytest.raises(ImportError, match="pip could not install.*no matching distribution"):
        config.require_extra("deploy", "no_such_module_xyz")


def test_in_colab(monkeypatch):
    import types

    monkeypatch.setitem(sys.modules, "google.colab", None)  # None in sys.modules: the import fails
    assert config.in_colab() is False
    google = types.ModuleType("google")
    google.__path__ = []
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert config.in_colab() is True
