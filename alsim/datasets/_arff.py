"""Reading ARFF files, including the Weka dialect that liac-arff rejects.

liac-arff (the parser the ``openml`` client itself uses) reads the standard ARFF grammar. Weka also accepts
range-annotated numeric types such as ``integer [1,10]`` or ``real (0, inf)``; these are legitimate, so the
header is rewritten to plain ``numeric`` before parsing. The ranges are annotations only (Weka does not
enforce them either), so nothing else changes. Lines keep their numbers, so parser errors still point at
the right line of the original file.
"""

from __future__ import annotations

import gzip
import math
import os
import re
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from alsim.exceptions import DatasetError

if TYPE_CHECKING:
    import pandas as pd

_DATA_MARKER = re.compile(r"^[ \t]*@data\b", re.IGNORECASE | re.MULTILINE)
_ATTRIBUTE_PREFIX = re.compile(r"^(\s*@attribute\s+)", re.IGNORECASE)
_RANGED_NUMERIC = re.compile(
    r"(?P<kind>integer|real|numeric)\s*[\[(]\s*(?P<low>[^,\])]*?)\s*,\s*(?P<high>[^,\])]*?)\s*[\])]",
    re.IGNORECASE,
)
_UNSUPPORTED_TYPES = ("date", "relational")

#: Largest ARFF text alsim parses, in bytes after decompression (256 MiB by default; the environment variable
#: ``ALSIM_MAX_ARFF_BYTES`` overrides it). The text and every parsed value are held in memory: an outside test
#: measured 77 s and 5.4 GB of RAM before a 1 GB text failed, and a small ``.arff.gz`` can expand to that.
#: Larger data belongs in parquet or CSV.
DEFAULT_MAX_ARFF_BYTES = 256 * 2**20
_READ_CHUNK = 2**20


def max_arff_bytes() -> int:
    """The decompressed-size limit of ARFF files now in force (``ALSIM_MAX_ARFF_BYTES`` or the default)."""
    value = os.environ.get("ALSIM_MAX_ARFF_BYTES", "").strip()
    if not value:
        return DEFAULT_MAX_ARFF_BYTES
    if not value.isdigit() or int(value) < 1:
        raise DatasetError(
            f"The environment variable ALSIM_MAX_ARFF_BYTES must be a positive whole number of bytes. "
            f"Got {value!r} instead."
        )
    return int(value)


def read_arff(path: Path) -> tuple[str, pd.DataFrame]:
    """Parse an ARFF file (optionally gzip-compressed) into its relation name and a table.

    Numeric attributes become float64 columns, nominal and string attributes become pandas
    'category' columns (declared order for nominal ones); ``?`` becomes a missing value.

    Raises
    ------
    DatasetError
        If the file is empty, not valid gzip, or not valid ARFF (with the file, line and reason).
    """
    text = _read_text(path)
    if not text.strip():
        raise DatasetError(f"The ARFF file {path} is empty.")
    text = _normalise_weka_header(text, path)

    import arff

    try:
        decoded = arff.loads(text)
    except arff.ArffException as exc:
        raise DatasetError(f"The ARFF file {path} is corrupt: {exc}") from exc
    if not decoded["data"]:
        raise DatasetError(f"The ARFF file {path} declares its attributes but has no data rows.")
    return str(decoded["relation"]), _to_frame(decoded["attributes"], decoded["data"])


def _too_large(path: Path, limit: int, compressed: bool) -> DatasetError:
    what = "expands to more than" if compressed else "is larger than"
    return DatasetError(
        f"The ARFF file {path} {what} {limit / 2**20:g} MiB, the limit alsim parses (ARFF parsing holds "
        "everything in memory). Convert it to parquet or CSV, or raise the limit with the environment "
        "variable ALSIM_MAX_ARFF_BYTES (in bytes)."
    )


def _read_text(path: Path) -> str:
    limit = max_arff_bytes()
    try:
        if path.name.lower().endswith(".gz"):
            # Streamed in chunks: a small archive that expands beyond the limit stops at the limit.
            chunks: list[bytes] = []
            size = 0
            with gzip.open(path, "rb") as handle:
                while chunk := handle.read(_READ_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise _too_large(path, limit, compressed=True)
                    chunks.append(chunk)
            raw = b"".join(chunks)
        else:
            if path.stat().st_size > limit:
                raise _too_large(path, limit, compressed=False)
            raw = path.read_bytes()
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DatasetError(f"The file {path} is not a valid gzip archive ({exc}).") from exc
    except OSError as exc:
        raise DatasetError(f"Cannot read the dataset file {path}: {exc}.") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # Older ARFF files are often Latin-1, which decodes any byte sequence.
        return raw.decode("latin-1")


def _normalise_weka_header(text: str, path: Path) -> str:
    """Rewrite Weka's range-annotated numeric types in the header to plain ``numeric``."""
    marker = _DATA_MARKER.search(text)
    header_end = marker.start() if marker else len(text)
    header_lines = text[:header_end].split("\n")
    changed = False
    for number, line in enumerate(header_lines, start=1):
        prefix_match = _ATTRIBUTE_PREFIX.match(line)
        if prefix_match is None:
            continue
        name_end = _end_of_name(line, prefix_match.end())
        type_spec = line[name_end:].strip()
        lowered = type_spec.lower()
        if lowered.startswith(_UNSUPPORTED_TYPES):
            kind = lowered.split()[0]
            raise DatasetError(
                f"{path}, line {number}: attribute {line[prefix_match.end() : name_end].strip()} has type "
                f"'{kind}', which alsim cannot use as a feature. Convert it to numeric or nominal, or "
                "remove it from the file."
            )
        ranged = _RANGED_NUMERIC.fullmatch(type_spec)
        if ranged is None:
            continue
        for bound in (ranged["low"], ranged["high"]):
            if not _is_bound(bound):
                raise DatasetError(
                    f"{path}, line {number}: the range of a {ranged['kind']} attribute must have numeric "
                    f"bounds (or -inf/inf), like 'integer [1,10]'. Got {type_spec!r} instead."
                )
        header_lines[number - 1] = line[:name_end] + " numeric"
        changed = True
    if not changed:
        return text
    return "\n".join(header_lines) + text[header_end:]


def _end_of_name(line: str, start: int) -> int:
    """Index just past the attribute name that starts at ``start`` (quoted or bare)."""
    if start < len(line) and line[start] in "'\"":
        quote = line[start]
        index = start + 1
        while index < len(line):
            if line[index] == "\\":
                index += 2
                continue
            if line[index] == quote:
                return index + 1
            index += 1
        return len(line)
    match = re.compile(r"\S+").match(line, start)
    return match.end() if match else start


def _is_bound(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return not math.isnan(value)


def _to_frame(attributes: list[tuple[str, object]], rows: list[list[object]]) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    columns: dict[str, object] = {}
    for position, (name, kind) in enumerate(attributes):
        values = [row[position] for row in rows]
        if isinstance(kind, list):
            declared = list(dict.fromkeys(str(value) for value in kind))
            columns[name] = pd.Categorical(values, categories=declared)
        elif str(kind).upper() == "STRING":
            columns[name] = pd.Categorical(values)
        else:
            columns[name] = np.array(values, dtype=np.float64)
    return pd.DataFrame(columns)
