-- MediaWiki page saves: api.php action=edit, form-encoded, as the logged-in bot (bench/peer/mediawiki.py).
-- WRK_PAGES: one line per page, the form-encoded title, then (WRK_BODY=full) a tab and the
-- form-encoded original wikitext. Each wrk thread (WRK_THREADS of them, one connection each)
-- edits its own pages in turn. WRK_COOKIE is the session cookie, WRK_TOKEN the form-encoded CSRF
-- token. An answer without "result":"Success" (MediaWiki reports errors with HTTP 200) counts as 599.
local cookie = os.getenv("WRK_COOKIE")
local token = os.getenv("WRK_TOKEN")
local full = os.getenv("WRK_BODY") == "full"
local all = {}
for line in io.lines(os.getenv("WRK_PAGES")) do
  local title, text = string.match(line, "^([^\t]+)\t?(.*)$")
  if title then table.insert(all, {title, text}) end
end
local mine, turn = {}, 0
local headers = {["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = cookie}

local function encode(s)
  return (string.gsub(s, "[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  local threads = tonumber(os.getenv("WRK_THREADS") or "1")
  for i, item in ipairs(all) do
    if (i - 1) % threads == (id - 1) then table.insert(mine, item) end
  end
end

function request()
  turn = turn + 1
  local page = mine[(turn - 1) % #mine + 1]
  local text
  if full then
    text = page[2] .. encode(string.format("\n\nUpdated by the benchmark, thread %d, turn %d.\n", id, turn))
  else
    text = encode(string.format("= Update %d =\n\nSaved by the benchmark, thread %d, turn %d.\n", turn, id, turn))
  end
  local body = "action=edit&format=json&formatversion=2&bot=1&summary=bench&title=" .. page[1] ..
               "&text=" .. text .. "&token=" .. token
  return wrk.format("POST", "/api.php", headers, body)
end

function response(status, headers, body)
  if status == 200 and not (string.find(body, '"edit":', 1, true) and string.find(body, '"result":"Success"', 1, true)) then
    status = 599
  end
  record(status)
end
