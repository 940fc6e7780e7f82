"""Safe zip extraction (no path escapes, symlinks or bombs) and saving of uploaded files for the folder set."""

from __future__ import annotations

import json
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import DataError
from ..fileio import write_atomic

MAX_ZIP_BYTES = 2 * 1024**3
MAX_ZIP_ENTRIES = 20_000
MAX_ZIP_DEPTH = 8
_CHUNK = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass
class ZipReport:
    """What extract_zip did: files written, bytes written, and the entries it refused with why."""

    extracted: int = 0
    bytes_written: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)


def entry_problem(info: zipfile.ZipInfo) -> str | None:
    """Why an entry must not be written (escaping path, link, device), or None when it is safe."""
    name = info.filename
    if "\x00" in name:
        return "name contains a NUL byte"
    # Windows tools write backslashes; treat them as separators so "..\\x" cannot slip through.
    posix = name.replace("\\", "/")
    if posix.startswith("/"):
        return "absolute path"
    if _DRIVE.match(posix):
        return "drive-letter path"
    if any(part == ".." for part in posix.split("/")):
        return "path leaves the folder (..)"
    mode = info.external_attr >> 16
    if info.create_system == 3 and mode:  # Unix-made entries carry st_mode in the high 16 bits
        kind = stat.S_IFMT(mode)
        if kind == stat.S_IFLNK:
            return "symbolic link"
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            return "not a regular file"
    return None


def _parts(info: zipfile.ZipInfo) -> list[str]:
    return [p for p in PurePosixPath(info.filename.replace("\\", "/")).parts if p not in ("", ".")]


def extract_zip(
    zip_path: str | Path,
    dest_dir: str | Path,
    max_bytes: int = MAX_ZIP_BYTES,
    max_entries: int = MAX_ZIP_ENTRIES,
    max_depth: int = MAX_ZIP_DEPTH,
) -> ZipReport:
    """Extract zip_path into dest_dir without trusting the archive.

    Unsafe entries (.., absolute, drive letters, symlinks, devices) are never written and are listed in
    the report. Too many entries or too deep a path refuses the whole archive before anything is written.
    Decompressed bytes are counted while streaming (the size headers can lie); passing max_bytes, or any
    read error, removes everything this call created and raises DataError.
    """
    zip_path, dest = Path(zip_path), Path(dest_dir)
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{zip_path} is not a readable zip file (damaged, cut short or another kind of file): "
                        "re-create the archive, or unpack it and choose the folder.") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > max_entries:
            raise DataError(f"{zip_path} has {len(infos):,} entries, more than the {max_entries:,} allowed: "
                            "unpack it yourself and choose the folder.")
        deepest = max((len(_parts(i)) for i in infos), default=0)
        if deepest > max_depth:
            raise DataError(f"{zip_path} nests folders {deepest} deep, more than the {max_depth} allowed: "
                            "flatten the archive or unpack it yourself.")
        declared = sum(i.file_size for i in infos)
        if declared > max_bytes:  # honest headers let a bomb be refused before any work; lying ones meet the stream cap
            raise DataError(f"{zip_path} unpacks to {declared / 2**20:,.0f} MB, more than the "
                            f"{max_bytes / 2**20:,.0f} MB allowed: upload a smaller archive or unpack it yourself.")
        report = ZipReport()
        dest_existed = dest.exists()
        dest.mkdir(parents=True, exist_ok=True)
        root = dest.resolve()
        created: list[Path] = []  # files and folders this call made, for the clean-up on failure
        try:
            for info in infos:
                _extract_one(zf, info, root, max_bytes, report, created)
        except BaseException:
            _remove(created)
            if not dest_existed:
                shutil.rmtree(dest, ignore_errors=True)
            raise
    return report


def _extract_one(zf: zipfile.ZipFile, info: zipfile.ZipInfo, root: Path, max_bytes: int, report: ZipReport,
                 created: list[Path]) -> None:
    problem = entry_problem(info)
    parts = _parts(info)
    if problem is None and parts and parts[0] == "__MACOSX":
        return  # macOS resource-fork junk: not images, not worth a warning
    if problem is None and not parts:
        problem = "empty name"
    if problem is not None:
        report.refused.append((info.filename, problem))
        return
    target = root.joinpath(*parts)
    # Belt and braces: the checks above should make this impossible, but never write outside root.
    if not target.resolve().is_relative_to(root):
        report.refused.append((info.filename, "path leaves the folder"))
        return
    try:
        _make_dirs(target.parent if not info.is_dir() else target, root, created)
        if info.is_dir():
            return
        if target.exists():
            report.refused.append((info.filename, "duplicate entry"))
            return
        # Count what actually comes out, not what the headers say. (CPython's zipfile also stops an entry at
        # its declared size and then fails the CRC, so a lying header ends in the BadZipFile branch below;
        # this cap is the guarantee that does not depend on that detail.)
        with zf.open(info) as src, open(target, "xb") as out:
            created.append(target)
            while chunk := src.read(_CHUNK):
                report.bytes_written += len(chunk)
                if report.bytes_written > max_bytes:
                    raise DataError(
                        f"The zip unpacks to more than {max_bytes / 2**20:,.0f} MB (stopped at {info.filename}), "
                        "which looks like a zip bomb: upload a smaller archive or unpack it yourself."
                    )
                out.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError) as exc:
        # Bad CRC (also what a lying size header produces), unsupported compression, encrypted entries.
        raise DataError(f"Entry {info.filename} of the zip cannot be read ({exc}): "
                        "re-create the archive without encryption.") from exc
    except OSError as exc:
        if isinstance(exc, (FileExistsError, NotADirectoryError, IsADirectoryError)):
            report.refused.append((info.filename, "clashes with another entry"))
            return
        raise DataError(f"Cannot write {target} while unpacking the zip ({exc}): "
                        "free disk space or choose another folder.") from exc
    report.extracted += 1


def _make_dirs(folder: Path, root: Path, created: list[Path]) -> None:
    missing = []
    while folder != root and not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for d in reversed(missing):
        d.mkdir()
        created.append(d)


def _remove(created: list[Path]) -> None:
    for path in reversed(created):  # files before the folders that hold them
        try:
            path.rmdir() if path.is_dir() else path.unlink()
        except OSError:
            pass


_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_name(name: str) -> str:
    """A base file name with no folders, no leading dots and only plain characters ('upload' if nothing is left)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_CHARS.sub("_", base).strip(" .")
    return base[:200] or "upload"


def _unique(folder: Path, name: str) -> Path:
    target, stem, suffix, n = folder / name, Path(name).stem, Path(name).suffix, 1
    while target.exists():
        target = folder / f"{stem}_{n}{suffix}"
        n += 1
    return target


UPLOAD_NAMES = ".upload.json"  # in an upload's folder: the original file names, so messages can name them


def save_uploads(files: list[tuple[str, bytes]], dest_dir: str | Path) -> Path:
    """Write uploaded (name, bytes) pairs into dest_dir and unpack uploaded .zip files there; return the folder.

    Names are reduced to sanitized base names, so an upload called "../../x.png" lands as dest_dir/x.png.
    Zips go into a sub-folder named after the zip, through extract_zip's limits. The original names are kept in
    UPLOAD_NAMES (a dotfile: the image scan skips it), so messages name the upload, not this folder.
    """
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    names = [name for name, _ in files]
    write_atomic(dest / UPLOAD_NAMES, json.dumps({"names": names}).encode())
    refused: list[tuple[str, str]] = []
    for name, data in files:
        base = safe_name(name)
        if base.lower().endswith(".zip"):
            archive = _unique(dest, "." + base + ".part")  # hidden while unpacking; the scan skips dotfiles
            archive.write_bytes(data)
            try:
                refused += extract_zip(archive, _unique(dest, Path(base).stem or "upload")).refused
            except DataError as exc:  # name the zip the user chose, not its hidden copy
                raise DataError(str(exc).replace(str(archive), name)) from exc
            finally:
                archive.unlink(missing_ok=True)
        else:
            _unique(dest, base).write_bytes(data)
    if refused:  # the members not written, so the Data page can say how many and why
        write_atomic(dest / UPLOAD_NAMES, json.dumps({"names": names, "refused": refused}).encode())
    return dest


def _upload_record(folder: str | Path) -> dict:
    try:
        record = json.loads((Path(folder) / UPLOAD_NAMES).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def upload_names(folder: str | Path) -> list[str] | None:
    """The original file names of an upload saved by save_uploads, or None for any other folder."""
    names = _upload_record(folder).get("names")
    return [str(n) for n in names] if isinstance(names, list) else None


def upload_refused(folder: str | Path) -> list[tuple[str, str]]:
    """The zip members save_uploads refused to write, as (member name, why); [] for any other folder."""
    refused = _upload_record(folder).get("refused")
    if not isinstance(refused, list):
        return []
    return [(str(r[0]), str(r[1])) for r in refused if isinstance(r, list) and len(r) == 2]


def name_list(names: list[str]) -> str:
    """'a.png, b.png, c.png and 3 more': the first three names of a list and how many more it holds."""
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def upload_label(folder: str | Path) -> str | None:
    """How messages name an uploaded folder: 'your upload (a.png, b.png and 3 more)'; None when not an upload."""
    names = upload_names(folder)
    return None if names is None else f"your upload ({name_list(names)})"
