-- Shared by the scenario scripts: per-thread counters and the JSON summary that
-- bench/harness.py reads (one line starting with WRK_JSON). Latencies are in microseconds.
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

non2xx = 0
function count_status(status)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function response(status, headers, body)
  count_status(status)
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + (thread:get("non2xx") or 0) end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "non2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, bad, e.connect + e.read + e.write + e.timeout))
end

-- Lines of a file (paths, tokens), or an empty table when the variable is unset.
function lines_of(variable)
  local name = os.getenv(variable)
  local out = {}
  if not name then return out end
  for line in io.lines(name) do if line ~= "" then table.insert(out, line) end end
  return out
end

function read_file(variable)
  local name = os.getenv(variable)
  if not name then return nil end
  local f = assert(io.open(name, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end
