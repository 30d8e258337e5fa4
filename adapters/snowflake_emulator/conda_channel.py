"""What the emulator knows of Snowflake's conda channel: a dated list (snowflake_conda_channel.json),
and the check of a model's recorded conda dependencies against it.

The list confirms versions; it does not deny any: a dependency it cannot confirm may still be on the
channel. On a live account, INFORMATION_SCHEMA.PACKAGES is the authority (the README gives the SQL).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

LIST_FILE = Path(__file__).with_name("snowflake_conda_channel.json")


@dataclass(frozen=True)
class CondaChannel:
    checked_on: str
    runtime_version: str
    packages: dict[str, tuple[str, ...]]

    def confirms(self, requirement: str) -> bool:
        """Whether a listed version satisfies a conda requirement (``name``, ``name==1.2.*``, ``name>=1,<2``)."""
        try:
            parsed = Requirement(requirement.split("::")[-1])
        except InvalidRequirement:
            return False
        versions = self.packages.get(parsed.name.lower().replace("_", "-")) or self.packages.get(parsed.name)
        if not versions:
            return False
        for text in versions:
            try:
                if parsed.specifier.contains(Version(text), prereleases=True):
                    return True
            except InvalidVersion:
                continue
        return False

    def unconfirmed(self, requirements: list[str]) -> list[str]:
        """The requirements (other than python itself) no listed version satisfies."""
        return [r for r in requirements if not r.startswith("python") and not self.confirms(r)]


@cache
def channel() -> CondaChannel:
    data = json.loads(LIST_FILE.read_text())
    packages = {name.lower().replace("_", "-"): tuple(versions) for name, versions in data["packages"].items()}
    return CondaChannel(data["checked_on"], data["runtime_version"], packages)


def warehouse_dependencies(version_folder: Path) -> list[str]:
    """The conda dependencies a model version's warehouse runtime asks for (from its MANIFEST.yml)."""
    manifest = yaml.safe_load((version_folder / "MANIFEST.yml").read_text())
    found: list[str] = []
    for runtime in (manifest.get("runtimes") or {}).values():
        conda_file = (runtime.get("dependencies") or {}).get("conda")
        if conda_file and (version_folder / conda_file).is_file():
            environment = yaml.safe_load((version_folder / conda_file).read_text()) or {}
            found.extend(str(d) for d in environment.get("dependencies", []) if isinstance(d, str))
    return found
