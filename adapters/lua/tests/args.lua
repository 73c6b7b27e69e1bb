-- SPDX-License-Identifier: MIT
-- The arg table and ... as `lua` gives them; exits with os.exit's status.
print("arg[0]", arg[0]:match("[^/]*$"))
print("#arg", #arg, arg[1], arg[2], arg[3])
print("...", select("#", ...), ...)
print("negative", arg[-1] ~= nil)
os.exit(tonumber(arg[1]) or 0)
