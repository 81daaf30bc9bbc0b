#!/usr/bin/env python3
"""Times a Bulk Data import (ops/bench/fhir): stages every piece (`POST [base]/$import-input`),
kicks off `$import` naming them, and polls its status until the manifest. Reports the staging
time and the import's time from kick-off to the manifest; the rate is the resources written per
second of the latter.

Usage: import-client.py BASE CA_PEM CERT_PEM KEY_PEM TYPE=FILE...
Prints one JSON object.
"""
import json
import sys
import time

import requests


def main():
    base, ca, cert, key = sys.argv[1:5]
    inputs = [argument.split("=", 1) for argument in sys.argv[5:]]
    session = requests.Session()
    session.trust_env = False
    session.verify = ca
    session.cert = (cert, key)

    started = time.monotonic()
    parameters = [{"name": "inputFormat", "valueCode": "application/fhir+ndjson"}]
    lines = 0
    for resource_type, path in inputs:
        with open(path, "rb") as file:
            body = file.read()
        lines += body.count(b"\n")
        reply = session.post(base + "/fhir/$import-input", data=body, headers={"Content-Type": "application/fhir+ndjson"}, timeout=300)
        assert reply.status_code == 201, (reply.status_code, reply.text)
        parameters.append({"name": "input", "part": [{"name": "type", "valueCode": resource_type},
                                                     {"name": "url", "valueUri": reply.headers["Location"]}]})
    staged = time.monotonic()
    reply = session.post(base + "/fhir/$import", json={"resourceType": "Parameters", "parameter": parameters},
                         headers={"Content-Type": "application/fhir+json", "Prefer": "respond-async"}, timeout=60)
    assert reply.status_code == 202, (reply.status_code, reply.text)
    status_url = reply.headers["Content-Location"]
    manifest = None
    for _ in range(36000):  # bounded: an hour at 0.1 s
        reply = session.get(status_url, timeout=60)
        if reply.status_code == 202:
            time.sleep(0.1)
            continue
        assert reply.status_code == 200, (reply.status_code, reply.text)
        manifest = reply.json()
        break
    assert manifest is not None, "the import did not complete"
    finished = time.monotonic()
    assert manifest["refused"] == 0 and manifest["created"] + manifest["skipped"] == lines, manifest
    seconds = finished - staged
    print(json.dumps({"resources": manifest["created"], "lines": lines, "stageSeconds": round(staged - started, 3),
                      "importSeconds": round(seconds, 3), "resourcesPerSecond": round(manifest["created"] / seconds, 1)}))


if __name__ == "__main__":
    main()
