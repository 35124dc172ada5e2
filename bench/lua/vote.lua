-- Signed-in votes, each from its own account, session, CSRF secret and client address.
--   BENCH_VOTERS     a file of "session-key csrf-secret" lines, one per account
--   BENCH_QUESTIONS  a file of "slug choice-id choice-id ..." lines
--   BENCH_MODE       "hot": everyone votes on the first question; "spread": over all of them
--   BENCH_START      the first pair number of this run (bench/run.py carries it from run to run)
--   BENCH_DELAY_MS   a pause before each request, per connection (0: as fast as answered)
--   BENCH_ORIGIN     the origin the Referer names (Django checks it on HTTPS POSTs)
--   BENCH_THEN_PAGE  "1": as a browser does, load the question page after each vote is
--                    answered (with the cookies the answer set), before the next vote
-- Pair number i (thread t of T sends t, t+T, t+2T, ... after BENCH_START) picks a voter and a
-- question so that no pair repeats across runs: every vote is a first vote, and the end-of-run
-- check can count exactly what each run sent.
local mode = os.getenv("BENCH_MODE")
local start = tonumber(os.getenv("BENCH_START"))
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
local origin = os.getenv("BENCH_ORIGIN")
local then_page = os.getenv("BENCH_THEN_PAGE") == "1"
threads = {}
local counter = 0

local function lines(path)
   local rows = {}
   for line in io.lines(path) do
      local row = {}
      for word in string.gmatch(line, "%S+") do
         row[#row + 1] = word
      end
      rows[#rows + 1] = row
   end
   return rows
end

function setup(thread)
   thread:set("thread_number", counter)
   counter = counter + 1
   threads[#threads + 1] = thread
end

function init(args)
   voters = lines(os.getenv("BENCH_VOTERS"))
   questions = lines(os.getenv("BENCH_QUESTIONS"))
   thread_count = tonumber(os.getenv("BENCH_THREADS"))
   statuses = {}
   sent = 0
   -- Votes sent and not answered yet, oldest first; pages due, each after its vote's answer.
   waiting, due = {}, {}
end

function delay()
   return delay_ms
end

function request()
   if #due > 0 then
      local page = table.remove(due, 1)
      return wrk.format("GET", "/q/" .. page.slug .. "/", page.headers)
   end
   local i = start + thread_number + sent * thread_count
   local voter, question
   if mode == "hot" then
      voter, question = i, 0
   else
      voter, question = math.floor(i / #questions), i % #questions
   end
   if voter >= #voters then
      -- Out of fresh pairs: stop rather than send a vote that is not a first vote.
      wrk.thread:stop()
      voter = #voters - 1
   end
   sent = sent + 1
   local account, q = voters[voter + 1], questions[question + 1]
   local choice = q[2 + (i % (#q - 1))]
   local headers = {
      -- The stack runs with HTTPS=true: the cookies have the __Host- prefix (beebeta/settings.py).
      ["Cookie"] = "__Host-sessionid=" .. account[1] .. "; __Host-csrftoken=" .. account[2],
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Referer"] = origin .. "/q/" .. q[1] .. "/",
      ["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(i / 65536) % 256,
                                          math.floor(i / 256) % 256, i % 256),
      ["X-Forwarded-Proto"] = "https",
   }
   local body = "csrfmiddlewaretoken=" .. account[2] .. "&choice=" .. choice
   if then_page then
      waiting[#waiting + 1] = {slug = q[1], headers = {
         ["Cookie"] = headers["Cookie"],
         ["X-Forwarded-For"] = headers["X-Forwarded-For"],
         ["X-Forwarded-Proto"] = "https",
      }}
   end
   return wrk.format("POST", "/q/" .. q[1] .. "/vote/", headers, body)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   -- Answers come back in about the order the votes went out: the oldest vote waiting is the
   -- one answered. Its page goes next, with a cookie the answer set (the message).
   if then_page and status >= 300 and status < 400 and #waiting > 0 then
      local page = table.remove(waiting, 1)
      local set = headers["Set-Cookie"] or ""
      local message = string.match(set, "(messages=[^;]*)")
      if message then
         page.headers["Cookie"] = page.headers["Cookie"] .. "; " .. message
      end
      due[#due + 1] = page
   end
end

dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
