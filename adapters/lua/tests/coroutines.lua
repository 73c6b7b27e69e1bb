-- SPDX-License-Identifier: MIT
-- Coroutines: generators, passing values both ways, many live coroutines,
-- wrap, errors inside a coroutine, and coroutine.close.
local function gen(n)
  return coroutine.wrap(function()
    for i = 1, n do coroutine.yield(i) end
  end)
end
local s = 0
for v in gen(10000) do s = s + v end
print("generator", s)

local co = coroutine.create(function(a, b)
  local c = coroutine.yield(a + b)
  local d, e = coroutine.yield(c * 2)
  return d + e
end)
print("resume", coroutine.resume(co, 1, 2))
print("resume", coroutine.resume(co, 10))
print("resume", coroutine.resume(co, 3, 4))
print("status", coroutine.status(co), coroutine.resume(co))

local many = {}
for i = 1, 2000 do
  many[i] = coroutine.create(function(x) while true do x = x + coroutine.yield(x) end end)
  coroutine.resume(many[i], i)
end
local total = 0
for round = 1, 5 do
  for i = 1, #many do local _, v = coroutine.resume(many[i], round); total = total + v end
end
print("many", total)

local bad = coroutine.create(function() error("inside") end)
local ok, msg = coroutine.resume(bad)
print("error", ok, (msg:gsub("^.-:%d+: ", "")))
local pending = coroutine.create(function() coroutine.yield(1) end)
coroutine.resume(pending)
print("close", coroutine.close(pending), coroutine.status(pending))
