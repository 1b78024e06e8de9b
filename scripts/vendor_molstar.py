"""Rebuild the vendored Mol* viewer in ``src/qscore/report/assets`` from the npm package.

    python scripts/vendor_molstar.py            # the pinned version, checked against its recorded sha256
    python scripts/vendor_molstar.py --version 5.12.0 --update   # move the pin (records the new sha256)

It runs ``npm pack molstar@VERSION`` (npm must be installed and reach the registry), checks the
tarball's sha256 against ``molstar.json`` (unless ``--update``), and writes:

* ``molstar.js.gz`` and ``molstar.css.gz`` — ``package/build/viewer/molstar.js`` and ``molstar.css``,
  gzipped (level 9, no name or time in the header, so a rebuild is byte-identical);
* ``molstar.LICENSE`` — the package's licence (MIT);
* ``molstar.json`` — the version, the tarball's and each file's sha256 and sizes.

The report embeds the two ``.gz`` files and decompresses them in the page (``DecompressionStream``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "src" / "qscore" / "report" / "assets"
RECORD = ASSETS / "molstar.json"
FILES = {"package/build/viewer/molstar.js": "molstar.js.gz", "package/build/viewer/molstar.css": "molstar.css.gz"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def gzip_bytes(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as f:
        f.write(data)
    return buf.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    record = json.loads(RECORD.read_text()) if RECORD.is_file() else {}
    parser.add_argument("--version", default=record.get("version"), help="molstar version (default: the pinned one)")
    parser.add_argument("--update", action="store_true", help="accept and record a new tarball sha256")
    args = parser.parse_args(argv)
    if not args.version:
        parser.error("no pinned version: give --version")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"molstar@{args.version}", "--silent"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        tarball = next(Path(tmp).glob("molstar-*.tgz")).read_bytes()
    digest = sha256(tarball)
    if not args.update and record.get("tarball_sha256") not in (None, digest):
        print(f"molstar@{args.version}: tarball sha256 {digest} is not the recorded {record['tarball_sha256']}; "
              "rerun with --update to accept it.", file=sys.stderr)
        return 1
    out = {"package": "molstar", "version": args.version, "license": "MIT", "tarball_sha256": digest,
           "source": f"https://registry.npmjs.org/molstar/-/molstar-{args.version}.tgz", "files": {}}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        for member, name in FILES.items():
            data = tar.extractfile(member).read()
            packed = gzip_bytes(data)
            (ASSETS / name).write_bytes(packed)
            out["files"][name] = {"from": member, "sha256": sha256(data), "bytes": len(data),
                                  "gz_sha256": sha256(packed), "gz_bytes": len(packed)}
        (ASSETS / "molstar.LICENSE").write_bytes(tar.extractfile("package/LICENSE").read())
    RECORD.write_text(json.dumps(out, indent=2) + "\n")
    print(f"molstar@{args.version} vendored into {ASSETS} (tarball sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
