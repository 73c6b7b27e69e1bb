-- SPDX-License-Identifier: MIT
-- Closures: upvalues shared between closures, counters, closures made in
-- loops (a fresh upvalue per iteration), and deep recursion.
local function counter()
  local n = 0
  return function() n = n + 1; return n end, function() return n end
end
local inc, get = counter()
for _ = 1, 1000 do inc() end
print("counter", get())

local fs = {}
for i = 1, 10000 do fs[i] = function(x) return x + i end end
local s = 0
for i = 1, #fs do s = s + fs[i](1) end
print("loop closures", s)

local function compose(f, g) return function(x) return f(g(x)) end end
local f = function(x) return x end
for i = 1, 100 do f = compose(f, function(x) return x + i end) end
print("composed", f(0))

local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
print("fib", fib(24))

local function deep(n) if n == 0 then return 0 end return 1 + deep(n - 1) end
print("deep", deep(10000))

local made = 0
for _ = 1, 100 do
  local t = {}
  for i = 1, 1000 do t[i] = function() return i end end
  made = made + t[1000]()
end
print("churn", made)
