-- POST the JSON document in BENCH_BODY to the URL, with a fresh Idempotency-Key per request
-- and "Authorization: Bearer $BENCH_TOKEN" when set. Every "{{n}}" in the document becomes a
-- number unique to the request (so each filing names a new applicant).
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
require("common")

local template = read_file("BENCH_BODY") or "{}"
local token = os.getenv("BENCH_TOKEN")
local run = os.getenv("BENCH_RUN") or tostring(os.time())
local n = 0

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if token then wrk.headers["Authorization"] = "Bearer " .. token end
end

function request()
  n = n + 1
  local unique = run .. "-" .. tid .. "-" .. n
  local body = template:gsub("{{n}}", unique)
  wrk.headers["Idempotency-Key"] = "bench-" .. unique
  return wrk.format(nil, nil, nil, body)
end
