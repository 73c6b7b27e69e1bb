-- SPDX-License-Identifier: MIT
-- Weak tables and collectgarbage: weak values and keys cleared by a full
-- collection, ephemerons, __gc finalizers, and the collector's counters
-- and modes.
local weakv = setmetatable({}, {__mode = "v"})
local strong = {}
for i = 1, 1000 do
  local t = {i}
  weakv[i] = t
  if i % 10 == 0 then strong[#strong + 1] = t end
end
collectgarbage("collect")
local n = 0
for _ in pairs(weakv) do n = n + 1 end
print("weak values kept", n)

local weakk = setmetatable({}, {__mode = "k"})
local keys = {}
for i = 1, 500 do
  local k = {}
  weakk[k] = i
  if i <= 50 then keys[i] = k end
end
collectgarbage()
n = 0
for _ in pairs(weakk) do n = n + 1 end
print("weak keys kept", n)

-- an ephemeron: a value that refers to its own key does not keep it
local eph = setmetatable({}, {__mode = "k"})
do local k = {}; eph[k] = {ref = k} end
collectgarbage()
print("ephemeron cleared", next(eph) == nil)

local finalized = 0
for _ = 1, 100 do setmetatable({}, {__gc = function() finalized = finalized + 1 end}) end
collectgarbage()
collectgarbage()
print("finalizers ran", finalized)

local before = collectgarbage("count")
local big = {}
for i = 1, 200000 do big[i] = {i} end
local during = collectgarbage("count")
big = nil
collectgarbage()
local after = collectgarbage("count")
print("count grew", during > before + 1000, "count dropped", after < during / 4)
print("incremental", collectgarbage("incremental"))
print("generational", collectgarbage("generational"))
print("step", type(collectgarbage("step", 0)))
print("isrunning", collectgarbage("isrunning"))
collectgarbage("stop")
print("stopped", collectgarbage("isrunning"))
collectgarbage("restart")
print("restarted", collectgarbage("isrunning"))
