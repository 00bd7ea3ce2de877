-- wrk script for make bench-fpm. Environment:
--   BENCH_BODIES  file of request bodies, one a line, POSTed in turn (none: GET)
--   BENCH_EXPECT  text every answer must contain (a reply that lacks it counts as bad)
--   BENCH_MAX     requests in all: each of the BENCH_THREADS threads stops after its share
--                 (wrk's -d bounds the time)
-- done() prints one JSON line: requests, seconds, errors, bad, p50_ms, p99_ms.

local threads = {}
local count = 0

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  local path = os.getenv("BENCH_BODIES")
  if path and path ~= "" then
    for line in io.lines(path) do
      table.insert(bodies, line)
    end
  end
  expect = os.getenv("BENCH_EXPECT") or ""
  local max = tonumber(os.getenv("BENCH_MAX") or "0")
  limit = max > 0 and math.ceil(max / tonumber(os.getenv("BENCH_THREADS") or "1")) or 0
  -- Threads start at different bodies, so that they do not update the same order at once.
  next_body = wrk.thread:get("index") * 7919
  bad = 0
end

function request()
  if #bodies == 0 then
    return wrk.format("GET")
  end
  next_body = next_body + 1
  local body = bodies[(next_body % #bodies) + 1]
  return wrk.format("POST", nil, {["Content-Type"] = "text/xml"}, body)
end

function response(status, headers, body)
  count = count + 1
  if status ~= 200 or not string.find(body, expect, 1, true) then
    bad = bad + 1
    wrk.thread:set("bad", bad)
    if bad == 1 then
      io.stderr:write("bench-fpm: unexpected answer (HTTP " .. status .. "): " .. string.sub(body, 1, 300) .. "\n")
    end
  end
  if limit > 0 and count >= limit then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local bad_total = 0
  for _, t in ipairs(threads) do
    bad_total = bad_total + (tonumber(t:get("bad")) or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "errors": %d, "bad": %d, "p50_ms": %.3f, "p99_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.timeout + e.status,
    bad_total, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
