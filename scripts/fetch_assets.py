"""Fetch the Swagger UI and ReDoc assets from the npm registry into ``plait/openapi/static``.

The docs pages (``/docs``, ``/redoc``) are served entirely by the app: no CDN at run time, so
they work offline. The files come from the npm packages pinned below, taken with the ordinary
npm client (``npm pack``), and only the files the pages need (plus the licenses) are copied.
``static/manifest.json`` records the versions, the npm integrity of each tarball and the
SHA-256 of every copied file; the app reads it to version asset URLs, and the test suite
checks the files against it.

    python scripts/fetch_assets.py           # (re)write src/plait/openapi/static/
    python scripts/fetch_assets.py --check   # fetch again and compare with what is there

To upgrade, change a version below, run the script, look at the pages, commit the result.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "src" / "plait" / "openapi" / "static"
MANIFEST = "manifest.json"

# package -> (exact version, directory under static/, {file in the package: name in static})
PACKAGES: dict[str, tuple[str, str, dict[str, str]]] = {
    "swagger-ui-dist": (
        "5.35.0",
        "swagger-ui",
        {
            "swagger-ui.css": "swagger-ui.css",
            "swagger-ui-bundle.js": "swagger-ui-bundle.js",
            "oauth2-redirect.js": "oauth2-redirect.js",
            "favicon-32x32.png": "favicon-32x32.png",
            "LICENSE": "LICENSE",
            "NOTICE": "NOTICE",
            "swagger-ui-bundle.js.LICENSE.txt": "swagger-ui-bundle.js.LICENSE.txt",
        },
    ),
    # ReDoc 3 is an ES module that loads its icons from a CDN at run time: stay on 2.x,
    # whose standalone bundle is self-contained.
    "redoc": (
        "2.5.4",
        "redoc",
        {
            "bundles/redoc.standalone.js": "redoc.standalone.js",
            "bundles/redoc.standalone.js.LICENSE.txt": "redoc.standalone.js.LICENSE.txt",
            "LICENSE": "LICENSE",
        },
    ),
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _npm_pack(spec: str, into: Path) -> dict[str, Any]:
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("fetch_assets: npm is not installed (it is needed to fetch the docs assets)")
    result = subprocess.run(
        [npm, "pack", spec, "--json", "--pack-destination", str(into)],
        check=False,
        capture_output=True,
        text=True,
        cwd=into,
    )
    if result.returncode != 0:
        sys.exit(f"fetch_assets: npm pack {spec} failed:\n{result.stderr}")
    info: dict[str, Any] = json.loads(result.stdout)[0]
    return info


def _extract(tarball: Path, files: dict[str, str], dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as archive:
        for source, target in files.items():
            member = archive.getmember(f"package/{source}")
            handle = archive.extractfile(member)
            if handle is None:
                sys.exit(f"fetch_assets: {source} is not a regular file in {tarball.name}")
            (dest / target).write_bytes(handle.read())


def fetch(into: Path) -> dict[str, Any]:
    """Download the pinned packages and copy the needed files into ``into``."""
    manifest: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="plait-assets-") as tmp:
        for package, (version, folder, files) in PACKAGES.items():
            info = _npm_pack(f"{package}@{version}", Path(tmp))
            if info["version"] != version:
                sys.exit(f"fetch_assets: asked for {package}@{version}, got {info['version']}")
            _extract(Path(tmp) / info["filename"], files, into / folder)
            manifest[package] = {
                "version": version,
                "directory": folder,
                "integrity": info["integrity"],
                "files": {name: _sha256(into / folder / name) for name in files.values()},
            }
    (into / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="fetch into a temporary directory and compare with the installed assets",
    )
    args = parser.parse_args(argv)
    if not args.check:
        for package, (_, folder, _) in PACKAGES.items():
            shutil.rmtree(STATIC / folder, ignore_errors=True)
            print(f"fetching {package}")
        STATIC.mkdir(parents=True, exist_ok=True)
        manifest = fetch(STATIC)
        for package, entry in manifest.items():
            print(f"{package}@{entry['version']}: {', '.join(entry['files'])}")
        return 0
    with tempfile.TemporaryDirectory(prefix="plait-assets-check-") as tmp:
        fresh = fetch(Path(tmp))
    installed_path = STATIC / MANIFEST
    installed = json.loads(installed_path.read_text()) if installed_path.exists() else None
    if installed != fresh:
        print("fetch_assets: the docs assets differ from the pinned npm packages", file=sys.stderr)
        return 1
    for entry in fresh.values():
        for name, digest in entry["files"].items():
            if _sha256(STATIC / entry["directory"] / name) != digest:
                print(f"fetch_assets: {entry['directory']}/{name} was modified", file=sys.stderr)
                return 1
    print("fetch_assets: the docs assets match the pinned npm packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
