-- wrk: one add-blacklist request per call, a fresh valid Turkish mobile each time
-- (the thread's number in the prefix, a counter after it). KEY and HASH come from
-- the environment: KEY=... HASH=... wrk -s bench/add-blacklist.lua URL
local key = os.getenv("KEY") or "k"
local hash = os.getenv("HASH") or "h"
local created = 0
local sent = 0

function setup(thread)
  thread:set("prefix", created)
  created = created + 1
end

function request()
  sent = sent + 1
  local number = string.format("+90533%d%06d", prefix or 0, sent % 1000000)
  local body = string.format(
    '{"request":{"authentication":{"key":"%s","hash":"%s"},"blacklist":{"number":"%s"}}}',
    key, hash, number)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
