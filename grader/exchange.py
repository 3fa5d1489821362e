"""nbgrader 0.9.6 plug-ins for getting submissions in and feedback out, safely.

Installed by the course's ``nbgrader_config.py``; each replaces one step of nbgrader's and
otherwise behaves like it:

* :class:`SafeCollect` (``ExchangeFactory.collect``): ``nbgrader collect`` copies what students
  submitted to the exchange, but never follows a symbolic link (a link to the instructor's
  solution, placed in the exchange's inbound folder, would otherwise be copied as the student's
  notebook): each link becomes a short text file saying where it pointed. One student's folder
  that cannot be copied is reported and the others are collected.
* :class:`SafeReleaseFeedback` (``ExchangeFactory.release_feedback``): ``nbgrader
  release_feedback`` releases feedback to exchange students and says, instead of crashing, which
  students were collected another way (a platform's zip) and need their HTML file handed over.
* :class:`SafeExtractor` and :class:`SafeCollector` (``ZipCollectApp.extractor_plugin`` and
  ``collector_plugin``): ``nbgrader zip_collect`` extracts the platform's download without
  leaving the extraction folder (no absolute paths, ``..``, links or devices; bounded sizes), one
  bad archive never stops the others, and a notebook a student zipped before uploading is filed
  under the name the *platform* gave the upload (``alice_20931_77812_huber.zip__huber.ipynb``):
  names inside a student's archive never choose the student id.
"""

from __future__ import annotations

import glob
import os
import shutil
import stat
import tarfile
import zipfile
from datetime import UTC, datetime
from pathlib import PurePosixPath

from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from nbgrader.plugins.zipcollect import ExtractorPlugin, FileNameCollectorPlugin
from nbgrader.utils import ignore_patterns

from .safety import one_line

__all__ = ["SafeCollect", "SafeReleaseFeedback", "SafeExtractor", "SafeCollector",
           "ARCHIVE_SEPARATOR", "MAX_MEMBER_BYTES"]

ARCHIVE_SEPARATOR = "__"  # "<upload>.zip__<notebook inside it>"
ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz")
MAX_MEMBER_BYTES = 20 * 2**20  # one extracted file (a notebook is read up to 20 MB)
MAX_ARCHIVE_BYTES = 2 * 2**30  # everything extracted from one archive
MAX_MEMBERS = 20_000
MAX_RATIO = 200  # uncompressed / compressed size of a zip member (zip bombs)


# ---- nbgrader collect ---------------------------------------------------------------------------

_SKIP = "\0unreadable"  # username of an inbound entry whose name cannot be read


class SafeCollect(ExchangeCollect):
    """``nbgrader collect`` without following links, one student at a time; an inbound entry
    with a name nbgrader cannot read (``alice+huber+not-a-time``) is reported and skipped
    instead of stopping the collection of everyone."""

    def _path_to_record(self, path):
        try:
            return super()._path_to_record(path)
        except Exception as exc:  # noqa: BLE001 - nbgrader fails on a bad name or timestamp
            self.log.error("Skipped %s in the exchange: %s", one_line(path, 300),
                           one_line(exc, 200))
            return {"username": _SKIP, "filename": os.path.basename(path),
                    "timestamp": datetime.min.replace(tzinfo=UTC)}

    def copy_files(self):
        self.src_records = [r for r in self.src_records if r["username"] != _SKIP]
        super().copy_files()

    def do_copy(self, src, dest, log=None):
        try:
            self._copy_without_links(src, dest)
        except (OSError, RuntimeError, shutil.Error) as exc:
            self.log.error("Could not collect %s: %s; the other submissions are collected",
                           src, one_line(exc, 300))
            os.makedirs(dest, exist_ok=True)
            with open(os.path.join(dest, "COLLECT-ERROR.txt"), "w", encoding="utf-8") as fh:
                fh.write(f"nbgrader collect could not copy this submission: {one_line(exc)}\n")

    def _copy_without_links(self, src, dest):
        cd = self.coursedir
        if self.get_size(src) > 1000 * cd.max_dir_size:
            raise RuntimeError(f"the submission is larger than {cd.max_dir_size} kB")
        base = ignore_patterns(exclude=cd.ignore, include=cd.include,
                               max_file_size=cd.max_file_size, log=self.log)
        links: list[tuple[str, str]] = []

        def ignore(directory, names):
            plain, skipped = [], set()
            for name in names:
                path = os.path.join(directory, name)
                if os.path.islink(path):
                    links.append((os.path.relpath(path, src), os.readlink(path)))
                    skipped.add(name)
                elif os.path.isfile(path) or os.path.isdir(path):
                    plain.append(name)
                else:  # sockets, devices, fifos: nothing a notebook needs
                    skipped.add(name)
            return skipped | set(base(directory, plain))

        shutil.copytree(src, dest, ignore=ignore)
        for rel, target in links:
            self.log.warning("%s: %s is a symbolic link (to %s); it was not followed",
                             src, rel, target)
            note = os.path.join(dest, rel + ".symlink.txt")
            os.makedirs(os.path.dirname(note), exist_ok=True)
            with open(note, "w", encoding="utf-8") as fh:
                fh.write(f"'{one_line(rel)}' was a symbolic link to '{one_line(target)}'; "
                         "nbgrader collect does not follow links.\n")


# ---- nbgrader release_feedback ------------------------------------------------------------------

class SafeReleaseFeedback(ExchangeReleaseFeedback):
    """``nbgrader release_feedback``: exchange students get their feedback; students collected
    from a platform's zip (no exchange submission: no ``timestamp.txt`` or submission secret)
    are listed with where their HTML file is, instead of stopping the command."""

    def copy_files(self):
        outside = []
        for html in sorted(glob.glob(os.path.join(self.src_path, "*.html"))):
            folder = os.path.dirname(html)
            if not all(os.path.isfile(os.path.join(folder, f))
                       for f in ("timestamp.txt", "submission_secret.txt")):
                outside.append(os.path.basename(os.path.dirname(folder)))
        outside = sorted(set(outside))
        if outside:
            self.log.warning(
                "Not released through the exchange (these students did not submit through it, "
                "e.g. they were collected with zip_collect): %s. Hand them %s through your "
                "platform.", ", ".join(outside),
                self.coursedir.format_path(self.coursedir.feedback_directory, "<student>",
                                           self.coursedir.assignment_id) + "/*.html")
        saved = self.coursedir.student_id_exclude
        self.coursedir.student_id_exclude = ",".join(x for x in [saved, *outside] if x)
        try:
            super().copy_files()
        finally:
            self.coursedir.student_id_exclude = saved


# ---- nbgrader zip_collect -----------------------------------------------------------------------

def _is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVES)


def _stem(name: str) -> str:
    for ext in sorted(ARCHIVES, key=len, reverse=True):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return name


def _safe_parts(name: str) -> list[str] | None:
    """The path of an archive member as plain folder and file names, or None if it is absolute,
    climbs out (``..``) or is empty."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return parts


class _Members:
    """Regular-file members of a zip or tar archive, as (path parts, size, opener); everything
    else (links, devices, unsafe paths, oversized or over-compressed members) is reported."""

    def __init__(self, path: str, log):
        self.path, self.log = path, log

    def __iter__(self):
        if zipfile.is_zipfile(self.path):
            with zipfile.ZipFile(self.path) as zf:
                infos = zf.infolist()
                for info in infos[:MAX_MEMBERS]:
                    kind = stat.S_IFMT(info.external_attr >> 16)  # 0: not recorded (a file)
                    if info.is_dir():
                        continue
                    if kind and kind != stat.S_IFREG:
                        self._skip(info.filename, "a link or special file")
                        continue
                    if info.compress_size and info.file_size > MAX_RATIO * info.compress_size \
                            and info.file_size > 2**20:
                        self._skip(info.filename, "compressed more than 200 to 1 (zip bomb?)")
                        continue
                    yield info.filename, info.file_size, lambda i=info: zf.open(i)
                self._more(len(infos))
        else:
            with tarfile.open(self.path) as tf:
                count = 0
                for member in tf:
                    count += 1
                    if count > MAX_MEMBERS:
                        break
                    if member.isdir():
                        continue
                    if not member.isfile():
                        self._skip(member.name, "a link or special file")
                        continue
                    yield member.name, member.size, lambda m=member: tf.extractfile(m)
                self._more(count)

    def _skip(self, name: str, why: str) -> None:
        self.log.warning("%s: skipped %s (%s)", self.path, one_line(name, 200), why)

    def _more(self, count: int) -> None:
        if count > MAX_MEMBERS:
            self.log.warning("%s: only the first %d members were extracted", self.path,
                             MAX_MEMBERS)


def _write(opener, dest: str, size: int) -> int:
    """Copy one member to ``dest`` (a new file), at most :data:`MAX_MEMBER_BYTES`."""
    if size > MAX_MEMBER_BYTES:
        raise OSError(f"{size} bytes (the limit is {MAX_MEMBER_BYTES // 2**20} MB)")
    written = 0
    with opener() as src, open(dest, "xb") as out:
        while chunk := src.read(1 << 20):
            written += len(chunk)
            if written > MAX_MEMBER_BYTES:
                raise OSError(f"more than {MAX_MEMBER_BYTES // 2**20} MB")
            out.write(chunk)
    return written


class SafeExtractor(ExtractorPlugin):
    """Extracts the platform's download (``downloaded/<id>/archive/``) into the extraction
    folder without ever writing outside it, and one level of the archives students uploaded.

    A member that is itself an archive (a student zipped the notebook before uploading) is not
    kept as an archive: the files inside it are written next to it as
    ``<member name>__<inner name>`` (folders flattened), so that the collector reads the student
    id from the name the platform gave the upload. Archives inside those are skipped. Every
    problem (a corrupt archive, an unsafe member, a size limit) is logged and skips only that
    archive or member.
    """

    def extract(self, archive_path: str, extracted_path: str) -> None:
        if not os.listdir(archive_path):
            self.log.warning("No files found in directory: %s", archive_path)
            return
        for root, dirs, files in os.walk(archive_path, followlinks=False):
            dirs.sort()
            target = os.path.normpath(os.path.join(extracted_path,
                                                   os.path.relpath(root, archive_path)))
            os.makedirs(target, exist_ok=True)
            for name in sorted(files):
                path = os.path.join(root, name)
                try:
                    if os.path.islink(path) or not os.path.isfile(path):
                        self.log.warning("Skipped %s: not a regular file (links are not "
                                         "followed)", path)
                    elif _is_archive(name):
                        self.log.info("Extracting from: %s", path)
                        self._extract(path, os.path.join(target, _stem(name)), nested=True)
                    else:
                        shutil.copyfile(path, os.path.join(target, name))
                except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError,
                        ValueError, RuntimeError) as exc:
                    self.log.error("Skipped %s: %s; the other files are collected", path,
                                   one_line(exc, 300))

    def _extract(self, path: str, dest: str, nested: bool) -> None:
        os.makedirs(dest, exist_ok=True)
        total = 0
        for name, size, opener in _Members(path, self.log):
            parts = _safe_parts(name)
            if parts is None:
                self.log.warning("%s: skipped %s (an absolute path or one leaving the archive)",
                                 path, one_line(name, 200))
                continue
            if total + size > MAX_ARCHIVE_BYTES:
                self.log.warning("%s: stopped after %d MB", path, total // 2**20)
                return
            out = os.path.join(dest, *parts)
            try:
                if _is_archive(parts[-1]):
                    if not nested:
                        self.log.warning("%s: skipped %s (an archive inside an uploaded "
                                         "archive)", path, one_line(name, 200))
                        continue
                    total += self._uploaded_archive(opener, size, os.path.dirname(out),
                                                    parts[-1])
                    continue
                os.makedirs(os.path.dirname(out), exist_ok=True)
                total += _write(opener, out, size)
            except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError, ValueError,
                    RuntimeError) as exc:
                self.log.error("%s: skipped %s: %s", path, one_line(name, 200),
                               one_line(exc, 300))

    def _uploaded_archive(self, opener, size: int, folder: str, name: str) -> int:
        """A student's own archive: its files next to it, named after the upload."""
        os.makedirs(folder, exist_ok=True)
        scratch = os.path.join(folder, f".{name}.part")
        try:
            _write(opener, scratch, size)
            inner = os.path.join(folder, f".{name}.d")
            self._extract(scratch, inner, nested=False)
            written = 0
            for root, _, files in os.walk(inner):
                for file in sorted(files):
                    rel = os.path.relpath(os.path.join(root, file), inner)
                    flat = rel.replace(os.sep, "_")
                    dest = os.path.join(folder, f"{name}{ARCHIVE_SEPARATOR}{flat}")
                    self.log.info("  %s (inside the uploaded %s) -> %s", rel, name, dest)
                    os.replace(os.path.join(root, file), dest)
                    written += os.path.getsize(dest)
            shutil.rmtree(inner, ignore_errors=True)
            return written
        finally:
            if os.path.exists(scratch):
                os.remove(scratch)


class SafeCollector(FileNameCollectorPlugin):
    """The course's file-name collector, hardened: a student id must be a plain name (no
    ``.`` or ``..``, nothing that could climb out of ``submitted/``), an unreadable timestamp
    is dropped instead of stopping the command, and a second file with the same name for the
    same student is kept as ``<name> (2).ipynb`` instead of stopping the command (the grader
    then picks the notebook and flags the submission)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._seen: dict[tuple[str, str], int] = {}

    def collect(self, submission_file: str):
        info = super().collect(submission_file)
        if not info:
            return info
        student = info.get("student_id") or ""
        if not isinstance(student, str) or student.startswith(".") or "/" in student \
                or "\\" in student or not student.strip():
            self.log.warning("Skipped %s: '%s' is not a usable student id", submission_file,
                             one_line(student, 80))
            return None
        stamp = info.get("timestamp")
        if isinstance(stamp, str):
            from nbgrader.utils import parse_utc

            try:
                parse_utc(stamp)
            except (ValueError, OverflowError):
                self.log.warning("%s: unreadable timestamp '%s' ignored", submission_file,
                                 one_line(stamp, 80))
                info.pop("timestamp")
        file_id = info.get("file_id")
        if isinstance(file_id, str):
            key = (student, file_id)
            self._seen[key] = self._seen.get(key, 0) + 1
            if self._seen[key] > 1 and "timestamp" not in info:
                stem, ext = os.path.splitext(file_id)
                info["file_id"] = f"{stem} ({self._seen[key]}){ext}"
                self.log.warning("%s: a second %s for %s, kept as %s", submission_file,
                                 file_id, student, info["file_id"])
        return info
