-- A comma-separated argument as a list ('' is the empty list): queue names
-- and job ids cannot hold a comma.
local function split(text)
  local out = {}
  for item in string.gmatch(text or '', '[^,]+') do table.insert(out, item) end
  return out
end
