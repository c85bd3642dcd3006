-- GET, cycling through BENCH_PATHS (a file of paths; default: the -- URL's path), with
-- "Authorization: Bearer $BENCH_TOKEN" when set.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
require("common")

local paths = lines_of("BENCH_PATHS")
local token = os.getenv("BENCH_TOKEN")
local n = 0

function init(args)
  if token then wrk.headers["Authorization"] = "Bearer " .. token end
  n = tid * 7919  -- threads start at different places in the list
end

function request()
  if #paths == 0 then return wrk.format("GET") end
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end
