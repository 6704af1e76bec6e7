-- wrk script: every request carries the next token of a file of distinct tokens
-- (TOKENS_FILE, one a line). Each thread starts at a different offset so the threads do
-- not send the same token at the same time.
local tokens = {}
local i = 0
local counter = 0

setup = function(thread)
  thread:set("offset", counter)
  counter = counter + 1
end

init = function(args)
  for line in io.lines(os.getenv("TOKENS_FILE")) do
    if #line > 0 then
      tokens[#tokens + 1] = "Bearer " .. line
    end
  end
  i = (offset or 0) * math.floor(#tokens / 2)
end

request = function()
  i = i + 1
  if i > #tokens then i = 1 end
  return wrk.format("GET", nil, { ["Authorization"] = tokens[i] })
end

dofile(os.getenv("REPORT_LUA"))
