"""Verified downloads: every dataset loader fetches its files through :func:`fetch`.

A loader describes each file once as a :class:`Resource` (URL, sha256, file name) and calls
:func:`fetch` (raises on failure) or :func:`try_fetch` (returns ``None`` so the loader can use its
offline stand-in). A download is written to a temporary file, checked (HTTP status, not an HTML
error page, complete length, size, sha256) and only then renamed into place, so a broken transfer
never leaves a file that a later run would trust. ``BOOK_OFFLINE=1`` forbids the network entirely.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import tarfile
import threading
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from book_utils.cache import build_once, file_lock
from book_utils.config import data_dir, is_offline

_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")


class DownloadError(RuntimeError):
    """A file could not be downloaded, verified or unpacked; the message says what to do."""


class OfflineError(DownloadError):
    """A file is missing and ``BOOK_OFFLINE=1`` forbids downloading it."""


@dataclass(frozen=True)
class Resource:
    """One downloadable file: ``fetch`` saves ``url`` as ``<dest_dir>/<filename>`` and checks ``sha256``.

    With ``extract=True`` the archive (.zip, .tar, .tar.gz, .tgz) is also unpacked into a folder beside
    it, named like the archive without its suffix, and ``fetch`` returns that folder.
    """

    name: str
    url: str
    sha256: str | None
    filename: str
    size: int | None = None
    extract: bool = False

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("Resource.name must be a non-empty string")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"Resource {self.name!r}: url must start with http:// or https://, got {self.url!r}")
        if self.sha256 is not None:
            digest = self.sha256.strip().lower()
            if not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise ValueError(f"Resource {self.name!r}: sha256 must be 64 hex digits, got {self.sha256!r}")
            object.__setattr__(self, "sha256", digest)
        if not self.filename or Path(self.filename).name != self.filename or self.filename in (".", ".."):
            raise ValueError(f"Resource {self.name!r}: filename must be a plain file name, got {self.filename!r}")
        if self.size is not None and self.size < 0:
            raise ValueError(f"Resource {self.name!r}: size must be >= 0 bytes, got {self.size}")
        if self.extract and not self.filename.lower().endswith(_ARCHIVE_SUFFIXES):
            raise ValueError(f"Resource {self.name!r}: extract=True needs one of {_ARCHIVE_SUFFIXES}")


REGISTRY: dict[str, Resource] = {}


def register(resource: Resource) -> Resource:
    """Add ``resource`` to :data:`REGISTRY` (re-registering the same one is fine) and return it."""
    known = REGISTRY.get(resource.name)
    if known is not None and known != resource:
        raise ValueError(f"A different resource is already registered as {resource.name!r}: {known}")
    REGISTRY[resource.name] = resource
    return resource


def sha256sum(path: Path) -> str:
    """The hex sha256 digest of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _resolve(resource_or_name: Resource | str) -> Resource:
    if isinstance(resource_or_name, Resource):
        return resource_or_name
    if resource_or_name not in REGISTRY:
        known = ", ".join(sorted(REGISTRY)) or "none yet"
        raise ValueError(f"Unknown resource {resource_or_name!r}; registered: {known}")
    return REGISTRY[resource_or_name]


def _problem(path: Path, res: Resource) -> str | None:
    """Why the file at ``path`` cannot be used (``None`` when it is present and verified)."""
    if not path.is_file():
        return "is missing"
    if res.size is not None and path.stat().st_size != res.size:
        return f"has {path.stat().st_size} bytes instead of {res.size}"
    if res.sha256 is not None and sha256sum(path) != res.sha256:
        return "does not match its sha256 checksum"
    return None


def _what_to_do(res: Resource, path: Path) -> str:
    check = f" (sha256 {res.sha256})" if res.sha256 else ""
    return f"Download {res.url} by hand and save it as {path}{check}"


def _download(res: Resource, path: Path, timeout: float, show: bool) -> None:
    from book_utils.interactive import progress as progress_bar

    tmp = path.with_name(f".{path.name}.part-{os.getpid()}-{threading.get_ident()}")
    try:
        request = urllib.request.Request(res.url, headers={"User-Agent": "book_utils"})
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            if resp.status != 200:
                raise ValueError(f"HTTP status {resp.status}")
            ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if ctype == "text/html" and not res.filename.lower().endswith((".html", ".htm")):
                raise ValueError("the server sent an HTML page (an error or login page?), not the file")
            length = resp.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            if None not in (expected, res.size) and expected != res.size:
                raise ValueError(f"the server announces {expected} bytes, expected {res.size}")
            digest, received = hashlib.sha256(), 0
            total = expected or res.size
            bar = progress_bar(total=total, unit="B", unit_scale=True, desc=res.filename, disable=not show)
            with open(tmp, "wb") as fh, bar:
                while chunk := resp.read(1 << 16):
                    fh.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        if expected is not None and received != expected:
            raise ValueError(f"the transfer was interrupted after {received} of {expected} bytes")
        if res.size is not None and received != res.size:
            raise ValueError(f"received {received} bytes, expected {res.size}")
        if res.sha256 is not None and digest.hexdigest() != res.sha256:
            raise ValueError(f"sha256 mismatch: got {digest.hexdigest()}, expected {res.sha256}")
        os.replace(tmp, path)
    except urllib.error.HTTPError as exc:
        raise _failed(res, path, f"HTTP error {exc.code} {exc.reason}") from exc
    except (ValueError, OSError, http.client.HTTPException) as exc:  # URLError and timeouts are OSErrors
        raise _failed(res, path, str(exc) or type(exc).__name__) from exc
    finally:
        tmp.unlink(missing_ok=True)


def _failed(res: Resource, path: Path, reason: str) -> DownloadError:
    return DownloadError(
        f"Could not download {res.name!r} from {res.url}: {reason}. Nothing was saved.\n"
        f"{_what_to_do(res, path)}, or set BOOK_OFFLINE=1 to use the offline stand-in."
    )


def _extract_dir(archive: Path) -> Path:
    name = archive.name
    suffix = next(s for s in _ARCHIVE_SUFFIXES if name.lower().endswith(s))
    return archive.with_name(name[: -len(suffix)])


def _check_member(name: str, archive: Path) -> None:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
        raise DownloadError(
            f"Refusing to unpack {archive}: member {name!r} would be written outside the target folder. "
            "The archive is damaged or malicious; delete it and download it again."
        )


def _extract(archive: Path) -> Path:
    def build(tmp: Path) -> None:
        tmp.mkdir()
        try:
            if archive.name.lower().endswith(".zip"):
                with zipfile.ZipFile(archive) as zf:
                    for member in zf.namelist():
                        _check_member(member, archive)
                    zf.extractall(tmp)
            else:
                with tarfile.open(archive) as tf:
                    for member in tf.getmembers():
                        _check_member(member.name, archive)
                        if not (member.isfile() or member.isdir()):  # links could point anywhere
                            raise DownloadError(f"Refusing to unpack {archive}: member {member.name!r} is a "
                                                "link or special file. Delete the archive and download it again.")
                    safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # Python >= 3.10.12
                    tf.extractall(tmp, **safe)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
            raise DownloadError(f"Could not unpack {archive}: {exc}. Delete it and download it again.") from exc

    return build_once(_extract_dir(archive), build)


def fetch(
    resource_or_name: Resource | str, dest_dir: Path | None = None, *, timeout: float = 30.0, progress: bool = True
) -> Path:
    """Return the local path of a resource, downloading and verifying it first if needed.

    ``dest_dir`` defaults to :func:`book_utils.config.data_dir`. Returns the extracted folder for
    ``extract=True`` resources. Raises :class:`OfflineError` when the file is missing and
    ``BOOK_OFFLINE=1``, :class:`DownloadError` when the download or a check fails.
    """
    res = _resolve(resource_or_name)
    path = Path(dest_dir if dest_dir is not None else data_dir()) / res.filename
    if res.extract and _extract_dir(path).is_dir():
        return _extract_dir(path)
    problem = _problem(path, res)
    if problem is not None:
        if is_offline():
            raise OfflineError(
                f"{res.name!r}: {path} {problem}, and BOOK_OFFLINE=1 forbids downloads.\n"
                f"{_what_to_do(res, path)}, or unset BOOK_OFFLINE to let book_utils download it."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(path.with_name(f".{path.name}.lock")):
            if _problem(path, res) is not None:  # another process may have finished it while we waited
                _download(res, path, timeout, progress)
    return _extract(path) if res.extract else path


def try_fetch(
    resource_or_name: Resource | str, dest_dir: Path | None = None, *, timeout: float = 30.0, progress: bool = True
) -> Path | None:
    """Like :func:`fetch`, but print one line and return ``None`` instead of raising :class:`DownloadError`."""
    try:
        return fetch(resource_or_name, dest_dir, timeout=timeout, progress=progress)
    except DownloadError as exc:
        print(str(exc).splitlines()[0])
        return None
