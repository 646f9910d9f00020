"""The README's server walk, run as its HTTP equivalent so the README cannot rot.

Each bash block of the README's server section is read line by line: `relief` commands run
as subprocesses (`relief serve` on a free port), every `curl` line is sent with httpx with
the same method, headers and body, and the answer is compared with the `# ...` lines
printed under it: JSON by the keys shown ("..." matches anything), `HTTP/1.1 409` by
status, `content-type:` by header, `event:` lines by the stream's events. jq filters are
not run; the keys they pick are compared in the full answer instead. The plan block's
figures (shipments, loads, units) depend on the solver's clock, so there only the keys and
texts are compared.
"""

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
RELIEF = str(Path(sys.executable).with_name("relief"))
_VAR = re.compile(r"\$([A-Z_]+)|\$\{([A-Z_]+)\}")


def server_blocks() -> list[list[str]]:
    """The bash blocks of the README's server section, continuation lines joined, each a
    list of lines (commands and the `#` lines under them); PostgreSQL's is left out."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The bureau's server (HTTP API)", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    out = []
    for block in blocks:
        if "postgresql" in block:
            continue
        lines: list[str] = []
        for line in block.replace("\\\n", " ").splitlines():
            last = lines[-1] if lines else "#"
            if not last.lstrip().startswith("#") and last.count("'") % 2:  # a quoted body goes on
                lines[-1] += " " + line.strip()
            else:
                lines.append(line)
        out.append(lines)
    return out


def test_readme_has_the_walks_the_issue_asks_for() -> None:
    """Admin, keeper (receive, issue, refused over-issue), dispatcher (plan, watch,
    approve) and a loan (request, approve, return, settle) are all printed."""
    lines = "\n".join(line for block in server_blocks() for line in block)
    for needed in (
        "relief users add admin",
        "/auth/token",
        "/documents/receipts",
        "/documents/issues",
        "HTTP/1.1 409",
        "POST localhost:8000/plans ",
        "/plans/1/events",
        "/plans/1/approval",
        "/aid/loans ",
        "/aid/loans/LN-000001/approval",
        "/aid/loans/LN-000001/return",
        "/aid/loans/LN-000001/settlement",
    ):
        assert needed in lines, needed


@dataclass
class Walk:
    """One block's shell state: variables, the server, the answers' checks."""

    tmp: Path
    loose: bool
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    server: subprocess.Popen[bytes] | None = None

    def expand(self, text: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            if name == "PWD":
                return str(self.tmp)
            return self.env[name]

        return _VAR.sub(value, text)

    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- relief -----------------------------------------------------------------------
    def relief(self, words: list[str], extra: dict[str, str]) -> None:
        env = {**os.environ, **self.env, **extra}
        if words[:1] == ["serve"]:
            self.port = _free_port()
            words = [w if w != "8000" else str(self.port) for w in words]
            self.server = subprocess.Popen([RELIEF, *words], cwd=self.tmp, env=env)
            return
        done = subprocess.run(
            [RELIEF, *words], cwd=self.tmp, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, (words, done.stdout, done.stderr)

    def wait_up(self) -> None:
        for _ in range(600):  # a bound on tries, not a timing assertion
            try:
                if httpx.get(self.base() + "/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError("relief serve never answered /health")

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=120)
            self.server = None

    # -- curl -------------------------------------------------------------------------
    def curl(self, command: str) -> httpx.Response:
        plain = shlex.split(command.split(" | ", 1)[0].split(" > ", 1)[0])
        words = [self.expand(w) for w in plain]  # as bash: a value is not parsed again
        assert words[0] == "curl", words
        method, url, headers, data = None, "", {}, []
        it = iter(words[1:])
        for word in it:
            if word in ("-s", "-i", "-N"):
                continue
            if word == "-o":
                next(it)  # the file the body goes to: checked as a success
            if word == "-X":
                method = next(it)
            elif word == "-H":
                name, _, val = next(it).partition(":")
                headers[name.strip()] = val.strip()
            elif word == "-d":
                data.append(next(it))
            else:
                url = word
        path = url.removeprefix("localhost:8000")
        method = method or ("POST" if data else "GET")
        body = "&".join(data).encode("utf-8")
        if data and "Content-Type" not in headers:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if path.endswith("/events"):
            return self._events(path, headers)
        return httpx.request(method, self.base() + path, headers=headers, content=body)

    def _events(self, path: str, headers: dict[str, str]) -> httpx.Response:
        with httpx.stream("GET", self.base() + path, headers=headers, timeout=600) as stream:
            text = "".join(stream.iter_text())
        return httpx.Response(stream.status_code, headers=stream.headers, text=text)

    def check(self, command: str, answer: httpx.Response, expected: list[str]) -> None:
        if "> /dev/null" in command or " -o " in command:
            assert answer.is_success, (command, answer.text)
            return
        if "grep '^event'" in command:
            events = [ln for ln in answer.text.splitlines() if ln.startswith("event:")]
            wanted = [ln.split()[1] for ln in expected if ln.startswith("event:")]
            assert events, answer.text
            assert events[-1] == f"event: {wanted[-1]}", events
            assert {e.split()[1] for e in events[:-1]} <= set(wanted[:-1]), events
            return
        rest: list[str] = []
        for line in expected:
            if line.startswith("HTTP/1.1 "):
                assert answer.status_code == int(line.split()[1]), (command, answer.text)
            elif line.lower().startswith("content-type:"):
                media = line.split(":", 1)[1].strip()
                assert answer.headers["content-type"].startswith(media), answer.headers
            else:
                rest.append(line)
        shown = _printed_json(rest)
        if shown is None:
            assert answer.status_code < 500, (command, answer.text)
            return  # a text (jq -r) whose figures depend on the run
        got = answer.json()
        listed = isinstance(got, dict) and "items" in got and "items" not in shown
        items = got["items"] if listed else got
        if isinstance(items, list) and isinstance(shown, dict):  # jq '.[]' picks one
            assert any(_matches(shown, item, self.loose) for item in items), (
                command,
                shown,
                got,
            )
        else:
            assert _matches(shown, got, self.loose), (command, shown, got)


def _printed_json(lines: list[str]) -> Any:
    """The JSON printed first under a command (it may span lines), or None; narrative
    comments after it are not output."""
    if not lines or not lines[0].startswith("{"):
        return None
    for end in range(1, len(lines) + 1):
        try:
            return json.loads(" ".join(lines[:end]))
        except json.JSONDecodeError:
            continue
    raise AssertionError(f"unreadable JSON in the README: {lines}")


#: A plan's figures, which depend on how far the solver got in its time limit.
FIGURES = frozenset({"shipments", "routes", "loads", "qty", "depots"})
SOLVED = frozenset({"optimal", "feasible"})


def _matches(shown: Any, got: Any, loose: bool) -> bool:
    """Whether the README's `shown` is what `got` says, for the keys shown."""
    if shown == "...":
        return True
    if isinstance(shown, dict):
        return isinstance(got, dict) and all(
            k in got
            and (
                isinstance(got[k], type(v) | list)
                if loose and k in FIGURES
                else _matches(v, got[k], loose)
            )
            for k, v in shown.items()
        )
    if loose and shown in SOLVED:
        return got in SOLVED
    if isinstance(shown, list):
        return (
            isinstance(got, list)
            and len(shown) == len(got)
            and all(_matches(s, g, loose) for s, g in zip(shown, got, strict=True))
        )
    if isinstance(shown, int) and not isinstance(shown, bool) and isinstance(got, list):
        return shown == len(got)  # a jq `length`
    return bool(shown == got)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _commands(lines: list[str]) -> Iterator[tuple[str, list[str]]]:
    """Each command with the `#` lines printed under it (its expected output)."""
    command: str | None = None
    shown: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            if command is not None:
                yield command, shown
            command, shown = None, []
            continue
        if line.startswith("#"):
            if command is not None:
                shown.append(line.lstrip("#").strip())
            continue
        if command is not None:
            yield command, shown
        command, shown = line, []
    if command is not None:
        yield command, shown


def _run(walk: Walk, command: str, shown: list[str]) -> None:
    if command.startswith("export "):
        name, _, value = command.removeprefix("export ").partition("=")
        walk.env[name] = walk.expand(value)
    elif command.startswith("until curl"):
        walk.wait_up()
    elif command == "kill %1":
        walk.stop()
    elif command.startswith("login()"):
        pass  # `VAR=$(login NAME PASSWORD)` below
    elif command.startswith("curl "):
        walk.check(command, walk.curl(command), shown)
    elif "=$(" in command:
        for part in command.split(";"):
            name, _, call = part.strip().partition("=$(")
            call = call.removesuffix(")")
            if call.startswith("login "):
                _, user, password = call.split()
                call = (
                    "curl -s -X POST localhost:8000/auth/token "
                    f"-d username={user} -d password={password}"
                )
            answer = walk.curl(call)
            assert answer.is_success, (call, answer.text)
            walk.env[name] = (
                answer.headers["etag"] if "etag" in call else answer.json()["access_token"]
            )
    else:
        words = [w for w in shlex.split(command.split(" > ", 1)[0], comments=True) if w != "&"]
        extra = {}
        while "=" in words[0]:
            name, _, value = words.pop(0).partition("=")
            extra[name] = value
        assert words[0] == "relief", command
        walk.relief(words[1:], extra)


@pytest.mark.parametrize("number", range(len(server_blocks())))
def test_readme_server_block_runs_as_printed(number: int, tmp_path: Path) -> None:
    """Every command of the block succeeds and answers what the README prints."""
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    lines = server_blocks()[number]
    walk = Walk(tmp=tmp_path, loose=any("/plans" in line for line in lines))
    walk.env["RELIEF_JWT_SECRET"] = "readme-walk-" + "x" * 40
    try:
        for command, shown in _commands(lines):
            _run(walk, command, shown)
    finally:
        walk.stop()
