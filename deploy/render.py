"""Fill the @NAME@ placeholders of a deploy/ template, strictly.

    python3 deploy/render.py TEMPLATE NAME=VALUE ... > OUTPUT

Every placeholder needs a value and every value a placeholder, so a renamed setting cannot
leave a config half rendered. Standard library only: cloud-init runs it before any virtualenv
exists, and the local stack renders the very same templates with its own values.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")


class RenderError(ValueError):
    pass


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def render(text: str, values: Mapping[str, str]) -> str:
    wanted = placeholders(text)
    missing = sorted(wanted - values.keys())
    unused = sorted(values.keys() - wanted)
    if missing or unused:
        raise RenderError(f"missing values for {missing}; no placeholder for {unused}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def render_file(template: Path, values: Mapping[str, str]) -> str:
    try:
        return render(template.read_text(), values)
    except RenderError as error:
        raise RenderError(f"{template}: {error}") from None


def main(argv: Sequence[str]) -> int:
    if not argv or any("=" not in item for item in argv[1:]):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    values = dict(item.split("=", 1) for item in argv[1:])
    try:
        sys.stdout.write(render_file(Path(argv[0]), values))
    except (OSError, RenderError) as error:
        print(f"render.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
