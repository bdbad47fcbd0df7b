local s = 0
for i = 0, 29999999 do s = s + i end
print(s)
