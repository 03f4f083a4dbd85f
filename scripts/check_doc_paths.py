"""Fail when a doc cites a file or folder that is not in the repository.

Run by `make lint`. It reads README.md and docs/*.md and checks every path written in backticks or as a
Markdown link target, such as `payments/services/refunds.py`, `deploy/nginx/` or `[jobs](docs/jobs.md)`:

- a path that starts with a top-level entry of the repository must exist from the root;
- a shorter path (`management/commands/seed.py`, `tests/factories.py`) must exist inside some app;
- a path git ignores (`var/`, generated files) is accepted: it exists only once a command has made it.

Only tokens that look like paths are checked: they contain a `/` and either end with `/` or with a file
extension. A `:line` or `::symbol` suffix is dropped first.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOKEN = re.compile(r"`([^`\s]+)`|\]\(([^)\s#]+)(?:#[^)]*)?\)")
PATH_LIKE = re.compile(r"^[A-Za-z0-9_.\-/*]+(/|\.[A-Za-z0-9]{1,5})$")


def candidate(raw: str, doc: Path) -> str | None:
    token = re.split(r"::|:(?=\d)", raw, maxsplit=1)[0]
    if "/" not in token or "://" in raw or token.startswith(("/", "~", "-")) or not PATH_LIKE.match(token):
        return None
    if doc.parent != ROOT and token.startswith(("./", "../")):
        token = str((doc.parent / token).resolve().relative_to(ROOT))
    return token.removeprefix("./")


def ignored_by_git(path: str) -> bool:
    # A folder that does not exist yet matches a "name/" pattern only when asked with a file inside it.
    probe = path + "x" if path.endswith("/") else path
    git = shutil.which("git") or "git"
    # No shell: the doc's text is one argument of a fixed command.
    return subprocess.run([git, "check-ignore", "-q", probe], cwd=ROOT, check=False).returncode == 0  # noqa: S603


def exists(path: str) -> bool:
    if ignored_by_git(path):
        return True
    top = path.split("/", 1)[0]
    if (ROOT / top).exists() or "*" in top:
        return bool(list(ROOT.glob(path.rstrip("/"))))
    return any(app.is_dir() and list(app.glob(path.rstrip("/"))) for app in ROOT.iterdir())


def main() -> int:
    missing = []
    for doc in DOCS:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1):
            for match in TOKEN.finditer(line):
                path = candidate(match.group(1) or match.group(2), doc)
                if path is not None and not exists(path):
                    missing.append(f"{doc.relative_to(ROOT)}:{number}: {path}")
    for entry in missing:
        sys.stderr.write(f"cites a path that does not exist: {entry}\n")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
