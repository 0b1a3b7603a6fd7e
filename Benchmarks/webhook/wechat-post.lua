-- wrk script: POST signed plaintext WeChat text messages to `kefu serve` (token "benchtoken").
-- Every request is a new message (its own MsgId and user), so de-duplication never short-cuts it.
-- signature = sha1(sorted(["benchtoken", "1700000000", "8349281"]) joined)
--   wrk -t2 -c32 -d10s -s Benchmarks/webhook/wechat-post.lua http://127.0.0.1:8080/wechat
local path = "/wechat?signature=7a6ebd09869b2f2229baee9ff49eff6f7e0df491&timestamp=1700000000&nonce=8349281"
local messages = { "运费多少", "我要退货", "订单 DD202406110001 到哪了", "你好", "发票怎么开", "今天天气怎么样" }
local counter = 0
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("thread_id", thread_id)
end

function request()
  counter = counter + 1
  local text = messages[(counter % #messages) + 1]
  local body = "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[oBench" ..
    (thread_id or 0) .. "_" .. (counter % 500) .. "]]></FromUserName><CreateTime>1700000000</CreateTime>" ..
    "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[" .. text .. "]]></Content><MsgId>" ..
    ((thread_id or 0) * 1000000000 + counter) .. "</MsgId></xml>"
  return wrk.format("POST", path, { ["Content-Type"] = "text/xml; charset=utf-8" }, body)
end

non200 = 0
function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end

function done(summary, latency, requests)
  local rate = summary.requests / (summary.duration / 1e6)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("requests/s %.0f  p50 %.2f ms  p99 %.2f ms  errors %d\n",
    rate, latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
  local json = os.getenv("BENCH_JSON")
  if json and json ~= "" then
    local f = io.open(json, "a")
    f:write(string.format('{"workload":"webhook","impl":"kefu","unit":"req/s","value":%.1f,"runs":[%.1f],"p50_ms":%.2f,"p99_ms":%.2f,' ..
      '"note":"kefu serve (release), %s store, unique MsgId per request, 500 users; wrk -t2 -c32; errors %d"}\n',
      rate, rate, latency:percentile(50) / 1000, latency:percentile(99) / 1000, os.getenv("BENCH_STORE") or "sqlite", errors))
    f:close()
  end
end
