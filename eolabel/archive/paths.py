"""Every path the app opens from the archive goes through here: stored paths are relative to the archive
root and must resolve inside it (no '..', no absolute paths, no symlink escaping the root)."""

from pathlib import Path, PurePosixPath

from django.conf import settings

from eolabel.archive.errors import PathOutsideArchive


def archive_root() -> Path:
    return Path(settings.ARCHIVE_ROOT)


def archive_resolve(relative: str) -> Path:
    """The absolute path of a stored asset, refusing anything that escapes the archive root."""
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise PathOutsideArchive(f"stored path {relative!r} is not a plain relative path")
    root = archive_root().resolve()
    path = (root / pure).resolve()
    if not path.is_relative_to(root):
        raise PathOutsideArchive(f"stored path {relative!r} resolves outside the archive root")
    return path


def archive_relative(path: Path) -> str:
    """The stored (POSIX, relative) form of a path inside the archive root."""
    root = archive_root().resolve()
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise PathOutsideArchive(f"{path} is outside the archive root {root}")
    return resolved.relative_to(root).as_posix()
