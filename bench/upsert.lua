-- upsert.lua — wrk script: POST /api/v1/contacts, a contact with a new email on every request.
--
-- usage: wrk -s bench/upsert.lua URL -- API_KEY RUN_TAG
-- Each wrk thread has its own Lua state; setup() hands each one a number, and the
-- email is "bench-RUN_TAG-t<thread>-<counter>@…", so no two requests of a run
-- (nor of two runs on one database) share an email: every request creates a contact.
-- The bodies are deterministic: the Nth request of thread T is the same every run.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "wrk_report.lua")

local threads = 0
function setup(thread)
	thread:set("tid", threads)
	threads = threads + 1
end

local run_tag = "r"
function init(args)
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
	if args[1] and args[1] ~= "" then
		wrk.headers["Authorization"] = "Bearer " .. args[1]
	end
	run_tag = args[2] or run_tag
end

local people = {
	{ '"last_name":"山田","first_name":"太郎","last_name_kana":"ヤマダ","first_name_kana":"タロウ"', "090-1234-%04d" },
	{ '"last_name":"佐藤","first_name":"花子","last_name_kana":"サトウ","first_name_kana":"ハナコ"', "080-5678-%04d" },
	{ '"last_name":"Smith","first_name":"Emily"', "070-2468-%04d" },
	{ '"last_name":"鈴木","first_name":"翔太","last_name_kana":"スズキ","first_name_kana":"ショウタ"', "03-3210-%04d" },
}
local companies = {
	'{"name":"株式会社サンプル","domain":"sample.co.jp"}',
	'{"name":"Acme Inc.","domain":"acme.com"}',
	'{"name":"青空商事株式会社","domain":"aozora-shoji.co.jp"}',
}
local tags = { '["seminar-2026"]', '["vip","newsletter"]', '["展示会2026","資料請求","trial"]', '[]' }

local n = 0
function request()
	n = n + 1
	local p = people[n % #people + 1]
	local body = string.format(
		'{"email":"bench-%s-t%d-%d@example.jp",%s,"phone":"%s","company":%s,"tags":%s}',
		run_tag, tid or 0, n, p[1], string.format(p[2], n % 10000),
		companies[n % #companies + 1], tags[n % #tags + 1])
	return wrk.format(nil, nil, nil, body)
end
