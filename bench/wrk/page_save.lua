-- PUT edits through the pages API. Each thread edits its own pages over ONE connection, so
-- every save carries the revision it really started from: the first from the pages file
-- (WRK_PAGES: "<api path>\t<current revision id>" per line), then from the previous answer.
-- WRK_TOKEN is a coordinator's bearer token; WRK_THREADS the number of wrk threads.
local token = os.getenv("WRK_TOKEN")
local all = {}
for line in io.lines(os.getenv("WRK_PAGES")) do
  local path, revision = string.match(line, "^(%S+)\t(%d+)$")
  if path then table.insert(all, {path, tonumber(revision)}) end
end
local mine, base, turn, current = {}, {}, 0, nil

function init(args)
  local threads = tonumber(os.getenv("WRK_THREADS") or "1")
  for i, item in ipairs(all) do
    if (i - 1) % threads == (id - 1) then
      table.insert(mine, item[1])
      base[item[1]] = item[2]
    end
  end
end

function request()
  turn = turn + 1
  current = mine[(turn - 1) % #mine + 1]
  local body = string.format(
    '{"body": "# Update %d\\n\\nSaved by the benchmark, thread %d, turn %d.\\n", "base_revision": %d, "comment": "bench"}',
    turn, id, turn, base[current])
  return wrk.format("PUT", current, {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  local revision = string.match(body, '"base_revision":%s*(%d+)')
  if revision then base[current] = tonumber(revision) end
  record(status)
end
