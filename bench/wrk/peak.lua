-- bench/wrk/peak.lua -- k6/peak.js for wrk: a random mix of every cached
-- read plus WRITE_SHARE (default 0.05) of writes.
--
-- Reads are drawn as k6's are: lists (page 1..3, any severity), search,
-- matrices, stats by period, trends, connectors and single risks,
-- connectors and apps by id (ids from BENCH_IDS_FILE).  A write POSTs a
-- risk, PATCHes a demo risk's description, or DELETEs a risk this thread
-- created (never the demo data): every write invalidates the tenant's
-- lists, search, matrices and dashboards at commit, which is what the
-- 0 / 5 / 20 % comparison shows.  Created risks carry the tag wrk-bench so
-- tools/bench.sh can delete the ones still alive after the run.  Needs an
-- admin token (DELETE).  wrk cannot ramp: tools/bench.sh runs this in
-- steps of increasing connections.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

local WRITE_SHARE = tonumber(os.getenv("WRITE_SHARE") or "0.05")
local SEVERITIES = { false, "LOW", "MEDIUM", "HIGH", "CRITICAL" }
local PERIODS = { "week", "month", "quarter", "year", "all" }
local WORDS = { "access", "vendor", "backup", "phishing", "ransomware", "audit", "cloud", "patch" }
local ids
local n = 0

if not WRITE_SHARE or WRITE_SHARE < 0 or WRITE_SHARE > 1 then
   error("WRITE_SHARE must be between 0 and 1, got " .. tostring(os.getenv("WRITE_SHARE")))
end

local READS = {
   function() return common.get("/risks", { page = math.random(3), severity = common.pick(SEVERITIES) or nil }) end,
   function() return common.get("/risks/search", { q = common.pick(WORDS) }) end,
   function() return common.get("/risks/matrix", { period = common.pick(PERIODS) }) end,
   function() return common.get("/risks/" .. common.pick(ids.risk)) end,
   function() return common.get("/stats", { period = common.pick(PERIODS) }) end,
   function() return common.get("/stats/risk-matrix") end,
   function() return common.get("/stats/trends", { days = common.pick({ 7, 30, 90 }) }) end,
   function() return common.get("/marketplace/connectors", { page = math.random(2) }) end,
   function() return common.get("/marketplace/connectors/" .. common.pick(ids.connector)) end,
   function() return common.get("/marketplace/apps/" .. common.pick(ids.app)) end,
}

local function write()
   bench_writes = bench_writes + 1
   local created = common.created
   local kind = #created == 0 and "create" or common.pick({ "create", "update", "delete" })
   if kind == "create" then
      n = n + 1
      local body = string.format(
         '{"title": "wrk peak risk %d-%d", "impact": %d, "probability": %d, "tags": ["wrk-bench"]}',
         thread_no or 0, n, math.random(5), math.random(5))
      return common.send("POST", "/risks", body)
   elseif kind == "update" then
      local body = string.format('{"description": "touched by wrk thread %d at %d"}', thread_no or 0, os.time())
      return common.send("PATCH", "/risks/" .. common.pick(ids.risk), body)
   end
   return wrk.format("DELETE", common.path("/risks/" .. table.remove(created)))
end

setup = common.setup
response = common.response
done = common.done

function init(args)
   common.init()
   common.created = {}
   ids = common.ids
   for _, kind in ipairs({ "risk", "connector", "app" }) do
      if #ids[kind] == 0 then
         error("no " .. kind .. " ids in BENCH_IDS_FILE (tools/bench.sh writes them)")
      end
   end
end

function request()
   if math.random() < WRITE_SHARE then
      return write()
   end
   return common.pick(READS)()
end
