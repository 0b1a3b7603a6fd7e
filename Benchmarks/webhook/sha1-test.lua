-- Checks sha1.lua in wrk's own LuaJIT: the FIPS 180 / RFC 3174 vectors, WeChat's documented-style
-- signature of the old fixed bench query, and every length 0..200 against vectors computed by an
-- independent SHA-1 (env SHA1_VECTORS: a file of "length hex" lines for the message of `length`
-- bytes (i * 7 + 3) % 256 for i = 0, 1, ...; scripts/bench-webhook --test writes it with Python's hashlib).
-- Runs at load time and exits, so no server is needed:
--   wrk -s Benchmarks/webhook/sha1-test.lua http://127.0.0.1:9/      (prints "sha1: N vectors ok")
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local sha1 = dofile(here .. "sha1.lua")

local failures, count = 0, 0
local function check(name, got, want)
  count = count + 1
  if got ~= want then
    failures = failures + 1
    io.stderr:write(string.format("sha1 FAIL %s: got %s, want %s\n", name, got, want))
  end
end

check("empty", sha1.hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709")
check("abc", sha1.hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d")
check("448 bits", sha1.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
  "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
check("896 bits", sha1.hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
  "a49b2446a02c645bf419f995b67091253a04a259")
check("million a", sha1.hex(string.rep("a", 1000000)), "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
check("quick fox", sha1.hex("The quick brown fox jumps over the lazy dog"), "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12")
check("utf-8", sha1.hex("我要退货"), "6ae7bd8371ed28edac44507d88a51d83138dbe83")  -- printf 我要退货 | sha1sum
-- The fixed query the benchmark used before (token benchtoken, timestamp 1700000000, nonce 8349281).
check("wechat", sha1.wechat_signature("benchtoken", 1700000000, "8349281"), "7a6ebd09869b2f2229baee9ff49eff6f7e0df491")

local vectors = os.getenv("SHA1_VECTORS")
if vectors and vectors ~= "" then
  local f = assert(io.open(vectors, "r"))
  for line in f:lines() do
    local n, want = line:match("^(%d+) (%x+)$")
    n = tonumber(n)
    local bytes = {}
    for i = 0, n - 1 do bytes[#bytes + 1] = string.char((i * 7 + 3) % 256) end
    check("length " .. n, sha1.hex(table.concat(bytes)), want)
  end
  f:close()
end

if failures > 0 then
  io.stderr:write(string.format("sha1: %d of %d vectors FAILED\n", failures, count))
  os.exit(1)
end
io.write(string.format("sha1: %d vectors ok\n", count))
os.exit(0)
