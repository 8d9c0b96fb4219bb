-- bench/wrk/get.lua -- one fixed URL (the one on wrk's command line), as
-- fast as wrk can: no response() hook, so wrk does not hand every answer
-- to Lua.  Used for the cached GET /stats vs ceiling comparison, where
-- both sides must be measured the same way; only done() reports (non-2xx
-- appear there as errors.status: wrk counts statuses > 399).  BENCH_TOKEN
-- is optional here (the ceiling needs none).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

setup = common.setup
done = common.done

function init(args)
   local token = os.getenv("BENCH_TOKEN")
   if token and token ~= "" then
      wrk.headers["Authorization"] = "Bearer " .. token
   end
end
