-- SPDX-License-Identifier: MIT
-- Strings: interning of short strings, long strings, concatenation in a
-- loop and with table.concat, string.rep, gsub, format, byte and char.
local parts = {}
for i = 1, 20000 do parts[#parts + 1] = tostring(i) end
local s = table.concat(parts)
print("concat", #s, s:sub(1, 20), s:sub(-10))

local acc = ""
for i = 1, 2000 do acc = acc .. string.char(65 + i % 26) end
print("loop concat", #acc, acc:sub(1, 30))

local long = string.rep("abc", 100000, "-")
print("rep", #long, select(2, long:gsub("-", "")))

local replaced = ("hello world from lua"):gsub("(%w+)", "<%1>")
print("gsub", replaced)
print("format", string.format("%5.2f|%-6s|%x|%q", math.pi, "ab", 255, "a\nb"))
print("upper/lower", ("MiXeD"):upper(), ("MiXeD"):lower(), ("abc"):reverse())
local bytes = {("recycle"):byte(1, -1)}
print("bytes", table.concat(bytes, " "), string.char(table.unpack(bytes)))

local seen = {}
for i = 1, 10000 do seen["key" .. (i % 100)] = (seen["key" .. (i % 100)] or 0) + 1 end
local keys = {}
for k in pairs(seen) do keys[#keys + 1] = k end
table.sort(keys)
print("interned keys", #keys, keys[1], seen[keys[1]])
local found = {}
for w in ("the quick brown fox jumps over the lazy dog"):gmatch("%a+") do found[#found + 1] = #w end
print("gmatch", table.concat(found, ","))
