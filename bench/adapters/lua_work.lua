-- SPDX-License-Identifier: MIT
-- Lua workloads for the interpreter benchmarks (bench/adapters/run.py).
--
--   recycle-lua [--alloc=libc] lua_work.lua WORKLOAD SCALE
--
-- Runs one workload (SCALE 1 = the full run's size), drops its data and
-- prints: seconds=S peak_rss_kib=P rss_after_kib=A (CPU seconds of the
-- workload, os.clock; the process's peak RSS, VmHWM; RSS after the data
-- is dropped and a full collection ran, VmRSS).
-- Workloads: bt (binary-trees), tables (table churn, a tenth kept),
-- strings (string building), closures (closures and upvalues).
local function status(field)
  local f = assert(io.open("/proc/self/status"))
  local text = f:read("a")
  f:close()
  return tonumber(text:match(field .. ":%s*(%d+)"))
end

local function make_tree(d)
  if d == 0 then return {} end
  return {make_tree(d - 1), make_tree(d - 1)}
end

local function check_tree(t)
  if not t[1] then return 1 end
  return 1 + check_tree(t[1]) + check_tree(t[2])
end

local work = {}

function work.bt(scale)
  local n = 10 + math.floor(6 * scale + 0.5) -- depth 16 at full scale, 10 at the smallest
  local long_lived = make_tree(n)
  local keep, total = {}, 0
  for d = 4, n, 2 do
    local iters = 1 << (n - d + 4)
    for i = 1, iters do
      local t = make_tree(d)
      total = total + check_tree(t)
      if i % 64 == 0 then keep[#keep + 1] = t end
    end
  end
  return {long_lived, keep, total}
end

function work.tables(scale)
  local keep = {}
  for i = 1, math.floor(3000000 * scale) do
    local t = {a = i, b = {i, i + 1, i + 2}, c = "k" .. (i % 1000)}
    t[1] = {t.a}
    if i % 10 == 0 then keep[#keep + 1] = t end
  end
  return keep
end

function work.strings(scale)
  local keep = {}
  for i = 1, math.floor(600000 * scale) do
    local parts = {}
    for j = 1, i % 20 do parts[j] = tostring(j) end
    local s = table.concat(parts, "-") .. ":" .. i
    local t = ""
    for k = 1, 5 do t = t .. s:sub(k, k + 6) end
    if i % 4 == 0 then keep[#keep + 1] = {s, t, s:upper()} end
  end
  return keep
end

function work.closures(scale)
  local keep = {}
  for i = 1, math.floor(3000000 * scale) do
    local n = i
    local get = function() return n end
    local add = function(x) n = n + x; return get() end
    add(1)
    if i % 10 == 0 then keep[#keep + 1] = add end
  end
  return keep
end

local name, scale = arg[1], tonumber(arg[2])
if not work[name] or not scale then
  io.stderr:write("usage: lua_work.lua bt|tables|strings|closures SCALE\n")
  os.exit(2)
end
local start = os.clock()
local data = scale > 0 and work[name](scale) or {} -- 0: the baseline, nothing run
local seconds = os.clock() - start
local peak = status("VmHWM")
data = nil
collectgarbage()
collectgarbage()
print(string.format("seconds=%.4f peak_rss_kib=%d rss_after_kib=%d", seconds, peak, status("VmRSS")))
