-- bench/wrk/baseline.lua -- k6/baseline.js for wrk: GET /risks only, pages
-- 1..RISK_PAGES (default 50) and four sort orders drawn at random, so a
-- cold cache stays mostly cold for a while and a disabled one never helps.
-- tools/bench.sh runs it with 5 connections, cache off and then cache on
-- (starting empty).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

local PAGES = tonumber(os.getenv("RISK_PAGES") or "50")
local SORTS = { "score", "created_at", "impact", "probability" }

setup = common.setup
response = common.response
done = common.done

function init(args)
   common.init()
end

function request()
   return common.get("/risks", { page = math.random(PAGES), sort_by = common.pick(SORTS) })
end
