-- wrk script: get-blacklist of a random page (1..PAGES) of rowCount 1000.
-- KEY=... HASH=... PAGES=1000 wrk -s get-blacklist.lua URL
local key = os.getenv("KEY") or "k"
local hash = os.getenv("HASH") or "h"
local pages = tonumber(os.getenv("PAGES") or "1000")

function init(args)
  math.randomseed(os.time())
end

function request()
  local body = string.format(
    '{"request":{"authentication":{"key":"%s","hash":"%s"},"blacklist":{"page":%d,"rowCount":1000}}}',
    key, hash, math.random(1, pages))
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
