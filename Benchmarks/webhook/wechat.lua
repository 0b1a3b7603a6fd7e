-- Shared by the wrk clients (wechat-post.lua, soak.lua): WeChat-side signing, message XML, reply
-- parsing, a millisecond clock and random tags. Every request is signed with the current time and a
-- nonce of its own, as WeChat does: the server may refuse timestamps far from its clock, and a signed
-- query it has seen before with a different message is a forgery to it.
--   local wx = dofile(dir .. "wechat.lua")
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local sha1 = dofile(here .. "sha1.lua")
local ffi = require("ffi")

pcall(ffi.cdef, [[
  typedef struct { long tv_sec; long tv_nsec; } kefu_bench_timespec;
  int clock_gettime(int clock, kefu_bench_timespec *ts);
]])
local ts_buf = ffi.new("kefu_bench_timespec")
local CLOCK_MONOTONIC = 1

local W = { dir = here, sha1 = sha1 }

-- Milliseconds on the monotonic clock (for pacing).
function W.now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts_buf)
  return tonumber(ts_buf.tv_sec) * 1000 + tonumber(ts_buf.tv_nsec) / 1e6
end

-- A random decimal string of n digits, the first not 0, from /dev/urandom.
function W.random_digits(n)
  local f = assert(io.open("/dev/urandom", "rb"))
  local bytes = f:read(n)
  f:close()
  local out = {}
  for i = 1, n do
    local d = bytes:byte(i) % 10
    if i == 1 and d == 0 then d = 1 + bytes:byte(i) % 9 end
    out[i] = tostring(d)
  end
  return table.concat(out)
end

-- The request path with a fresh signature: base .. "?signature=…&timestamp=NOW&nonce=…".
-- Returns the path and the timestamp used (also the message's CreateTime).
function W.signed_path(base, token, nonce)
  local timestamp = os.time()
  local signature = sha1.wechat_signature(token, timestamp, nonce)
  return base .. "?signature=" .. signature .. "&timestamp=" .. timestamp .. "&nonce=" .. nonce, timestamp
end

local function head(from, create_time, msg_type)
  return "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[" .. from ..
    "]]></FromUserName><CreateTime>" .. create_time .. "</CreateTime><MsgType><![CDATA[" .. msg_type .. "]]></MsgType>"
end

function W.text_xml(from, content, msg_id, create_time)
  return head(from, create_time, "text") .. "<Content><![CDATA[" .. content .. "]]></Content><MsgId>" .. msg_id .. "</MsgId></xml>"
end

function W.image_xml(from, media_id, msg_id, create_time)
  return head(from, create_time, "image") .. "<PicUrl><![CDATA[https://mmbiz.example.com/" .. media_id ..
    ".jpg]]></PicUrl><MediaId><![CDATA[" .. media_id .. "]]></MediaId><MsgId>" .. msg_id .. "</MsgId></xml>"
end

local headers = { ["Content-Type"] = "text/xml; charset=utf-8" }

-- A signed POST of body (built by make_body(create_time)) to base with a fresh nonce.
function W.post(base, token, nonce, make_body)
  local path, timestamp = W.signed_path(base, token, nonce)
  return wrk.format("POST", path, headers, make_body(timestamp))
end

-- The fields of a passive reply: ToUserName, MsgType, Content (nil when absent). A body that is not
-- an XML reply (`success`, an error line) gives nil for all three.
function W.reply(body)
  if not body or not body:find("^%s*<xml>") then return nil, nil, nil end
  local to = body:match("<ToUserName><!%[CDATA%[(.-)%]%]></ToUserName>")
  local msg_type = body:match("<MsgType><!%[CDATA%[(.-)%]%]></MsgType>")
  local content = body:match("<Content><!%[CDATA%[(.-)%]%]></Content>")
  return to, msg_type, content
end

-- A short printable excerpt of a body for a diagnostic line.
function W.excerpt(body)
  body = (body or ""):gsub("[\r\n]+", " ")
  if #body > 160 then
    local cut = 160
    while cut > 1 and (body:byte(cut + 1) or 0) >= 0x80 and body:byte(cut + 1) < 0xC0 do cut = cut - 1 end
    body = body:sub(1, cut) .. "…"
  end
  return body
end

-- s as a JSON string literal.
function W.json_string(s)
  return '"' .. tostring(s):gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

return W
