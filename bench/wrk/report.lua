-- Shared by every workload script: count responses by status per thread, and print one JSON
-- line of results at the end (wrk's own summary is kept for humans).
local threads = {}
local counts = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function count_status(status)
  counts[status] = (counts[status] or 0) + 1
end

function get_counts()
  local parts = {}
  for status, n in pairs(counts) do table.insert(parts, string.format('"%d": %d', status, n)) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local text = thread:get("status_json")
    if text then
      for status, n in string.gmatch(text, '"(%d+)": (%d+)') do
        merged[status] = (merged[status] or 0) + tonumber(n)
      end
    end
  end
  local ids_out = os.getenv("WRK_IDS_OUT")
  if ids_out then
    local handle = io.open(ids_out, "w")
    for _, thread in ipairs(threads) do handle:write(thread:get("ids") or "") end
    handle:close()
  end
  local parts = {}
  for status, n in pairs(merged) do table.insert(parts, string.format('"%s": %d', status, n)) end
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}, "statuses": {%s}}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, table.concat(parts, ", ")))
end

-- Each script's response() calls this so the per-thread counts reach done().
function record(status)
  count_status(status)
  local parts = {}
  for s, n in pairs(counts) do table.insert(parts, string.format('"%d": %d', s, n)) end
  status_json = "{" .. table.concat(parts, ", ") .. "}"
end
