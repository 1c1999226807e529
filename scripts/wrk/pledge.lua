-- wrk script: POST /api/v1/pledges with a fresh Idempotency-Key per request, to the
-- campaign in $CAMPAIGN (USD), amounts 10.00 to 59.00, one donor email per request.
-- $PLEDGE_PATH overrides the path (the flow ceiling's is /flow/pledges).
local n = 0
local prefix = "x"
local campaign = os.getenv("CAMPAIGN")
local path = os.getenv("PLEDGE_PATH") or "/api/v1/pledges"
function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  prefix = tostring(math.random(1, 1000000000))
end
function request()
  n = n + 1
  local body = '{"campaign_id":"' .. campaign .. '","amount_minor":' .. (1000 + (n % 50) * 100) ..
    ',"currency":"USD","donor":{"email":"d' .. n .. '@example.org"}}'
  return wrk.format("POST", path,
    { ["content-type"] = "application/json", ["idempotency-key"] = "burst-" .. prefix .. "-" .. n }, body)
end
