"""Checking arguments at the public boundary, with errors that name the argument and what was given.

Every public method of the four interfaces checks its arguments here before any adapter code runs,
so a wrong type, an empty value or a bad shape gets the same ``InvalidInputError`` on every backend
(``register_entity: join_keys must be a list of names, not the string 'CUSTOMER_ID'``) instead of an
``AttributeError`` from deep inside an engine. Names themselves are checked in ``names.py``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mlops_kit import names
from mlops_kit.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")

#: The longest text a param value may have on every backend (MLflow's limit is 6,000 characters).
MAX_PARAM_LENGTH = 6000


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(value: object) -> str:
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def text(value: object, argument: str, *, allow_empty: bool = False, max_length: int | None = None) -> str:
    """A string argument (SQL, a description, a comment).

    Raises:
        InvalidInputError: ``value`` is not a string, is blank (unless ``allow_empty``) or longer
            than ``max_length``.
    """
    if not isinstance(value, str):
        raise InvalidInputError(f"{argument} must be a string, not {_type_name(value)} {_shown(value)}")
    if not allow_empty and not value.strip():
        raise InvalidInputError(f"{argument} is empty")
    if max_length is not None and len(value) > max_length:
        raise InvalidInputError(f"{argument} has {len(value):,} characters; at most {max_length:,} are allowed")
    _require_unicode(value, argument)
    return value


def _require_unicode(value: str, argument: str) -> None:
    """Text every store can keep: a lone surrogate (``"\ud800"``, from a mis-decoded file name, say) has
    no UTF-8 form, and MLflow, DuckDB and Snowflake all store UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"{argument} holds a character that is not text, {value[exc.start]!r} (a lone surrogate) at position "
            f"{exc.start}: it cannot be stored; decode the text it came from correctly"
        ) from None


def optional_text(value: object, argument: str) -> str:
    """A string argument that may be empty or None (a description): None becomes ``""``."""
    return "" if value is None else text(value, argument, allow_empty=True)


def identifier_list(
    value: object, argument: str, what: str, *, allow_empty: bool = False, keyword_ok: bool = False
) -> tuple[str, ...]:
    """A list of identifiers (join keys, entities, label columns), canonical, without repeats.

    A lone string is refused rather than read as a list of its characters.

    Raises:
        InvalidInputError: ``value`` is a string or not a list, is empty (unless ``allow_empty``),
            or holds a bad name or the same name twice.
    """
    if isinstance(value, str):
        raise InvalidInputError(f"{argument} must be a list of names, not the string {value!r}: write [{value!r}]")
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise InvalidInputError(f"{argument} must be a list of names, not {_type_name(value)} {_shown(value)}")
    canonical = tuple(names.identifier(item, f"{what} in {argument}", keyword_ok=keyword_ok) for item in value)
    if not canonical and not allow_empty:
        raise InvalidInputError(f"{argument} is empty: give at least one {what}")
    repeated = sorted({n for n in canonical if canonical.count(n) > 1})
    if repeated:
        raise InvalidInputError(f"{argument} names {', '.join(repeated)} more than once")
    return canonical


def optional_identifier(value: object, what: str) -> str | None:
    """An identifier that may be None (a timestamp column)."""
    return None if value is None else names.identifier(value, what, keyword_ok=True)  # type: ignore[arg-type]


def choice(value: object, argument: str, choices: Sequence[T]) -> T:
    """One of ``choices`` (compared as given).

    Raises:
        InvalidInputError: anything else; the message lists the choices.
    """
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise InvalidInputError(f"{argument} must be one of {listed}, not {_shown(value)}")
    return value  # type: ignore[return-value]


def flag(value: object, argument: str) -> bool:
    """A bool argument (``overwrite``, ``replace``): 1 or "yes" are refused, not guessed."""
    if not isinstance(value, bool):
        raise InvalidInputError(f"{argument} must be True or False, not {_type_name(value)} {_shown(value)}")
    return value


def frame(value: object, argument: str, *, allow_empty: bool = False) -> pd.DataFrame:
    """A pandas DataFrame argument.

    Raises:
        InvalidInputError: ``value`` is not a DataFrame (the message says how to make one from a
            NumPy array or a list), has no columns, or has no rows (unless ``allow_empty``).
    """
    import pandas as pd

    if not isinstance(value, pd.DataFrame):
        hint = ""
        if type(value).__module__ == "numpy" or isinstance(value, (list, tuple)):
            hint = ": wrap it as pandas.DataFrame(rows, columns=[...]) so its columns have names"
        raise InvalidInputError(f"{argument} must be a pandas DataFrame, not {_type_name(value)}{hint}")
    if len(value.columns) == 0:
        raise InvalidInputError(f"{argument} has no columns")
    if len(value) == 0 and not allow_empty:
        raise InvalidInputError(f"{argument} has no rows")
    return value


def finite_number(value: object, argument: str) -> float:
    """A metric value: an int or float (NumPy scalars included), finite.

    Raises:
        InvalidInputError: a bool, a string, None, NaN or an infinity.
    """
    if isinstance(value, bool) or not _is_real(value):
        raise InvalidInputError(f"{argument} must be a number, not {_type_name(value)} {_shown(value)}")
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise InvalidInputError(f"{argument} is {number}: only finite numbers can be logged")
    return number


def _is_real(value: object) -> bool:
    import numbers

    return isinstance(value, numbers.Real)


#: The largest whole number every store keeps (a 64-bit integer: MLflow's SQL columns, DuckDB's BIGINT).
MAX_WHOLE_NUMBER = 2**63 - 1


def whole_number(value: object, argument: str, *, minimum: int | None = None) -> int:
    """An int argument (a step, a count) that fits in 64 bits; a bool or a float with a fraction is refused."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInputError(f"{argument} must be a whole number, not {_type_name(value)} {_shown(value)}")
    number = int(value)
    if minimum is not None and number < minimum:
        raise InvalidInputError(f"{argument} must be at least {minimum}, not {number}")
    if abs(number) > MAX_WHOLE_NUMBER:
        raise InvalidInputError(f"{argument} must be at most {MAX_WHOLE_NUMBER:,} (a 64-bit integer), not {number:,}")
    return number


def mapping(value: object, argument: str) -> Mapping[Any, Any]:
    """A dict-like argument (params, metrics); None is an empty one."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{argument} must be a dict, not {_type_name(value)} {_shown(value)}")
    return value


def existing_file(value: object, argument: str) -> Path:
    """A path argument that must name an existing file (or folder, for artifacts)."""
    if not isinstance(value, (str, Path)) or not str(value).strip():
        raise InvalidInputError(f"{argument} must be a path, not {_type_name(value)} {_shown(value)}")
    path = Path(value)
    if not path.exists():
        raise InvalidInputError(f"{argument} {str(path)!r} does not exist")
    return path


def writable_folder(value: object, argument: str) -> Path:
    """A folder to write into, resolved and created (with its parents) when missing.

    Raises:
        InvalidInputError: not a path, a file (or under one), or a folder that cannot be created,
            naming the path and why (the system's reason).
    """
    if not isinstance(value, (str, Path)) or not str(value).strip():
        raise InvalidInputError(f"{argument} must be a folder path, not {_type_name(value)} {_shown(value)}")
    folder = Path(value).expanduser().resolve()
    blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        where = "is a file" if blocking == folder else f"lies under {blocking}, which is a file"
        raise InvalidInputError(f"{argument} {str(folder)!r} {where}: give a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"{argument} {str(folder)!r} cannot be created: {exc.strerror or exc}") from exc
    return folder


def artifact_source(value: object, argument: str) -> Path:
    """A file, or a folder with files, to copy into a run's artifacts, resolved. Copying follows links, so
    a folder may hold none that leads outside it (a link to ``/etc/ssl`` would copy all of it into the
    run, for anyone who reads the run to see); links between its own files are fine.

    Raises:
        InvalidInputError: it does not exist, is a folder with no files, or holds a link out of itself.
    """
    path = existing_file(value, argument).resolve()
    if not path.is_dir():
        return path
    if not any(p.is_file() for p in path.rglob("*")):
        raise InvalidInputError(f"{argument} {str(path)!r} is a folder with no files: there is nothing to log")
    for inside in sorted(path.rglob("*")):
        if inside.is_symlink() and not inside.resolve().is_relative_to(path):
            raise InvalidInputError(
                f"{argument} {str(path)!r} holds a link that leads outside it, {str(inside.relative_to(path))!r} -> "
                f"{str(inside.resolve())!r}: its target would be copied into the run's artifacts. Remove the link, "
                "or copy what it points to into the folder"
            )
    return path


#: The longest param or metric name on every backend (MLflow's limit).
MAX_KEY_LENGTH = 250
#: MLflow's rule for param and metric names (``mlflow.utils.validation``, on POSIX): letters, digits,
#: ``_ - . : /`` and spaces, and a clean relative path (MLflow may store them as files).
_LOGGED_NAME = re.compile(r"[/\w.\- :]+")


def shown(value: object) -> str:
    """``repr(value)``, cut to 60 characters, for error messages."""
    return _shown(value)


def logged_name(value: object, what: str) -> str:
    """A param or metric name (``what`` is "param" or "metric") as MLflow accepts it, on every backend.

    Raises:
        InvalidInputError: not a string, blank, longer than ``MAX_KEY_LENGTH``, with a character
            outside MLflow's set, or not a clean relative path (``../x``, ``/x``, ``a//b``).
    """
    argument = f"{what} name"
    if not isinstance(value, str):
        raise InvalidInputError(f"{argument} must be a string, not {_type_name(value)} {_shown(value)}")
    if not value.strip():
        raise InvalidInputError(f"{argument} {value!r} is empty")
    if len(value) > MAX_KEY_LENGTH:
        raise InvalidInputError(f"{argument} {_shown(value)} has {len(value):,} characters; at most {MAX_KEY_LENGTH}")
    if not _LOGGED_NAME.fullmatch(value):
        raise InvalidInputError(
            f"{argument} {value!r} has a character MLflow refuses: use letters, digits, spaces, '_', '-', '.', ':' or '/'"
        )
    if _unclean_path(value):
        raise InvalidInputError(f"{argument} {value!r} must be a clean relative path (no '..', leading '/' or '//')")
    return value


def relative_path(value: object, argument: str) -> str:
    """A path inside a run's artifacts (``plots``, ``plots/roc.png``): relative, '/'-separated, with
    no ``..`` and no backslash, so it can never point outside the run.

    Raises:
        InvalidInputError: anything else.
    """
    path = text(value, argument).rstrip("/")
    if "\\" in path or _unclean_path(path) or any(ord(c) < 32 for c in path):
        raise InvalidInputError(
            f"{argument} {value!r} must be a relative path inside the run's artifacts, without control characters, like 'plots' or 'plots/roc.png'"
        )
    return path


def file_name(value: object, argument: str) -> str:
    """A plain file name (``roc.png``): no folder part, not ``.`` or ``..``."""
    name = text(value, argument)
    if "/" in name or "\\" in name or name in (".", ".."):
        raise InvalidInputError(f"{argument} {name!r} must be a plain file name like 'roc.png', without folders")
    return name


def instance_of(value: object, argument: str, kind: type[T], hint: str = "") -> T:
    """An argument of type ``kind``; ``hint`` says where such a value comes from."""
    if not isinstance(value, kind):
        raise InvalidInputError(f"{argument} must be a {kind.__name__}{hint}, not {_type_name(value)} {_shown(value)}")
    return value


def list_of(value: object, argument: str, kind: type[T]) -> list[T]:
    """A list (or tuple) of ``kind``; a lone ``kind`` is refused rather than guessed.

    Raises:
        InvalidInputError: not a list or tuple, or an item of another type (the message gives its index).
    """
    if not isinstance(value, (list, tuple)):
        raise InvalidInputError(
            f"{argument} must be a list of {kind.__name__}, not {_type_name(value)} {_shown(value)}"
        )
    for index, item in enumerate(value):
        instance_of(item, f"{argument}[{index}]", kind)
    return list(value)


def _unclean_path(path: str) -> bool:
    import posixpath

    return posixpath.normpath(path) != path or path == "." or path.startswith(("..", "/"))


def model_metrics(value: object, argument: str, *, allow_empty: bool = False) -> dict[str, Any]:
    """Metrics of a model version: names -> finite numbers, or JSON values (a confusion matrix).

    Raises:
        InvalidInputError: not a dict, empty (unless ``allow_empty``), a blank name, a bool, NaN or
            an infinity (also inside a list), or a value JSON cannot hold.
    """
    import json

    values = dict(mapping(value, argument))
    if not values and not allow_empty:
        raise InvalidInputError(f"{argument} is empty: give at least one metric")
    checked: dict[str, Any] = {}
    for key, item in values.items():
        if not isinstance(key, str) or not key.strip():
            raise InvalidInputError(f"{argument} has a metric named {_shown(key)}: names must be non-empty strings")
        where = f"{argument}[{key!r}]"
        if isinstance(item, bool) or _is_real(item):
            checked[key] = finite_number(item, where)
            continue
        try:
            json.dumps(item, allow_nan=False)
        except ValueError as exc:
            raise InvalidInputError(f"{where} holds NaN or an infinity: only finite numbers can be logged") from exc
        except TypeError as exc:
            raise InvalidInputError(
                f"{where} must be a number or a JSON value (list, dict, string), not {_type_name(item)}"
            ) from exc
        checked[key] = item
    return checked


def path(value: object, argument: str, what: str = "a file") -> Path:
    """A path argument (``str`` or ``Path``, not blank); whether it exists is the caller's check,
    which can say more (a folder given for a file, a file that is not a CSV)."""
    if not isinstance(value, (str, Path)) or not str(value).strip():
        raise InvalidInputError(f"{argument} must be the path of {what}, not {_type_name(value)} {_shown(value)}")
    return Path(value)
