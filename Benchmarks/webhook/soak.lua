-- wrk client for scripts/soak: many simulated WeChat users on Rules/shop, each walking multi-step
-- flows (after-sales return: 我要退货 → order number → reason → photo → phone → confirm; order
-- status; logistics; a cancelled return) or asking one FAQ question, one message at a time, every
-- answer checked against what the rule set must say at that step.
--   SOAK_RATE=4000 SOAK_THREADS=2 wrk -t2 -c32 -d60s -s Benchmarks/webhook/soak.lua http://127.0.0.1:8080/wechat
-- Env: SOAK_RATE    total requests/s to pace at (wrk's delay(); absent or 0: as fast as answered)
--      SOAK_THREADS the -t given to wrk (the rate is split between the threads)
--      SOAK_USERS   users a thread (default 20000); SOAK_TAG a label in the openids
--      SOAK_SEED    a number naming the users (default: random), SOAK_STATE a path prefix: each
--                   thread starts from SOAK_STATE.N when it exists and done() writes it, so the
--                   next wrk run continues every user's flow (scripts/soak runs one wrk a minute)
--      WX_TOKEN     signing token (default benchtoken)
-- A user sends its next message only after the answer to the previous one (the reply's ToUserName
-- says whose it was), so a flow's steps arrive in order, as from a person. Every request is a new
-- message: own MsgId, signed with the current time and a fresh nonce.
-- done() prints `SOAK_WRK {json}`: requests, rate, non200, wrong (a reply, but not the step's),
-- not_reply (200 without a reply: `success`, garbage), socket errors, latency percentiles, flows
-- completed, the first few wrong answers.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local wx = dofile(here .. "wechat.lua")

local token = os.getenv("WX_TOKEN") or "benchtoken"
local total_rate = tonumber(os.getenv("SOAK_RATE") or "0") or 0
local thread_count = tonumber(os.getenv("SOAK_THREADS") or "1") or 1
local user_count = tonumber(os.getenv("SOAK_USERS") or "20000") or 20000
local run_label = os.getenv("SOAK_TAG") or ""

-- The scripts a user walks. A step says text (`say`) or sends a picture (`image`) and lists what the
-- reply must contain; {order} and {phone} are the user's own. From Rules/shop and Corpora/shop.
local ASK_ORDER = "请回复需要售后的订单号（DD 开头 12 位数字）。"
local ASK_REASON = "请问遇到了什么问题？"
local ASK_PHONE = "请留下您的手机号，售后专员会和您联系。"
local scripts = {
  { name = "return-quality", steps = {
    { say = "我要退货", want = { "我来帮您登记售后", ASK_ORDER } },
    { say = "订单号是 {order}", want = { ASK_REASON } },
    { say = "收到就坏了，开不了机", want = { "麻烦拍一张商品问题处的照片发给我" } },
    { image = true, want = { ASK_PHONE } },
    { say = "{phone}", want = { "请核对售后信息", "订单号：{order}", "原因：质量问题", "手机号：{phone}" } },
    { say = "是", want = { "已为您登记售后：订单 {order}，原因：质量问题。售后专员会在 24 小时内致电 {phone}" } },
  } },
  { name = "return-wrong-item", steps = {
    { say = "申请售后", want = { ASK_ORDER } },
    { say = "{order}", want = { ASK_REASON } },
    { say = "颜色不对，我买的是白色", want = { ASK_PHONE } },
    { say = "{phone}", want = { "原因：发错货", "手机号：{phone}" } },
    { say = "对", want = { "已为您登记售后：订单 {order}，原因：发错货。" } },
  } },
  { name = "return-faq-midway", steps = {
    { say = "不想要了能退吗", want = { ASK_ORDER } },
    { say = "{order}", want = { ASK_REASON } },
    { say = "4", want = { ASK_PHONE } },
    { say = "退货运费谁出？", want = { "七天无理由退货运费由买家承担", ASK_PHONE } },
    { say = "{phone}", want = { "原因：不想要了" } },
    { say = "确认", want = { "已为您登记售后：订单 {order}，原因：不想要了。" } },
  } },
  { name = "return-cancelled", steps = {
    { say = "我要退货", want = { ASK_ORDER } },
    { say = "{order}", want = { ASK_REASON } },
    { say = "不退了", want = { "好的，本次售后登记已取消。" } },
  } },
  { name = "order-status", steps = {
    { say = "订单 {order} 到哪了？", want = { "已为您查询订单 {order}：" } },
  } },
  { name = "logistics", steps = {
    { say = "我的快递到哪了", want = { "请回复订单号（DD 开头 12 位数字），我们为您查询物流。" } },
    { say = "{order}", want = { "已为您查询订单 {order}：" } },
  } },
  { name = "faq-fee", steps = { { say = "运费多少", want = { "全场满 99 元包邮，不满 99 元运费 8 元。" } } } },
  { name = "faq-invoice", steps = { { say = "发票怎么开", want = { "电子发票会在发货后 24 小时内发送到您的邮箱" } } } },
  { name = "faq-greeting", steps = { { say = "你好", want = { "请问有什么可以帮您？" } } } },
  { name = "faq-shipping", steps = { { say = "發貨要幾天？", want = { "现货订单 48 小时内发货" } } } },
  { name = "faq-phone", steps = { { say = "我电话{phone}，有空回我一下", want = { "已记下您的手机号 {phone}" } } } },
  { name = "faq-default", steps = { { say = "今天天气怎么样", want = { "抱歉，我没有理解您的问题。" } } } },
}
-- How often a user picks each script next (flows are several messages each, so about 2/3 of the
-- messages are flow steps and 1/3 single questions).
local weights = { 2, 2, 2, 1, 2, 2, 3, 3, 3, 3, 2, 2 }
local pick = {}
for i, w in ipairs(weights) do for _ = 1, w do pick[#pick + 1] = i end end

-- Main state: number the threads (bench_thread becomes a global of each thread's state).
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("bench_thread", #threads)
end

-- Thread state. A user is (number u, generation gen_of[u]); its openid, order number and phone
-- follow from SOAK_SEED, the thread, u and gen, so a later wrk run (SOAK_STATE) continues it.
non200, wrong, not_reply, answered, sent, flows_done, behind, examples = 0, 0, 0, 0, 0, 0, 0, {}
script_of, step_of, gen_of, waiting, retired = {}, {}, {}, {}, {}
local counter, msg_prefix, user_prefix = 0, nil, nil
local ring, head, tail, queued = {}, 1, 0, 0   -- idle users, first in first out
local interval, next_slot = 0, nil
local seed = tonumber(os.getenv("SOAK_SEED") or "") or nil

local function push(u) tail = tail % user_count + 1; ring[tail] = u; queued = queued + 1 end
local function pop()
  if queued == 0 then return nil end
  local u = ring[head]; head = head % user_count + 1; queued = queued - 1
  return u
end

local function choose(u)
  script_of[u] = pick[math.random(#pick)]
  step_of[u] = 1
end

-- The users' places left by the previous run of this thread (see done()): "u gen script step" lines.
local function restore(path)
  local f = io.open(path, "r")
  if not f then return end
  for line in f:lines() do
    local u, gen, script, step = line:match("^(%d+) (%d+) (%d+) (%d+)$")
    u = tonumber(u)
    if u and u <= user_count then
      gen_of[u], script_of[u], step_of[u] = tonumber(gen), tonumber(script), tonumber(step)
    end
  end
  f:close()
end

function init(args)
  assert(bench_thread, "soak.lua: setup() did not number this thread")
  local tag = wx.random_digits(7)
  math.randomseed(tonumber(tag))
  seed = seed or tonumber(tag)
  msg_prefix = tag .. string.format("%02d", bench_thread)   -- new every run: MsgIds never repeat
  user_prefix = "oSoak" .. run_label .. seed .. "_" .. bench_thread .. "_"
  local state = os.getenv("SOAK_STATE")
  if state and state ~= "" then restore(state .. "." .. bench_thread) end
  for u = 1, user_count do
    if not gen_of[u] then gen_of[u] = 0; choose(u) end
    push(u)
  end
  if total_rate > 0 then interval = 1000 * thread_count / total_rate end
end

if total_rate > 0 then
  -- Paced: request k of this thread goes out at its slot, one every `interval` ms; a thread that
  -- falls more than 100 ms behind (the server is slower than the rate) drops the backlog, counted.
  function delay()
    local now = wx.now_ms()
    if not next_slot then next_slot = now end
    if next_slot < now - 100 then next_slot = now; behind = behind + 1 end
    local d = next_slot - now
    next_slot = next_slot + interval
    return d > 0 and math.floor(d + 0.5) or 0
  end
end

local function fill(s, u)
  local n = seed * 7 + u * 13 + gen_of[u] * 100003
  local order = string.format("DD%02d%010d", bench_thread % 100, n % 1e10)
  local phone = string.format("13%d%08d", bench_thread % 10, n % 1e8)
  return (s:gsub("{order}", order):gsub("{phone}", phone))
end

local function note(kind, u, got)
  if #examples < 5 then
    local step = u and scripts[script_of[u]].steps[step_of[u]]
    examples[#examples + 1] = kind .. (u and (" " .. scripts[script_of[u]].name .. " step " .. step_of[u] ..
      " said " .. (step.say and fill(step.say, u) or "[image]")) or "") .. " got: " .. wx.excerpt(got)
  end
end

function request()
  local u = pop()
  if not u then  -- every user waits for an answer (only when many answers were lost): a throwaway question
    u = 0
  end
  counter = counter + 1
  sent = sent + 1
  local msg_id = msg_prefix .. string.format("%09d", counter)
  local user = user_prefix .. u .. "g" .. (gen_of[u] or 0)
  waiting[u] = true
  if u == 0 then
    return wx.post(wrk.path, token, msg_id, function(now) return wx.text_xml(user, "运费多少", msg_id, now) end)
  end
  local step = scripts[script_of[u]].steps[step_of[u]]
  if step.image then
    return wx.post(wrk.path, token, msg_id, function(now) return wx.image_xml(user, "MEDIA_" .. msg_id, msg_id, now) end)
  end
  local text = fill(step.say, u)
  return wx.post(wrk.path, token, msg_id, function(now) return wx.text_xml(user, text, msg_id, now) end)
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    note("status " .. status, nil, body)
    return
  end
  local to, msg_type, content = wx.reply(body)
  if not to or to:sub(1, #user_prefix) ~= user_prefix then
    not_reply = not_reply + 1   -- its user cannot be told, so it stays waiting: lost for this run
    note(to and "reply to another user" or "not a reply", nil, body)
    return
  end
  local u, gen = to:sub(#user_prefix + 1):match("^(%d+)g(%d+)$")
  u, gen = tonumber(u), tonumber(gen)
  if not u or u > user_count or gen ~= (gen_of[u] or 0) then
    not_reply = not_reply + 1
    note("reply to an unknown user", nil, body)
    return
  end
  answered = answered + 1
  waiting[u] = nil
  if u == 0 then return end
  local script = scripts[script_of[u]]
  local step = script.steps[step_of[u]]
  local ok = msg_type == "text" and content ~= nil
  if ok then
    for _, want in ipairs(step.want) do
      if not content:find(fill(want, u), 1, true) then ok = false; break end
    end
  end
  if not ok then
    wrong = wrong + 1
    note("wrong answer", u, content or body)
    retired[u] = true   -- this user's place is unknown now: the next run replaces it
    return
  end
  if step_of[u] == #script.steps then
    if #script.steps > 1 then flows_done = flows_done + 1 end
    choose(u)
  else
    step_of[u] = step_of[u] + 1
  end
  push(u)
end

-- Main state: write each thread's users for the next run. A user waiting for an answer when wrk
-- stopped (its message may have been handled) or retired starts over as a new user (gen + 1).
local function save(path, t)
  local gens, scripts_, steps, wait, ret = t:get("gen_of"), t:get("script_of"), t:get("step_of"), t:get("waiting"), t:get("retired")
  local f = assert(io.open(path, "w"))
  for u = 1, user_count do
    if gens[u] then
      if wait[u] or ret[u] then
        f:write(u, " ", gens[u] + 1, " ", pick[math.random(#pick)], " 1\n")
      else
        f:write(u, " ", gens[u], " ", scripts_[u], " ", steps[u], "\n")
      end
    end
  end
  f:close()
end

function done(summary, latency, requests)
  local state = os.getenv("SOAK_STATE")
  if state and state ~= "" then
    for i, t in ipairs(threads) do save(state .. "." .. i, t) end
  end
  local sums = { non200 = 0, wrong = 0, not_reply = 0, answered = 0, sent = 0, flows_done = 0, behind = 0 }
  local ex = {}
  for _, t in ipairs(threads) do
    for k in pairs(sums) do sums[k] = sums[k] + (t:get(k) or 0) end
    for _, e in ipairs(t:get("examples") or {}) do if #ex < 5 then ex[#ex + 1] = wx.json_string(e) end end
  end
  local e = summary.errors
  io.write(string.format(
    'SOAK_WRK {"requests":%d,"duration_s":%.3f,"rps":%.1f,"sent":%d,"answered":%d,"non200":%d,"wrong":%d,"not_reply":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"flows_done":%d,"behind":%d,' ..
    '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"p999_ms":%.3f,"max_ms":%.3f,"examples":[%s]}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6), sums.sent, sums.answered,
    sums.non200, sums.wrong, sums.not_reply, e.connect, e.read, e.write, e.status, e.timeout, sums.flows_done, sums.behind,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000, table.concat(ex, ",")))
end
