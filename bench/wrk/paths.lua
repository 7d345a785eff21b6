-- GET a random path from the file named by WRK_PATHS (one path per line). Used for page
-- views, searches and map viewports: the list decides the workload.
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do
  if #line > 0 then table.insert(paths, line) end
end
math.randomseed(os.time() + (id or 0))

function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
end

-- WRK_NO_CACHE=1 asks for fresh answers (Cache-Control: no-cache; crisiswiki's search result cache honours it).
local headers = {}
if os.getenv("WRK_NO_CACHE") == "1" then headers["Cache-Control"] = "no-cache" end

function request()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

function response(status, headers, body)
  record(status)
end
