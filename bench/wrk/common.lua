-- bench/wrk/common.lua -- what every wrk scenario script shares.
--
-- wrk runs one Lua state per thread plus one for setup()/done(); per-thread
-- counters live in globals of the thread states and done() collects them
-- with thread:get().  This module gives the scenario scripts (baseline,
-- warm, peak, get -- the k6 scenarios' twins) the same:
--   * authentication from the environment (BENCH_TOKEN), so the token is
--     never on a command line;
--   * ids to read by from BENCH_IDS_FILE ("risk|connector|app <uuid>" lines,
--     written by tools/bench.sh, like k6's discoverIds());
--   * counting in response(): non-2xx answers and the gateway's truthful
--     X-Cache header (HIT/MISS), and the ids of risks created (Location);
--   * a done() that prints ONE line "BENCH_JSON {...}" with requests, socket
--     errors, latency mean/stdev/max and a percentile table (p1..p99, p99.5,
--     p99.9, p99.99, in microseconds) that tools/lib/bench-summarize.py uses
--     to merge the steps of the peak scenario.
-- Loaded with dofile() by the scenario scripts (see M.load below).

local M = {}

local threads = {}

-- setup() runs in the main state once per thread before it starts.
function M.setup(thread)
   threads[#threads + 1] = thread
   thread:set("thread_no", #threads)
end

-- Per-thread state (globals, so thread:get() can read them in done()).
bench_non2xx = 0
bench_hits = 0
bench_misses = 0
bench_writes = 0
bench_by_status = {}

-- Called from each scenario's init(): token, ids, random seed.
function M.init()
   local token = os.getenv("BENCH_TOKEN")
   if not token or token == "" then
      error("BENCH_TOKEN is not set (tools/bench.sh sets it)")
   end
   wrk.headers["Authorization"] = "Bearer " .. token
   wrk.headers["Accept"] = "application/json"
   M.ids = { risk = {}, connector = {}, app = {} }
   local path = os.getenv("BENCH_IDS_FILE")
   if path and path ~= "" then
      local f = assert(io.open(path, "r"))
      for line in f:lines() do
         local kind, id = line:match("^(%a+) (%S+)$")
         if kind and M.ids[kind] then
            table.insert(M.ids[kind], id)
         end
      end
      f:close()
   end
   math.randomseed(os.time() * 1000 + (thread_no or 0) * 7919)
   M.base = wrk.path:gsub("/+$", "")
end

function M.pick(list)
   return list[math.random(#list)]
end

-- "/risks", {page = 2, sort_by = "score"} -> "<base>/risks?page=2&sort_by=score"
-- (keys in a fixed order so the same query is the same cache key).
function M.path(p, query)
   local out = M.base .. p
   if query then
      local keys = {}
      for k in pairs(query) do keys[#keys + 1] = k end
      table.sort(keys)
      local sep = "?"
      for _, k in ipairs(keys) do
         out = out .. sep .. k .. "=" .. tostring(query[k])
         sep = "&"
      end
   end
   return out
end

function M.get(p, query)
   return wrk.format("GET", M.path(p, query))
end

-- A request with a JSON body: wrk.format() replaces wrk.headers by the
-- table it is given (and writes Content-Length into it), so pass a fresh
-- copy that keeps the token.
function M.send(method, p, body)
   local headers = { ["Content-Type"] = "application/json" }
   for k, v in pairs(wrk.headers) do headers[k] = v end
   return wrk.format(method, M.path(p), headers, body)
end

-- Count what came back; remember risks this thread created (201 + Location).
function M.response(status, headers, body)
   if status < 200 or status > 299 then
      bench_non2xx = bench_non2xx + 1
      bench_by_status[status] = (bench_by_status[status] or 0) + 1
   end
   local xcache = headers["X-Cache"]
   if xcache == "HIT" then
      bench_hits = bench_hits + 1
   elseif xcache == "MISS" then
      bench_misses = bench_misses + 1
   end
   if status == 201 and M.created then
      local loc = headers["Location"]
      local id = loc and loc:match("/risks/([%x-]+)$")
      if id then
         table.insert(M.created, id)
      end
   end
end

local PERCENTILES = {}
for p = 1, 99 do PERCENTILES[#PERCENTILES + 1] = p end
for _, p in ipairs({ 99.5, 99.9, 99.99 }) do PERCENTILES[#PERCENTILES + 1] = p end

-- One JSON line with everything tools/lib/bench-summarize.py needs.
function M.done(summary, latency, requests)
   local non2xx, hits, misses, writes, by_status = 0, 0, 0, 0, {}
   for _, t in ipairs(threads) do
      non2xx = non2xx + (t:get("bench_non2xx") or 0)
      hits = hits + (t:get("bench_hits") or 0)
      misses = misses + (t:get("bench_misses") or 0)
      writes = writes + (t:get("bench_writes") or 0)
      for status, count in pairs(t:get("bench_by_status") or {}) do
         by_status[status] = (by_status[status] or 0) + count
      end
   end
   local statuses = {}
   for status, count in pairs(by_status) do
      statuses[#statuses + 1] = string.format('"%d": %d', status, count)
   end
   local e = summary.errors
   local pct = {}
   for _, p in ipairs(PERCENTILES) do
      pct[#pct + 1] = string.format('["%s", %d]', tostring(p), latency:percentile(p))
   end
   io.write(string.format(
      'BENCH_JSON {"duration_us": %d, "requests": %d, "bytes": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}, ' ..
      '"non2xx": %d, "non2xx_by_status": {%s}, "xcache_hits": %d, "xcache_misses": %d, "writes": %d, ' ..
      '"latency_us": {"min": %d, "mean": %.1f, "stdev": %.1f, "max": %d}, "percentiles_us": [%s]}\n',
      summary.duration, summary.requests, summary.bytes,
      e.connect, e.read, e.write, e.timeout, e.status,
      non2xx, table.concat(statuses, ", "), hits, misses, writes,
      latency.min, latency.mean, latency.stdev, latency.max, table.concat(pct, ", ")))
end

return M
