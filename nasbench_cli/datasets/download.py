"""Fetching and unpacking the official CIFAR archives, checked and safe.

The archive is written to ``<name>.part`` and renamed only once its md5 matches, so an interrupted
or damaged download never looks complete; only members inside the dataset's own folder are
unpacked, and a member that would land outside it (absolute path, ``..``, link, device) rejects the
whole archive.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath
from typing import List, Optional

from nasbench_cli.datasets.base import DATASETS, Archive, Dataset
from nasbench_cli.errors import DataCorruptError, DataMissingError, NasbenchError
from nasbench_cli.logs import progress_bar

CHUNK = 1 << 20
TIMEOUT_S = 60


def md5_of(path: Path) -> str:
    """Hex md5 of a file, read in chunks."""
    from nasbench_cli.untrusted import open_regular

    digest = hashlib.md5()
    with open_regular(Path(path), "data file") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def files_present(dataset: Dataset, data_dir: Path) -> bool:
    """Whether every file of the dataset's own folder (split files aside) is already there."""
    if dataset.archive is None:
        return False
    prefix = dataset.archive.folder + "/"
    own = [f for f in dataset.required_files() if f.path.startswith(prefix)]
    return bool(own) and all((Path(data_dir) / f.path).is_file() for f in own)


def download_dataset(
    name: str,
    data_dir: Path,
    progress: bool = True,
    url: Optional[str] = None,
    md5: Optional[str] = None,
    force: bool = False,
) -> Path:
    """Download, check and unpack dataset ``name`` into ``data_dir``; returns its folder.

    ``url`` and ``md5`` replace the official ones (tests use a local file:// or loopback URL).
    Files already present are kept unless ``force``; an archive already in ``data_dir`` with the
    right md5 (placed there by hand) is unpacked without downloading.
    """
    dataset = DATASETS.get(name)
    data_dir = Path(data_dir)
    if dataset.archive is None:
        raise DataMissingError(dataset.manual_source.replace("<data_dir>", str(data_dir)))
    archive = dataset.archive
    target = data_dir / archive.folder
    if not force and files_present(dataset, data_dir):
        return target
    expected = md5 or archive.md5
    archive_path = data_dir / archive.filename
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NasbenchError(f"cannot create the data directory {data_dir}: {exc}") from None
    found = md5_of(archive_path) if archive_path.is_file() else None
    if found != expected:
        manual = _manual(archive, data_dir)
        try:
            fetch(url or archive.url, archive_path, expected, progress, manual=manual)
        except DataMissingError as err:
            if found is None:
                raise
            # the file in place is the real problem: say so before the failed download
            raise DataCorruptError(
                f"{archive_path} is in place but its md5 is {found}, expected {expected} (damaged, "
                f"truncated or another file): replace it with the official archive; downloading "
                f"a fresh copy failed too ({err})") from None
    extract(archive_path, data_dir, archive.folder)
    return target


def _manual(archive: Archive, data_dir: Path) -> str:
    """What to do by hand when the download fails."""
    return (
        f"download {archive.url} (md5 {archive.md5}) yourself and either place "
        f"{archive.filename} in {data_dir} and run this command again, or unpack it there so "
        f"that {data_dir / archive.folder} exists"
    )


def fetch(url: str, dest: Path, md5: str, progress: bool = True, manual: str = "") -> None:
    """Download ``url`` to ``dest`` through ``dest.part``; DataCorruptError when md5 differs."""
    part = dest.with_name(dest.name + ".part")
    try:
        out = open(part, "wb")
    except OSError as exc:
        raise NasbenchError(f"cannot write {part}: {exc}") from None
    digest = hashlib.md5()
    try:
        with out, urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            total = response.headers.get("Content-Length")
            with progress_bar(
                total=int(total) if total else None, unit="B", unit_scale=True,
                unit_divisor=1024, desc=dest.name, enabled=progress, leave=False,
            ) as bar:
                for block in iter(lambda: response.read(CHUNK), b""):
                    out.write(block)
                    digest.update(block)
                    bar.update(len(block))
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # URLError, refused or reset connections, timeouts, TLS failures (and a full disk) all
        # leave the archive missing; ValueError is an unusable URL
        part.unlink(missing_ok=True)
        if isinstance(exc, urllib.error.HTTPError):
            reason = f"HTTP {exc.code} {exc.reason}"
        else:
            reason = getattr(exc, "reason", None) or exc
        raise DataMissingError(f"could not download {url} ({reason}); {manual}") from None
    got = digest.hexdigest()
    if got != md5:
        part.unlink(missing_ok=True)
        raise DataCorruptError(
            f"{url}: downloaded file has md5 {got}, expected {md5}; the partial file {part} was "
            f"removed (try again, or {manual})"
        )
    os.replace(part, dest)


def _unsafe(member: tarfile.TarInfo) -> str:
    """Why unpacking ``member`` could write outside the target, or '' when it cannot."""
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts:
        return "a path outside the data directory"
    if member.issym() or member.islnk():
        return "a link"
    if not (member.isfile() or member.isdir()):
        return "a special file"
    return ""


def safe_members(tar: tarfile.TarFile, archive_path: Path, folder: str) -> List[tarfile.TarInfo]:
    """The members under ``folder/``; DataCorruptError if any member at all is unsafe."""
    chosen = []
    for member in tar.getmembers():
        why = _unsafe(member)
        if why:
            raise DataCorruptError(f"{archive_path}: member '{member.name}' is {why}; not unpacked")
        parts = PurePosixPath(member.name).parts
        if parts and parts[0] == folder:
            chosen.append(member)
    if not any(m.isfile() for m in chosen):
        raise DataCorruptError(f"{archive_path}: holds no files under '{folder}/'")
    return chosen


def extract(archive_path: Path, data_dir: Path, folder: str) -> None:
    """Unpack ``folder/`` of a tar archive into ``data_dir`` through a staging folder."""
    try:
        staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=data_dir))
    except OSError as exc:
        raise NasbenchError(f"cannot write to the data directory {data_dir}: {exc}") from None
    try:
        _unpack(archive_path, staging, folder)
        for src in sorted((staging / folder).rglob("*")):
            dst = data_dir / src.relative_to(staging)
            if src.is_dir():
                dst.mkdir(parents=True, exist_ok=True)
            else:
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dst)
    except OSError as exc:
        raise NasbenchError(f"cannot write {data_dir / folder}: {exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _unpack(archive_path: Path, staging: Path, folder: str) -> None:
    """Extract the safe members under ``folder/`` into ``staging``."""
    # members are already checked by safe_members; the 'data' filter (Python >= 3.11.4) is a
    # second guard where it exists
    extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    try:
        with tarfile.open(archive_path, "r:*") as tar:
            members = safe_members(tar, archive_path, folder)
            tar.extractall(staging, members=members, **extra)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DataCorruptError(f"{archive_path}: not a readable tar archive ({exc})") from None
