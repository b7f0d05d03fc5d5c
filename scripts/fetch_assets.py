"""Fetch the front-end assets from the npm registry into the package: Swagger UI and ReDoc
into ``plait/openapi/static``, htmx into ``plait/admin/static``.

The docs pages (``/docs``, ``/redoc``) and the admin are served entirely by the app: no CDN
at run time, so they work offline. The files come from the npm packages pinned below, taken
with the ordinary npm client (``npm pack``), and only the files the pages need (plus the
licenses) are copied.
Each ``static/manifest.json`` records the versions, the npm integrity of each tarball and
the SHA-256 of every copied file; the app reads it to version asset URLs, and the test suite
checks the files against it.

    python scripts/fetch_assets.py             # (re)write every package's files
    python scripts/fetch_assets.py htmx.org    # only these packages
    python scripts/fetch_assets.py --check     # fetch again and compare with what is there

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
ADMIN_STATIC = ROOT / "src" / "plait" / "admin" / "static"
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
# The admin's search-as-you-type foreign keys. htmx 2 (the maintained 2.x line): 4.0 renamed
# its events and changed attribute inheritance, and is weeks old.
ADMIN_PACKAGES: dict[str, tuple[str, str, dict[str, str]]] = {
    "htmx.org": ("2.0.11", "htmx", {"dist/htmx.min.js": "htmx.min.js", "LICENSE": "LICENSE"}),
}
ROOTS = ((STATIC, PACKAGES), (ADMIN_STATIC, ADMIN_PACKAGES))
"""Each static folder with the packages whose files (and manifest) it holds."""


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


def fetch(into: Path, packages: dict[str, tuple[str, str, dict[str, str]]]) -> dict[str, Any]:
    """Download the pinned ``packages`` and copy the needed files into ``into``; the
    manifest's entries for them are (re)written, the others kept."""
    path = into / MANIFEST
    manifest: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    with tempfile.TemporaryDirectory(prefix="plait-assets-") as tmp:
        for package, (version, folder, files) in packages.items():
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
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="fetch into a temporary directory and compare with the installed assets",
    )
    parser.add_argument("packages", nargs="*", help="only these packages (default: all)")
    args = parser.parse_args(argv)
    failed = False
    for static, pinned in ROOTS:
        chosen = {k: v for k, v in pinned.items() if not args.packages or k in args.packages}
        if not chosen:
            continue
        if args.check:
            failed |= not _check(static, chosen)
            continue
        for package, (_, folder, _) in chosen.items():
            shutil.rmtree(static / folder, ignore_errors=True)
            print(f"fetching {package}")
        static.mkdir(parents=True, exist_ok=True)
        manifest = fetch(static, chosen)
        for package in chosen:
            entry = manifest[package]
            print(f"{package}@{entry['version']}: {', '.join(entry['files'])}")
    return 1 if failed else 0


def _check(static: Path, packages: dict[str, tuple[str, str, dict[str, str]]]) -> bool:
    """The files in ``static`` are the pinned packages' (fetched again to compare)."""
    with tempfile.TemporaryDirectory(prefix="plait-assets-check-") as tmp:
        fresh = fetch(Path(tmp), packages)
    installed_path = static / MANIFEST
    installed = json.loads(installed_path.read_text()) if installed_path.exists() else {}
    if any(installed.get(package) != fresh[package] for package in packages):
        print(f"fetch_assets: {static} differs from the pinned npm packages", file=sys.stderr)
        return False
    for package in packages:
        entry = fresh[package]
        for name, digest in entry["files"].items():
            if _sha256(static / entry["directory"] / name) != digest:
                print(f"fetch_assets: {entry['directory']}/{name} was modified", file=sys.stderr)
                return False
    print(f"fetch_assets: {', '.join(packages)} match the pinned npm packages")
    return True


if __name__ == "__main__":
    sys.exit(main())
