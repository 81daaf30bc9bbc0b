-- wrk script for ops/bench/fhir: sends, at random, the requests of a file written by
-- `hub-bench requests` (method, path, expected status, body; tab-separated), with the bearer
-- token wrk is given (-H), and prints a JSON summary: requests/s, p50/p99, unexpected answers.
--
--   wrk … -s ops/bench/wrk/fhir.lua URL -- REQUESTS-FILE NAME

local requests = {}
local threads = {}


function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  name = args[2]
  for line in io.lines(args[1]) do
    local method, path, expected, body = line:match("^(%u+)\t([^\t]+)\t(%d+)\t(.*)$")
    if method then
      -- wrk.format takes these instead of wrk's own (-H), so those are copied in.
      local headers = {}
      for key, value in pairs(wrk.headers) do headers[key] = value end
      if body ~= "" then headers["Content-Type"] = "application/fhir+json" else body = nil end
      table.insert(requests, wrk.format(method, path, headers, body))
      expected_status = tonumber(expected)
    end
  end
  math.randomseed(1601 + id)
  unexpected = 0
end

-- Every request of a scenario expects the same status (the connections of a thread interleave,
-- so a response cannot be matched to its request here).
function request()
  return requests[math.random(#requests)]
end

function response(status, headers, body)
  if status ~= expected_status then
    unexpected = unexpected + 1
    if unexpected == 1 then io.stderr:write("wrk: unexpected " .. status .. ": " .. body:sub(1, 200) .. "\n") end
  end
end

function done(summary, latency, _)
  local wrong = 0
  for _, thread in ipairs(threads) do wrong = wrong + thread:get("unexpected") end
  local elapsed = summary.duration / 1e6
  io.write(string.format(
    '{"name":"%s","client":"wrk","requests":%d,"errors":%d,"seconds":%.3f,"requestsPerSecond":%.1f,"p50Ms":%.3f,"p99Ms":%.3f}\n',
    threads[1]:get("name"), summary.requests, wrong + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    elapsed, summary.requests / elapsed, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
