-- One GET, the same for every request of the run, as a visitor behind the load balancer.
--   BENCH_PATH    the address to fetch
--   BENCH_COOKIE  a Cookie header (a signed-in visitor's session), or empty
-- The request is built once: wrk's own cost per request stays as small as it can be.
local path = os.getenv("BENCH_PATH")
local cookie = os.getenv("BENCH_COOKIE") or ""
threads = {}
local request_bytes

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   local headers = {
      -- nginx believes these from wrk's address, as it believes the load balancer.
      ["X-Forwarded-For"] = "10.200.0.1",
      ["X-Forwarded-Proto"] = "https",
   }
   if cookie ~= "" then
      headers["Cookie"] = cookie
   end
   request_bytes = wrk.format("GET", path, headers)
   statuses = {}
end

function request()
   return request_bytes
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
