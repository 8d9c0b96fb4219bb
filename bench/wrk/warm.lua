-- bench/wrk/warm.lua -- k6/warm.js for wrk: the dashboard's three hot reads,
-- GET /risks, /stats and /marketplace/connectors, in turn (k6 takes them
-- round-robin per VU; here per thread).  tools/bench.sh fills the cache
-- before the cache-on run, so it measures a warm cache.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

local READS = { "/risks", "/stats", "/marketplace/connectors" }
local n = 0

setup = common.setup
response = common.response
done = common.done

function init(args)
   common.init()
end

function request()
   n = n + 1
   return common.get(READS[(n - 1) % #READS + 1])
end
