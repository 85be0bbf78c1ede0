-- wrk_report.lua — shared by the wrk scripts: prints one machine-readable BENCH line when a run ends.
--
-- bench/run.sh reads this line rather than wrk's human summary, so the numbers it
-- records are exactly wrk's own counters. Latencies are in microseconds.

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"BENCH requests=%d duration_us=%d bytes=%d non2xx=%d connect_err=%d read_err=%d " ..
		"write_err=%d timeouts=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
		summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read,
		e.write, e.timeout, latency:percentile(50), latency:percentile(90),
		latency:percentile(99), latency.max))
end
