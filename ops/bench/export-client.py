#!/usr/bin/env python3
"""One FHIR Bulk Data export timed end to end, as a client over mutual TLS sees it (standard
library only): kick-off, polling as Retry-After says (bounded), every file downloaded and its
lines counted. Prints one JSON object: resources, files, seconds from kick-off to the manifest
and to the last byte.

Usage: export-client.py KICKOFF_URL CA_PEM CERT_PEM KEY_PEM
"""
import json
import ssl
import sys
import time
import urllib.request

kickoff, ca, cert, key = sys.argv[1:5]
context = ssl.create_default_context(cafile=ca)
context.load_cert_chain(cert, key)


def call(url, method="GET", headers=None):
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, context=context, timeout=600) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


start = time.monotonic()
status, headers, body = call(kickoff, headers={"Prefer": "respond-async", "Accept": "application/fhir+json"})
assert status == 202, (status, body[:300])
location = headers["Content-Location"]
manifest = None
for _ in range(36_000):  # bounded: an hour at the polling pace below
    status, headers, body = call(location)
    if status == 202:
        time.sleep(min(float(headers.get("Retry-After", "1")), 0.1))
        continue
    assert status == 200, (status, body[:300])
    manifest = json.loads(body)
    break
assert manifest is not None, "the export did not complete within the bound"
ready = time.monotonic() - start
resources = 0
for output in manifest["output"]:
    status, _, body = call(output["url"])
    assert status == 200, (status, output["url"])
    lines = body.count(b"\n")
    assert lines == output["count"], (output["url"], lines, output["count"])
    resources += lines
total = time.monotonic() - start
assert call(location, method="DELETE")[0] == 202
print(json.dumps({"resources": resources, "files": len(manifest["output"]), "manifestSeconds": round(ready, 3), "seconds": round(total, 3)}))
