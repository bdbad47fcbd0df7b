local n = 2000000
local a = {}
local c = 0
for i = 2, n - 1 do
  if not a[i] then
    c = c + 1
    for j = i * i, n - 1, i do a[j] = true end
  end
end
print(c)
