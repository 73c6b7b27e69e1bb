-- SPDX-License-Identifier: MIT
-- Tables: array and hash parts growing and shrinking, nested tables,
-- removal, sorting, and a table rebuilt many times (churn).
local t = {}
for i = 1, 100000 do t[i] = i * 2 end
local sum = 0
for i = 1, #t do sum = sum + t[i] end
print("array", #t, sum)

local h = {}
for i = 1, 50000 do h["k" .. i] = i end
local n, s = 0, 0
for k, v in pairs(h) do n = n + 1; s = s + v end
print("hash", n, s)
for i = 1, 50000, 2 do h["k" .. i] = nil end
n = 0
for _ in pairs(h) do n = n + 1 end
print("after removal", n)

local nested = {}
for i = 1, 2000 do nested[i] = {id = i, tags = {i, i + 1, i + 2}, name = "n" .. i} end
local acc = 0
for _, r in ipairs(nested) do acc = acc + r.tags[3] - r.id end
print("nested", acc, nested[1234].name)

local words = {}
for i = 1, 5000 do words[i] = string.format("%05d", (i * 7919) % 5003) end
table.sort(words)
print("sorted", words[1], words[2500], words[5000])
table.remove(words, 1)
table.insert(words, 1, "first")
print("insert/remove", #words, words[1], table.concat(words, ",", 2, 4))

local total = 0
for round = 1, 200 do
  local tmp = {}
  for i = 1, 500 do tmp[i] = {round, i} end
  total = total + #tmp + tmp[500][2]
end
print("churn", total)
