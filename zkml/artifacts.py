"""Artifact files: where each lives, how it is written, and how it is checked.

Every command writes its files through a :class:`Staging`: each file goes to a
hidden temporary name first and is renamed into place only when the whole
command has succeeded, so a failure leaves no partial artifact behind (and a
directory the command created is removed again).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from zkml.errors import CircuitMismatchError, InputFileError

FORMAT_VERSION = 2

CIRCUIT = "circuit.json"
CONSTANTS = "constants.bin"
SETTINGS = "settings.json"
PROVING_KEY = "proving_key.bin"
VERIFICATION_KEY = "verification_key.json"
PROOF = "proof.json"
PUBLIC = "public.json"
OUTPUT = "output.json"
PRIVATE = "private.json"  # the salts and hidden outputs of a proof: the prover's alone (zkml.privacy)


def dumps_json(obj: Any) -> bytes:
    return (json_text(obj) + "\n").encode()


def json_text(obj: Any) -> str:
    """``json.dumps(obj, indent=2)``, character for character, but fast on big
    arrays: json's indenting encoder is pure Python (about a microsecond a
    number), so each list of plain numbers and strings goes through its C
    encoder with the indentation as the separator (a 1000 × 1000 output is
    written in a fraction of the time). Anything else is left to json.dumps."""
    parts: list[str] = []
    try:
        _indented(obj, 0, parts)
    except (_Unusual, RecursionError):
        return json.dumps(obj, indent=2)
    return "".join(parts)


class _Unusual(Exception):
    """A value json_text leaves to json.dumps (another type, a key that is not a string)."""


_PLAIN = {str, int, float, bool, type(None)}


def _indented(obj: Any, level: int, parts: list[str]) -> None:
    kind = type(obj)
    if kind in _PLAIN:
        parts.append(json.dumps(obj))
        return
    if kind not in (list, tuple, dict):
        raise _Unusual
    if not obj:
        parts.append("{}" if kind is dict else "[]")
        return
    inner = "\n" + "  " * (level + 1)
    close = "\n" + "  " * level + ("}" if kind is dict else "]")
    if kind is dict:
        parts.append("{")
        for i, (key, value) in enumerate(obj.items()):
            if type(key) is not str:
                raise _Unusual
            parts.append(("," if i else "") + inner + json.dumps(key) + ": ")
            _indented(value, level + 1, parts)
    elif set(map(type, obj)) <= _PLAIN:
        parts.append("[" + inner + json.dumps(obj, separators=("," + inner, ": "))[1:-1])
    else:
        parts.append("[")
        for i, value in enumerate(obj):
            parts.append(("," if i else "") + inner)
            _indented(value, level + 1, parts)
    parts.append(close)


class Staging:
    """Collects the files of one command and commits them together.

    Use as a context manager; on an exception every staged file is removed and
    so is the target directory if this staging created it.
    """

    def __init__(self, directory: str | os.PathLike[str]):
        self.dir = Path(directory)
        self._created_dir = False
        self._staged: dict[Path, Path] = {}
        self._removals: list[Path] = []

    def __enter__(self) -> Staging:
        if self.dir.exists() and not self.dir.is_dir():
            raise InputFileError(f"{self.dir} exists and is not a directory", self.dir)
        if self.dir.exists():
            remove_stale_temporaries(self.dir)
        if not self.dir.exists():
            try:
                self.dir.mkdir(parents=True)
                self._created_dir = True
            except FileExistsError:
                # Another command created it at the same moment: it is theirs
                # (never removed on our failure), and ours to write into.
                if not self.dir.is_dir():
                    raise InputFileError(f"{self.dir} exists and is not a directory", self.dir) from None
            except OSError as e:
                raise InputFileError(f"cannot create directory {self.dir}: {e.strerror}", self.dir) from e
        return self

    def _reserve(self, name: str, private: bool = False) -> tuple[int, Path]:
        """A new, unpredictably named file for `name`, created exclusively
        (O_EXCL: a planted file or symlink of that name is never opened)."""
        final = self.dir / name
        try:
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=f".{name}.{os.getpid()}.", suffix=".staging")
        except OSError as e:
            raise InputFileError(f"cannot write {final}: {e.strerror or e}", final) from e
        os.chmod(tmp, 0o600 if private else 0o666 & ~_umask())
        self._staged[final] = Path(tmp)
        return fd, Path(tmp)

    def path(self, name: str) -> Path:
        """A temporary path for `name` that a writer (e.g. native code, which
        replaces it by renaming its own exclusive temporary file) may fill."""
        fd, tmp = self._reserve(name)
        os.close(fd)
        return tmp

    def write_bytes(self, name: str, data: bytes, private: bool = False) -> None:
        """Stage `data` as `name`; `private` makes it readable by its owner only."""
        fd, _ = self._reserve(name, private)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    def write_json(self, name: str, obj: Any, private: bool = False) -> None:
        self.write_bytes(name, dumps_json(obj), private)

    def remove_on_commit(self, name: str) -> None:
        """Delete a stale file of a previous run when this one commits."""
        self._removals.append(self.dir / name)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            for final, tmp in self._staged.items():
                os.replace(tmp, final)
            for stale in self._removals:
                if stale not in self._staged:
                    stale.unlink(missing_ok=True)
            return
        for tmp in self._staged.values():
            tmp.unlink(missing_ok=True)
        if self._created_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


# Temporary files are named ".<artifact>.<pid>.<random>.staging" (Python) or
# ".<artifact>.<pid>.<random>.tmp" (native code): a process killed mid-write
# leaves one behind, and the next command in that directory removes it once
# its process is gone.
_TEMPORARY = re.compile(r"^\..+\.(\d+)\.[^.]+\.(staging|tmp)$")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(directory: Path) -> None:
    """Delete temporary files of dead zkml processes in `directory`."""
    try:
        entries = list(directory.iterdir())
    except OSError:
        return
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match and int(match.group(1)) != os.getpid() and not _process_alive(int(match.group(1))):
            try:
                if entry.is_file() or entry.is_symlink():
                    entry.unlink()
            except OSError:
                pass


def read_json(path: str | os.PathLike[str], what: str) -> Any:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(f"{what} not found: {path}", path) from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputFileError(f"cannot read {what} {path}: {getattr(e, 'strerror', None) or e}", path) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputFileError(
            f"{what} {path} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}", path
        ) from None
    except RecursionError:
        raise InputFileError(f"{what} {path} is not valid JSON: nested too deeply", path) from None


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(target: str | os.PathLike[str], data: bytes) -> None:
    """Write one file so that no reader ever sees a partial one: a temporary
    file in the same directory, fsync, rename. A failure leaves nothing behind."""
    target = Path(target)
    try:
        handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False)
    except OSError as err:
        raise InputFileError(f"cannot write {target}: {err.strerror or err}", target) from err
    temp = Path(handle.name)
    try:
        with handle:
            # NamedTemporaryFile creates the file private (0600); give it the
            # permissions an ordinary open() would have.
            os.chmod(handle.name, 0o666 & ~_umask())
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException as err:
        temp.unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise InputFileError(f"cannot write {target}: {err.strerror or err}", target) from err
        raise


def read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"{what} not found: {path}", path) from None
    except OSError as e:
        raise InputFileError(f"cannot read {what} {path}: {e.strerror}", path) from None


def file_size(path: Path, what: str) -> int:
    """The size of a file that is there to be read (as `read_bytes` words its absence)."""
    try:
        if not path.is_file():
            path.open("rb").close()  # the OSError of a missing file, a folder, ...
        return path.stat().st_size
    except FileNotFoundError:
        raise InputFileError(f"{what} not found: {path}", path) from None
    except OSError as e:
        raise InputFileError(f"cannot read {what} {path}: {e.strerror}", path) from None


def require_dir(path: Path, what: str, hint: str) -> Path:
    if not path.is_dir():
        raise InputFileError(f"{what} {path} does not exist ({hint})", path)
    return path


def check_hash(found: object, expected: str, what: str) -> None:
    """Artifacts carry the circuit hash; mixing circuits is a clear error."""
    if found is not None and found != expected:
        raise CircuitMismatchError(
            f"{what} belongs to circuit {str(found)[:16]}…, but this build is circuit {expected[:16]}… "
            "(artifacts of different models or compilations cannot be mixed)"
        )
