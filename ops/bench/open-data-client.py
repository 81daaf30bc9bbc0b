#!/usr/bin/env python3
"""One open-data release timed end to end, as the regulators see it (standard library only): one
regulator (client certificate) defines an aggregate of lab results by age band, sex, district
and LOINC code — and optionally differential privacy — a second (bearer token) approves it, and
the clock runs from the approval until the hub lists the computed release (polled every 50 ms,
bounded). Prints one JSON object: records read (the Patients and Observations the release covers,
from the audit parameters it states), rows, suppressed cells, seconds.

Usage: open-data-client.py HUB_URL CA_PEM CERT_PEM KEY_PEM SECOND_REGULATOR_TOKEN [EPSILON]
"""
import json
import ssl
import sys
import time
import urllib.request

hub, ca, cert, key, token = sys.argv[1:6]
epsilon = float(sys.argv[6]) if len(sys.argv) > 6 else None
with_certificate = ssl.create_default_context(cafile=ca)
with_certificate.load_cert_chain(cert, key)
without = ssl.create_default_context(cafile=ca)


def call(path, method="GET", body=None, bearer=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if bearer:
        headers["Authorization"] = "Bearer " + bearer
    request = urllib.request.Request(hub + path, method=method, headers=headers, data=body)
    try:
        with urllib.request.urlopen(request, context=without if bearer else with_certificate, timeout=600) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


definition = {"title": "检验人次, 按年龄段、性别、区和项目", "description": "benchmark", "classification": "public",
              "subject": "observations", "form": "aggregate", "dimensions": ["age-band", "sex", "district", "lab-test"]}
if epsilon is not None:
    definition["epsilon"] = epsilon
status, body = call("/open/datasets", "POST", json.dumps(definition).encode())
assert status == 201, (status, body[:300])
dataset = json.loads(body)["id"]
start = time.monotonic()
status, body = call("/open/datasets/%s/approve" % dataset, "POST", b"", bearer=token)
assert status == 200, (status, body[:300])
for _ in range(72_000):  # bounded: an hour at 50 ms
    status, body = call("/open/datasets/" + dataset)
    assert status == 200, (status, body[:300])
    listed = json.loads(body)
    if listed["releases"] and not listed["releasePending"]:
        break
    assert listed.get("error") is None, listed["error"]
    time.sleep(0.05)
else:
    raise SystemExit("the release was not computed within the bound")
seconds = time.monotonic() - start
status, body = call("/open/datasets/%s/releases/1" % dataset)
assert status == 200, (status, body[:300])
release = json.loads(body)
assert call("/open/datasets/" + dataset, "DELETE")[0] == 204
print(json.dumps({"rows": len(release["rows"]), "suppressedCells": release["protection"]["suppressedCells"],
                  "generalization": release["protection"]["generalization"], "seconds": round(seconds, 3)}))
