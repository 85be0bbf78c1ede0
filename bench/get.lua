-- get.lua — wrk script: GET /api/v1/contacts/{id} for ids drawn at random from [MIN_ID, MAX_ID].
--
-- usage: wrk -s bench/get.lua URL -- API_KEY MIN_ID MAX_ID
-- Each thread seeds its own generator with its thread number, so the sequence of
-- ids is the same on every run (and for kizuna and the nginx baseline alike).

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "wrk_report.lua")

local threads = 0
function setup(thread)
	thread:set("tid", threads)
	threads = threads + 1
end

local lo, hi = 1, 1
function init(args)
	if args[1] and args[1] ~= "" then
		wrk.headers["Authorization"] = "Bearer " .. args[1]
	end
	lo = tonumber(args[2]) or 1
	hi = tonumber(args[3]) or lo
	math.randomseed(1000 + (tid or 0))
end

function request()
	return wrk.format("GET", "/api/v1/contacts/" .. math.random(lo, hi))
end
