-- The line bench/run.py reads at the end of every wrk run: counts, statuses and latency.
-- Each thread keeps `statuses` (a table by status code) and, when it numbers its requests,
-- `sent`; wrk copies both back from the threads registered in `threads` by setup().
function done(summary, latency, requests)
   local statuses, sent = {}, {}
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses") or {}) do
         statuses[#statuses + 1] = string.format('"%s": %d', status, n)
      end
      sent[#sent + 1] = tostring(thread:get("sent") or 0)
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCH {"requests": %d, "duration_us": %d, "statuses": [{%s}], "sent": [%s], ' ..
      '"errors": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %d}\n',
      summary.requests, summary.duration, table.concat(statuses, "}, {"),
      table.concat(sent, ", "), errors.connect + errors.read + errors.write + errors.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
end
