#!/usr/bin/env python3
"""A Bulk Data import client, scripted with `requests` as a hospital's migration would run it,
over mutual TLS: stage each NDJSON file (`POST [base]/$import-input`, 201 + Location), kick off
(`POST [base]/$import` with a Parameters body in the Bulk Data Import proposal's shape and
`Prefer: respond-async`, 202 + Content-Location), poll as `Retry-After` says (X-Progress while it
runs), read the manifest, download the error file and parse every line with fhir.resources
(R4 4.0.1) as an OperationOutcome.

Usage: bulk_import_client.py BASE CA_PEM CERT_PEM KEY_PEM TYPE=FILE...
Prints one JSON object: {"created": n, "skipped": n, "refused": n, "errors": [diagnostics...],
"progress": [...]}.
"""
import json
import sys
import time

import requests
from fhir.resources import construct_fhir_element


def main():
    base, ca, cert, key = sys.argv[1:5]
    inputs = [argument.split("=", 1) for argument in sys.argv[5:]]
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE must not override `verify`
    session.verify = ca
    session.cert = (cert, key)

    parameters = [{"name": "inputFormat", "valueCode": "application/fhir+ndjson"},
                  {"name": "inputSource", "valueUri": "https://his.example/fhir"}]
    for resource_type, path in inputs:
        with open(path, "rb") as file:
            reply = session.post(base + "/$import-input", data=file.read(),
                                 headers={"Content-Type": "application/fhir+ndjson"}, timeout=60)
        assert reply.status_code == 201, (reply.status_code, reply.text)
        parameters.append({"name": "input", "part": [{"name": "type", "valueCode": resource_type},
                                                     {"name": "url", "valueUri": reply.headers["Location"]}]})

    reply = session.post(base + "/$import", json={"resourceType": "Parameters", "parameter": parameters},
                         headers={"Content-Type": "application/fhir+json", "Prefer": "respond-async"}, timeout=30)
    assert reply.status_code == 202, (reply.status_code, reply.text)
    status_url = reply.headers["Content-Location"]

    progress = []
    manifest = None
    for _ in range(600):  # bounded: at most ~10 minutes at the hub's 1 s Retry-After
        reply = session.get(status_url, timeout=30)
        if reply.status_code == 202:
            progress.append(reply.headers.get("X-Progress", ""))
            time.sleep(min(int(reply.headers.get("Retry-After", "1")), 5))
            continue
        assert reply.status_code == 200, (reply.status_code, reply.text)
        manifest = reply.json()
        break
    assert manifest is not None, "the import did not complete"
    for field in ("transactionTime", "request", "output", "error", "created", "skipped", "refused"):
        assert field in manifest, field
    assert len(manifest["output"]) == len(inputs)

    errors = []
    for error in manifest["error"]:
        assert error["type"] == "OperationOutcome"
        reply = session.get(error["url"], timeout=60)
        assert reply.status_code == 200, (reply.status_code, reply.text)
        assert reply.headers["Content-Type"].startswith("application/fhir+ndjson"), reply.headers["Content-Type"]
        lines = reply.content.decode("utf-8").splitlines()
        assert len(lines) == error["count"], (len(lines), error["count"])
        for line in lines:
            document = json.loads(line)
            outcome = construct_fhir_element("OperationOutcome", document)  # raises on anything R4 refuses
            errors.append(outcome.issue[0].diagnostics)
    print(json.dumps({"created": manifest["created"], "skipped": manifest["skipped"], "refused": manifest["refused"],
                      "errors": errors, "progress": progress, "status": status_url}))


if __name__ == "__main__":
    main()
