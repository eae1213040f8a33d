"""Check that every floor pyproject.toml declares is the version the lowest-deps resolution installed.

Run by .ci/lowest-deps with the venv's Python after each phase:
    python .ci/check_floors.py REQUIREMENTS_TXT GROUP [GROUP ...]
where a GROUP is "dependencies" (the core) or the name of an extra. A declared floor that the resolver had to
raise (another package needs more) is not a floor the tests ran with: raise it in pyproject.toml to what was
installed. Exits 1 naming every such floor.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version


def declared_floors(pyproject: dict, groups: list[str]) -> dict[str, Version]:
    """Return the ``>=`` floor of every requirement of ``groups`` (requirements on alsim itself are skipped)."""
    project = pyproject["project"]
    floors: dict[str, Version] = {}
    for group in groups:
        lines = project["dependencies"] if group == "dependencies" else project["optional-dependencies"][group]
        for line in lines:
            requirement = Requirement(line)
            name = canonicalize_name(requirement.name)
            if name == "alsim":
                continue
            lower = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
            if not lower:
                sys.exit(f"ci: {group} requirement {line!r} has no '>=' floor; declare the lowest version it needs.")
            floors[name] = max(lower)
    return floors


def installed_versions(requirements_txt: Path) -> dict[str, Version]:
    """Return the ``name==version`` pins of a compiled requirements file."""
    pinned: dict[str, Version] = {}
    for line in requirements_txt.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, _, version = line.partition("==")
            pinned[canonicalize_name(name.split("[", 1)[0])] = Version(version.split(";", 1)[0].strip())
    return pinned


def main(argv: list[str]) -> int:
    """Compare the floors of the groups named in ``argv[1:]`` with the pins of ``argv[0]``; 1 if any differs."""
    requirements_txt, groups = Path(argv[0]), argv[1:]
    pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    installed = installed_versions(requirements_txt)
    untrue = []
    for name, floor in sorted(declared_floors(pyproject, groups).items()):
        got = installed.get(name)
        if got != floor:
            untrue.append(f"{name}>={floor} (installed: {got or 'nothing'})")
    if untrue:
        print(
            f"ci: floors of {', '.join(groups)} that the lowest resolution did not install: {'; '.join(untrue)}. "
            "Raise each floor in pyproject.toml to the version installed.",
            file=sys.stderr,
        )
        return 1
    print(f"ci: every floor of {', '.join(groups)} is the version installed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
