-- Wraps the shared wrk script (path in env WX_LUA; it reads the request XML from env WX_XML):
-- keeps its request and its non-200 count, and adds
--   * a check of every 200 response body: a text reply (MsgType text), addressed to the request's
--     sender, whose Content is env WX_EXPECT; failures are counted in bad_reply;
--   * done(): one line "BENCH_WRK {json}" with requests, errors, non200, bad_reply and latency
--     percentiles in ms, summed over wrk's threads.
dofile(os.getenv("WX_LUA"))

local shared_response = response
local shared_setup = setup
local sender = string.match(wrk.body or "", "<FromUserName><!%[CDATA%[(.-)%]%]></FromUserName>") or ""
local expect = {
  "<MsgType><![CDATA[text]]></MsgType>",
  "<ToUserName><![CDATA[" .. sender .. "]]></ToUserName>",
  "<Content><![CDATA[" .. (os.getenv("WX_EXPECT") or "") .. "]]></Content>",
}
non200 = non200 or 0
bad_reply = 0

function response(status, headers, body)
  if shared_response then shared_response(status, headers, body) else
    if status ~= 200 then non200 = non200 + 1 end
  end
  if status == 200 then
    for _, e in ipairs(expect) do
      if not string.find(body, e, 1, true) then
        bad_reply = bad_reply + 1
        return
      end
    end
  end
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  if shared_setup then shared_setup(thread) end
end

function done(summary, latency, requests)
  local n200, bad = 0, 0
  for _, t in ipairs(threads) do
    n200 = n200 + (t:get("non200") or 0)
    bad = bad + (t:get("bad_reply") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_WRK {"requests":%d,"duration_s":%.6f,"non200":%d,"bad_reply":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f}\n',
    summary.requests, summary.duration / 1e6, n200, bad, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
