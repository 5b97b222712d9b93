"""deploy/Dockerfile, checked statically (issue 12): Docker is not run here.

One multi-stage image for all services: the final stage is slim Python with WeasyPrint's
system libraries, no build tools, a numeric non-root user, HOME in /tmp (the only
writable place under a read-only root filesystem), and `kanalvakt run <service>` chosen
by the command.
"""

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"

BUILD_TOOLS = re.compile(
    r"\b(gcc|g\+\+|clang|cc|make|build-essential|cmake|rustc|cargo|[\w.+-]+-dev)\b"
)


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def _instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) with continuation lines joined and comments dropped."""
    joined: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        joined.append(current + line)
        current = ""
    out = []
    for line in joined:
        keyword, _, args = line.partition(" ")
        out.append((keyword.upper(), args.strip()))
    return out


def _stages() -> tuple[dict[str, str], list[Stage]]:
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, rest in _instructions(DOCKERFILE.read_text(encoding="utf-8")):
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            words = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else ""
            stages.append(Stage(base, name))
        else:
            assert stages, f"{keyword} before any FROM"
            stages[-1].instructions.append((keyword, rest))
    return args, stages


def _final() -> Stage:
    return _stages()[1][-1]


def test_multi_stage_final_from_slim_python() -> None:
    _, stages = _stages()
    assert len(stages) >= 2, "a build stage and a final stage"
    assert all(s.name for s in stages), "every stage is named"
    final = stages[-1]
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", final.base), final.base
    copies = final.all("COPY")
    assert any(c.startswith("--from=build ") for c in copies), "the final stage copies the build"
    assert not any(c.split()[0] in {".", "shared", "services", "kanalvakt"} for c in copies), (
        "no sources in the final stage: only the installed virtualenv"
    )


def test_build_stage_installs_the_wheel() -> None:
    build = _stages()[1][0]
    runs = " ".join(build.all("RUN"))
    assert "pip wheel" in runs
    assert re.search(r"pip install \S*/kanalvakt-\*\.whl", runs), runs


def test_final_stage_has_no_build_tools() -> None:
    runs = " ".join(_final().all("RUN"))
    found = sorted(set(BUILD_TOOLS.findall(runs)))
    assert not found, f"build tools installed in the final stage: {found}"
    assert "--no-install-recommends" in runs


def test_final_stage_has_weasyprint_libraries_of_ci() -> None:
    """The same system packages as .ci/run (Prometheus and Chromium, which only tests
    use, aside): the archive's PDF/A."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    match = re.search(r"APT_PACKAGES=\(([^)]*)\)", ci)
    assert match, ".ci/run declares APT_PACKAGES"
    wanted = set(match.group(1).split()) - {"prometheus", "chromium"}
    installed = set(shlex.split(" ".join(_final().all("RUN"))))
    assert wanted <= installed, f"missing in the final stage: {sorted(wanted - installed)}"


def test_runs_as_numeric_non_root_user() -> None:
    users = _final().all("USER")
    assert users, "USER in the final stage"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit(), f"numeric uid: {users[-1]}"
    assert int(uid) > 0, f"non-root uid: {users[-1]}"
    assert not gid or (gid.isdigit() and int(gid) > 0), f"numeric non-root gid: {users[-1]}"
    final = _final()
    last_user = max(i for i, (kw, _) in enumerate(final.instructions) if kw == "USER")
    assert not any(kw == "RUN" for kw, _ in final.instructions[last_user:]), "no RUN as the user"


def test_read_only_root_filesystem_home_in_tmp() -> None:
    env = " ".join(_final().all("ENV"))
    assert re.search(r"\bHOME=/tmp\b", env), env
    assert "PYTHONDONTWRITEBYTECODE=1" in env, "no .pyc written beside the code at run time"


def test_command_chooses_the_service() -> None:
    final = _final()
    entrypoint = final.all("ENTRYPOINT")
    assert entrypoint == ['["kanalvakt"]'], entrypoint
    assert final.all("CMD"), "a default command (help) when no service is given"
    health = final.all("HEALTHCHECK")
    # Kubernetes probes /healthz and /readyz; Docker's HEALTHCHECK is switched off.
    assert health == ["NONE"], health
    assert final.all("EXPOSE") == ["8080"]
