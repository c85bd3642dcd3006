-- Claim next, then release, in turn: one officer per thread (run with -t N -c N), each with
-- its own token (line `tid` of BENCH_TOKENS). The claim's reference comes from its response.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
require("common")

local tokens = lines_of("BENCH_TOKENS")
local queue = os.getenv("BENCH_QUEUE") or "standard"
local run = os.getenv("BENCH_RUN") or tostring(os.time())
local held = nil
local n = 0
claims = 0
releases = 0

function init(args)
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. tokens[tid]
end

function request()
  n = n + 1
  wrk.headers["Idempotency-Key"] = "bench-" .. run .. "-" .. tid .. "-" .. n
  if held then
    return wrk.format(nil, "/api/v1/cases/" .. held .. "/release/")
  end
  return wrk.format(nil, "/api/v1/queues/" .. queue .. "/claim/")
end

function response(status, headers, body)
  count_status(status)
  if held then
    held = nil
    if status == 200 then releases = releases + 1 end
  elseif status == 200 then
    held = body:match('"reference":"([^"]+)"')
    claims = claims + 1
  end
end
