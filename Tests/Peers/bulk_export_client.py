#!/usr/bin/env python3
"""A Bulk Data client (FHIR Bulk Data Access IG v2), the reference flow scripted with `requests`
as a data center's integration would run it, over mutual TLS: kick-off with
`Prefer: respond-async`, poll the Content-Location as `Retry-After` says, read the manifest,
download every file and parse every NDJSON line with fhir.resources (R4 4.0.1), then delete the
job. Checks on the way what the IG requires: 202 + Content-Location, X-Progress while running,
the manifest's fields, each file's count, `meta.lastUpdated` never after `transactionTime`, the
type of every line, and 404 for the status once deleted.

Usage: bulk_export_client.py KICKOFF_URL CA_PEM CERT_PEM KEY_PEM
Prints one JSON object: {"types": {Type: [ids]}, "progress": [...], "transactionTime": ...}.
"""
import json
import sys
import time
from datetime import datetime

import requests
from fhir.resources import construct_fhir_element


def instant(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def main():
    kickoff, ca, cert, key = sys.argv[1:5]
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE must not override `verify`
    session.verify = ca
    session.cert = (cert, key)

    reply = session.get(kickoff, headers={"Accept": "application/fhir+json", "Prefer": "respond-async"}, timeout=30)
    assert reply.status_code == 202, (reply.status_code, reply.text)
    status_url = reply.headers["Content-Location"]

    progress = []
    manifest = None
    for _ in range(600):  # bounded: at most ~10 minutes at the hub's 1 s Retry-After
        reply = session.get(status_url, headers={"Accept": "application/json"}, timeout=30)
        if reply.status_code == 202:
            progress.append(reply.headers.get("X-Progress", ""))
            time.sleep(min(int(reply.headers.get("Retry-After", "1")), 5))
            continue
        assert reply.status_code == 200, (reply.status_code, reply.text)
        assert reply.headers["Content-Type"].startswith("application/json"), reply.headers["Content-Type"]
        manifest = reply.json()
        break
    assert manifest is not None, "the export did not complete"
    for field in ("transactionTime", "request", "requiresAccessToken", "output", "error"):
        assert field in manifest, field
    assert manifest["requiresAccessToken"] is True
    transaction_time = instant(manifest["transactionTime"])

    types = {}
    for output in manifest["output"]:
        reply = session.get(output["url"], headers={"Accept": "application/fhir+ndjson"}, timeout=60)
        assert reply.status_code == 200, (output["url"], reply.status_code, reply.text)
        assert reply.headers["Content-Type"].startswith("application/fhir+ndjson"), reply.headers["Content-Type"]
        lines = reply.content.decode("utf-8").splitlines()
        assert len(lines) == output["count"], (output["url"], len(lines), output["count"])
        for line in lines:
            document = json.loads(line)
            assert document["resourceType"] == output["type"], (document["resourceType"], output["type"])
            construct_fhir_element(document["resourceType"], document)  # raises on anything R4 refuses
            assert instant(document["meta"]["lastUpdated"]) <= transaction_time, document["meta"]["lastUpdated"]
            types.setdefault(output["type"], []).append(document["id"])

    reply = session.delete(status_url, timeout=30)
    assert reply.status_code == 202, reply.status_code
    reply = session.get(status_url, timeout=30)
    assert reply.status_code == 404, reply.status_code
    print(json.dumps({"types": types, "progress": progress, "transactionTime": manifest["transactionTime"], "request": manifest["request"]}))


if __name__ == "__main__":
    main()
