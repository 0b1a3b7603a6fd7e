-- wrk client for the webhook benchmark: POSTs signed plaintext WeChat text messages and checks
-- every answer. Used for `kefu serve` (scripts/bench-webhook) and for the peers (scripts/bench-peers),
-- so all are measured the same way.
--   wrk -t2 -c32 -d10s -s Benchmarks/webhook/wechat-post.lua http://127.0.0.1:8080/wechat
-- Every request is a new message: each wrk thread has its own MsgIds (random tag, thread number,
-- counter) and its own users (WX_USERS a thread, default 500), so de-duplication never short-cuts one;
-- each is signed with the current time and a nonce of its own (token WX_TOKEN, default benchtoken),
-- the path being the URL's.
-- Checks: a 200 answer must be a real reply, a passive text (or transfer_customer_service) reply to
-- one of this thread's users, and with WX_EXPECT set its Content must be exactly that (the peers'
-- fixed reply). Counted: non200, bad_reply (200 but `success`, not XML, another user, other content).
-- done() prints a summary line and `BENCH_WRK {json}` (requests, non200, bad_reply, replies by type,
-- socket errors, latency percentiles in ms). Server-side duplicates are read from /metrics by
-- scripts/bench-webhook, which writes the benchmark's JSON line.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local wx = dofile(here .. "wechat.lua")

local token = os.getenv("WX_TOKEN") or "benchtoken"
local expect = os.getenv("WX_EXPECT")
if expect == "" then expect = nil end
local users = tonumber(os.getenv("WX_USERS") or "500")
local messages = { "运费多少", "我要退货", "订单 DD202406110001 到哪了", "你好", "发票怎么开", "今天天气怎么样" }
-- WX_TEXTS: the texts to send instead, separated by | (scripts/bench-webhook --calls).
if os.getenv("WX_TEXTS") and os.getenv("WX_TEXTS") ~= "" then
  messages = {}
  for text in string.gmatch(os.getenv("WX_TEXTS"), "[^|]+") do table.insert(messages, text) end
end

-- Main state: number the threads. thread:set puts bench_thread into the thread's own Lua state as a
-- global; it must never be shadowed by a local of the same name (the old script's bug: every thread
-- then saw 0 and all sent the same MsgIds).
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("bench_thread", #threads)
end

-- Thread state (init runs after setup): the tag that makes this run's MsgIds, nonces and users unique.
non200, bad_reply, text_replies, transfer_replies, bad_example = 0, 0, 0, 0, ""
local counter, msg_prefix, user_prefix = 0, nil, nil
function init(args)
  assert(bench_thread, "wechat-post.lua: setup() did not number this thread")
  local tag = wx.random_digits(7)
  msg_prefix = tag .. string.format("%02d", bench_thread)   -- MsgId = 7 + 2 + 9 digits, under 2^63
  user_prefix = "oBench" .. tag .. "_" .. bench_thread .. "_"
  -- WX_USER_PREFIX: fixed user names (PREFIX THREAD _ N), for users whose sessions were stored beforehand (scripts/bench-scale).
  if os.getenv("WX_USER_PREFIX") and os.getenv("WX_USER_PREFIX") ~= "" then user_prefix = os.getenv("WX_USER_PREFIX") .. bench_thread .. "_" end
end

function request()
  counter = counter + 1
  local msg_id = msg_prefix .. string.format("%09d", counter)
  local user = user_prefix .. (counter % users)
  local text = messages[(counter % #messages) + 1]
  return wx.post(wrk.path, token, msg_id, function(now) return wx.text_xml(user, text, msg_id, now) end)
end

local function bad(why, body)
  bad_reply = bad_reply + 1
  if bad_example == "" then bad_example = why .. ": " .. wx.excerpt(body) end
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if bad_example == "" then bad_example = "status " .. status .. ": " .. wx.excerpt(body) end
    return
  end
  local to, msg_type, content = wx.reply(body)
  if not to then return bad("not a reply", body) end
  if to:sub(1, #user_prefix) ~= user_prefix then return bad("reply to another user", body) end
  if msg_type == "text" then
    if expect and content ~= expect then return bad("unexpected content", body) end
    if not content or content == "" then return bad("empty text", body) end
    text_replies = text_replies + 1
  elseif msg_type == "transfer_customer_service" and not expect then
    transfer_replies = transfer_replies + 1
  else
    return bad("reply type " .. tostring(msg_type), body)
  end
end

function done(summary, latency, requests)
  local n200, badr, texts, transfers, example = 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    n200 = n200 + (t:get("non200") or 0)
    badr = badr + (t:get("bad_reply") or 0)
    texts = texts + (t:get("text_replies") or 0)
    transfers = transfers + (t:get("transfer_replies") or 0)
    if example == "" then example = t:get("bad_example") or "" end
  end
  local e = summary.errors
  local sockets = e.connect + e.read + e.write + e.timeout
  local rate = summary.requests / (summary.duration / 1e6)
  io.write(string.format("requests/s %.0f  p50 %.2f ms  p99 %.2f ms  non-200 %d  bad replies %d  socket errors %d  (replies: text %d, transfer %d)\n",
    rate, latency:percentile(50) / 1000, latency:percentile(99) / 1000, n200, badr, sockets, texts, transfers))
  if example ~= "" then io.write("first bad answer: " .. example .. "\n") end
  io.write(string.format(
    'BENCH_WRK {"requests":%d,"duration_s":%.6f,"rps":%.1f,"non200":%d,"bad_reply":%d,"text_replies":%d,"transfer_replies":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"bad_example":%s}\n',
    summary.requests, summary.duration / 1e6, rate, n200, badr, texts, transfers, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    wx.json_string(example)))
end
