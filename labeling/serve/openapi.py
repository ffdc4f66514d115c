"""The judge API's OpenAPI document: generate it, write it to docs/, or check the checked-in copy.

    python -m labeling.serve.openapi            # rewrite docs/judge-openapi.json
    python -m labeling.serve.openapi --check    # exit 1 if the checked-in copy is stale
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from labeling.serve.app import create_app
from labeling.serve.settings import ServerSettings

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "judge-openapi.json"


def openapi_document(settings: ServerSettings | None = None) -> dict[str, Any]:
    """The schema the server serves at /openapi.json with these settings (defaults: the documented caps)."""
    return create_app(None, settings or ServerSettings()).openapi()  # type: ignore[arg-type]  # routes only


def render(document: dict[str, Any]) -> str:
    """The canonical text form of the document (sorted keys, stable diffs)."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write or check the checked-in OpenAPI document."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", default=str(DOC_PATH))
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    text = render(openapi_document())
    path = Path(args.path)
    if args.check:
        if not path.is_file() or path.read_text() != text:
            print(f"{path} is stale; regenerate with: python -m labeling.serve.openapi")
            return 1
        print(f"{path} is up to date")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
