-- SPDX-License-Identifier: MIT
-- Run with a memory limit (recycle-lua --limit=16M): growing a table past
-- it raises Lua's own "not enough memory" error, which pcall catches; the
-- state goes on working once the data is dropped; then an uncaught one
-- ends the script with status 1.
local function grow()
  local t = {}
  for i = 1, 1e9 do t[i] = {i, tostring(i)} end
end
local ok, err = pcall(grow)
print("caught", ok, err)
collectgarbage()
local t = {}
for i = 1, 1000 do t[i] = i end
print("still works", #t)
local s = pcall(string.rep, "x", 64 * 1024 * 1024)
print("big string refused", not s)
io.stdout:flush()
grow()
print("not reached")
