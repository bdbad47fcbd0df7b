local d = {}
for i = 0, 999999 do
  local k = i * 31 % 4099
  d[k] = (d[k] or 0) + 1
end
local c = 0
for _ in pairs(d) do c = c + 1 end
print(c)
print(d[0])
