-- POST new field reports (GeoJSON Features), each with its own Idempotency-Key, as phones do.
-- WRK_CRISIS names the crisis; WRK_RUN makes keys unique across runs.
local crisis = os.getenv("WRK_CRISIS")
local run = os.getenv("WRK_RUN") or "run"
local n = 0

function init(args)
  math.randomseed(os.time() * 1000 + id)
end

function request()
  n = n + 1
  local lon = -72.9 + math.random() * 0.8
  local lat = 18.3 + math.random() * 0.5
  local body = string.format(
    '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [%.5f, %.5f]}, "properties": {"crisis": "%s", ' ..
    '"title": "Intake report %d from thread %d", "description": "Water point damaged, people queueing since morning.", ' ..
    '"sector": "wash", "source": {"contact": "+509 4%07d", "channel": "sms"}}}', lon, lat, crisis, n, id, math.random(0, 9999999))
  return wrk.format("POST", "/api/v1/reports",
                    {["Content-Type"] = "application/json", ["Idempotency-Key"] = run .. "-" .. id .. "-" .. n}, body)
end

-- The ids of accepted reports (from the Location header), so the harness can check that
-- each one is in the database: "nothing lost" is checked per report, not by counting.
ids = ""

function response(status, headers, body)
  if status == 201 then
    local location = headers["Location"] or headers["location"] or ""
    local report_id = string.match(location, "/reports/(%d+)$")
    if report_id then ids = ids .. report_id .. "," end
  end
  record(status)
end
