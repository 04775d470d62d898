-- Pre-signed Slack requests for wrk: `requests.tsv` holds one request a line, "<signature>\t<timestamp>\t<body>",
-- signed by the bench just before the run. Thread k of n sends lines k, k+n, k+2n, … (wrapping), so writes that
-- must be unique stay unique across threads. Prints one JSON line at the end (read by bench/wrk.py).
local threads = {}
local file = os.getenv("BENCH_REQUESTS")
local content_type = os.getenv("BENCH_CONTENT_TYPE") or "application/x-www-form-urlencoded"

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  for line in io.lines(file) do
    local signature, timestamp, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
    table.insert(requests, {signature, timestamp, body})
  end
  index = id + 1
  step = tonumber(os.getenv("BENCH_THREADS") or "1")
  working, busy, answered, other = 0, 0, 0, 0
end

function request()
  local r = requests[index]
  index = index + step
  if index > #requests then index = ((index - 1) % #requests) + 1 end
  wrk.headers["Content-Type"] = content_type
  wrk.headers["X-Slack-Signature"] = r[1]
  wrk.headers["X-Slack-Request-Timestamp"] = r[2]
  return wrk.format("POST", nil, nil, r[3])
end

function response(status, headers, body)
  if status ~= 200 then
    other = other + 1
  elseif body:find("Working on it", 1, true) then
    working = working + 1
  elseif body:find("Shipmate is busy", 1, true) then
    busy = busy + 1
  else
    answered = answered + 1
  end
end

function done(summary, latency, requests)
  local w, b, a, o = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    w = w + thread:get("working")
    b = b + thread:get("busy")
    a = a + thread:get("answered")
    o = o + thread:get("other")
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, ' ..
    '"mean_ms": %.3f, "answered": %d, "working": %d, "busy": %d, "non_200": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000, a, w, b, o,
    errors.connect, errors.read, errors.write, errors.timeout))
end
