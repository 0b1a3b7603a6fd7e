-- SHA-1 (FIPS 180-4) for the wrk clients, in LuaJIT with its `bit` module (32-bit operations).
-- Only for signing benchmark requests (WeChat's signature = sha1 of the sorted token, timestamp
-- and nonce); checked against the standard vectors by sha1-test.lua (`scripts/bench-webhook --test`).
--   local sha1 = dofile(".../sha1.lua"); sha1.hex("abc") --> "a9993e36..."
local bit = require("bit")
local band, bor, bxor, bnot = bit.band, bit.bor, bit.bxor, bit.bnot
local rol, lshift, rshift, tobit, tohex = bit.rol, bit.lshift, bit.rshift, bit.tobit, bit.tohex
local byte, char, rep, concat = string.byte, string.char, string.rep, table.concat

local w = {}  -- the message schedule, reused (one table per Lua state; wrk threads have their own)

-- One 64-byte block of `s` at offset `i` (1-based) into the state h[1..5].
local function block(h, s, i)
  for t = 0, 15 do
    local a, b, c, d = byte(s, i + 4 * t, i + 4 * t + 3)
    w[t] = bor(lshift(a, 24), lshift(b, 16), lshift(c, 8), d)
  end
  for t = 16, 79 do
    w[t] = rol(bxor(w[t - 3], w[t - 8], w[t - 14], w[t - 16]), 1)
  end
  local a, b, c, d, e = h[1], h[2], h[3], h[4], h[5]
  for t = 0, 79 do
    local f, k
    if t < 20 then
      f, k = bor(band(b, c), band(bnot(b), d)), 0x5A827999
    elseif t < 40 then
      f, k = bxor(b, c, d), 0x6ED9EBA1
    elseif t < 60 then
      f, k = bor(band(b, c), band(b, d), band(c, d)), -0x70E44324  -- 0x8F1BBCDC as a signed 32-bit value
    else
      f, k = bxor(b, c, d), -0x359D3E2A                            -- 0xCA62C1D6
    end
    local temp = tobit(rol(a, 5) + f + e + k + w[t])
    e, d, c, b, a = d, c, rol(b, 30), a, temp
  end
  h[1], h[2], h[3], h[4], h[5] = tobit(h[1] + a), tobit(h[2] + b), tobit(h[3] + c), tobit(h[4] + d), tobit(h[5] + e)
end

-- The message length in bits as 8 big-endian bytes (exact for messages under 2^53 bits).
local function length_bytes(n)
  local bits = n * 8
  local out = {}
  for j = 8, 1, -1 do
    out[j] = char(bits % 256)
    bits = math.floor(bits / 256)
  end
  return concat(out)
end

local M = {}

-- The 40-character lower-case hex digest of the byte string s.
function M.hex(s)
  local n = #s
  local padded = s .. "\128" .. rep("\0", (55 - n) % 64) .. length_bytes(n)
  local h = { 0x67452301, -0x10325477, -0x67452302, 0x10325476, -0x3C2D1E10 }  -- EFCDAB89, 98BADCFE, C3D2E1F0
  for i = 1, #padded, 64 do block(h, padded, i) end
  return tohex(h[1], 8) .. tohex(h[2], 8) .. tohex(h[3], 8) .. tohex(h[4], 8) .. tohex(h[5], 8)
end

-- WeChat's request signature: sha1 of token, timestamp and nonce sorted as strings and joined.
function M.wechat_signature(token, timestamp, nonce)
  local parts = { token, tostring(timestamp), tostring(nonce) }
  table.sort(parts)
  return M.hex(concat(parts))
end

return M
